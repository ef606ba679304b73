// Criterion 5: topics task-events and reminders exist; partitions and replication reported.
// The broker is reached over a port-forward to its documented EXTERNAL listener (the kafka
// chart advertises 127.0.0.1:<external port> for exactly this), in-cluster via the Service,
// or at brokers given explicitly.
import type * as k8s from '@kubernetes/client-node';
import { CheckFailure, type Check, type CheckContext, type Recorder } from '../lib/check.js';
import { podName, podsOfService } from '../lib/cluster.js';
import { describeTopics } from '../lib/kafka.js';
import { isPodReady } from '../lib/access.js';

export const kafkaService = 'kafka';

function externalPort(pod: k8s.V1Pod): number | undefined {
  for (const container of pod.spec?.containers ?? []) {
    const port = container.ports?.find((p) => p.name === 'external');
    if (port) return port.containerPort;
  }
  return undefined;
}

async function brokers(ctx: CheckContext, rec: Recorder): Promise<string[]> {
  if (ctx.config.kafkaBrokers?.length) return ctx.config.kafkaBrokers;
  if (ctx.access.mode === 'in-cluster') return [`${kafkaService}.${ctx.config.namespace}.svc.cluster.local:9092`];
  if (ctx.access.mode === 'url') throw new CheckFailure('no Kafka brokers given (--kafka-brokers) in url access mode', 'brokers', 'none');
  const pods = (await podsOfService(ctx, kafkaService)).filter(isPodReady);
  const pod = pods[0];
  if (!pod) throw new CheckFailure(`no ready broker pod behind Service ${kafkaService}`, 'a ready broker', 'none');
  rec.involve(podName(pod));
  const port = externalPort(pod);
  if (port === undefined) {
    throw new CheckFailure(`broker pod ${podName(pod)} has no port named "external"; enable listeners.external in the kafka chart or pass --kafka-brokers`, 'an external listener', 'none');
  }
  // The listener advertises 127.0.0.1:<port>, so the local end must use that same port;
  // an ephemeral one serves only the bootstrap request.
  const forward = await ctx.access.forwardPod(podName(pod), port, port).catch(() => ctx.access.forwardPod(podName(pod), port));
  rec.note(`broker via port-forward 127.0.0.1:${forward.port} -> pod/${podName(pod)}:${port}`);
  return [`127.0.0.1:${forward.port}`];
}

const topics: Check = {
  id: 'kafka-topics',
  title: 'Topics task-events and reminders exist',
  group: 'kafka',
  criterion: '5. Topics task-events and reminders exist',
  async run(ctx, rec) {
    const list = await brokers(ctx, rec);
    let described;
    try {
      described = await describeTopics(list, ctx.config.limits.httpTimeoutMs);
    } catch (error) {
      throw new CheckFailure(`cannot reach the Kafka broker at ${list.join(',')}: ${(error as Error).message}`, 'a broker answering metadata', 'no answer');
    }
    rec.measure('brokers', described.brokers, 'brokers');
    const missing: string[] = [];
    for (const name of ctx.config.topics) {
      const topic = described.topics.find((t) => t.name === name);
      if (!topic) {
        missing.push(name);
        continue;
      }
      rec.measure(`${name} partitions`, topic.partitions, 'partitions');
      rec.measure(`${name} replication factor`, topic.replicationFactor, 'replicas');
      rec.note(`${name}: ${topic.partitions} partitions, replication ${topic.replicationFactor}, ${topic.offlinePartitions} offline`);
      if (topic.offlinePartitions > 0) missing.push(`${name} (${topic.offlinePartitions} partitions without leader)`);
    }
    const present = described.topics.map((t) => t.name).filter((n) => !n.startsWith('__'));
    if (missing.length > 0) {
      throw new CheckFailure(`topic(s) missing or unavailable: ${missing.join(', ')}`, `topics ${ctx.config.topics.join(', ')}`, `topics ${present.join(', ') || 'none'}`);
    }
    rec.summary = ctx.config.topics.map((name) => {
      const topic = described.topics.find((t) => t.name === name);
      return `${name} ${topic?.partitions}p x${topic?.replicationFactor}`;
    }).join(', ');
  },
};

export const kafkaChecks: Check[] = [topics];
