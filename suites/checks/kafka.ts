// Criterion 5: topics task-events and reminders exist; partitions and replication reported.
// From outside the cluster each ready broker pod's client port is port-forwarded and the
// brokers' in-cluster names are routed to those forwards, so any number of brokers is
// reached without an extra listener; in-cluster via the Service; or at brokers given
// explicitly.
import type * as k8s from '@kubernetes/client-node';
import { CheckFailure, type Check, type CheckContext, type Recorder } from '../lib/check.js';
import { podName, podsOfService } from '../lib/cluster.js';
import { describeTopics, type BrokerRoute } from '../lib/kafka.js';
import { isPodReady } from '../lib/access.js';

export const kafkaService = 'kafka';
const defaultClientPort = 9092;

function clientPort(pod: k8s.V1Pod): number {
  for (const container of pod.spec?.containers ?? []) {
    const port = container.ports?.find((p) => p.name === 'client');
    if (port) return port.containerPort;
  }
  return defaultClientPort;
}

async function brokers(ctx: CheckContext, rec: Recorder): Promise<BrokerRoute> {
  if (ctx.config.kafkaBrokers?.length) return { bootstrap: ctx.config.kafkaBrokers };
  if (ctx.access.mode === 'in-cluster') return { bootstrap: [`${kafkaService}.${ctx.config.namespace}.svc.cluster.local:${defaultClientPort}`] };
  if (ctx.access.mode === 'url') throw new CheckFailure('no Kafka brokers given (--kafka-brokers) in url access mode', 'brokers', 'none');
  const pods = (await podsOfService(ctx, kafkaService)).filter(isPodReady);
  if (pods.length === 0) throw new CheckFailure(`no ready broker pod behind Service ${kafkaService}`, 'a ready broker', 'none');
  const forwardedPods = new Map<string, number>();
  for (const pod of pods) {
    rec.involve(podName(pod));
    const port = clientPort(pod);
    const forward = await ctx.access.forwardPod(podName(pod), port);
    forwardedPods.set(podName(pod), forward.port);
    rec.note(`broker via port-forward 127.0.0.1:${forward.port} -> pod/${podName(pod)}:${port}`);
  }
  return { bootstrap: [...forwardedPods.values()].map((port) => `127.0.0.1:${port}`), forwardedPods };
}

const topics: Check = {
  id: 'kafka-topics',
  title: 'Topics task-events and reminders exist',
  group: 'kafka',
  criterion: '5. Topics task-events and reminders exist',
  async run(ctx, rec) {
    const route = await brokers(ctx, rec);
    let described;
    try {
      described = await describeTopics(route, ctx.config.limits.httpTimeoutMs);
    } catch (error) {
      const where = route.forwardedPods ? [...route.forwardedPods.keys()].map((pod) => `pod/${pod}`) : route.bootstrap;
      throw new CheckFailure(`cannot reach the Kafka broker at ${where.join(',')}: ${(error as Error).message}`, 'a broker answering metadata', 'no answer');
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
