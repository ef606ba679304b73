// The suite's only contact with a Kafka client. kafkajs has been looking for maintainers
// since 2023; keeping it behind this module lets a KafkaJS-compatible client replace it.
import { Socket, connect, isIP } from 'node:net';
import { Kafka, logLevel, type ISocketFactory } from 'kafkajs';

/**
 * How to reach the brokers: the bootstrap addresses and, where the brokers are reached
 * through port-forwards, the local port standing in for each broker pod. A broker advertises
 * its in-cluster name (`<pod>.<headless service>...`); its connections go to the forward of
 * that pod, and a broker without one is reported unreachable instead of being looked up.
 */
export interface BrokerRoute {
  bootstrap: string[];
  forwardedPods?: Map<string, number>;
}

export interface TopicInfo {
  name: string;
  partitions: number;
  /** Replicas of the first partition (all partitions of a topic share the factor in practice). */
  replicationFactor: number;
  /** Partitions whose leader is missing. */
  offlinePartitions: number;
}

export function routedSockets(forwardedPods: Map<string, number>): ISocketFactory {
  return ({ host, port, onConnect }) => {
    const local = forwardedPods.get(host.split('.')[0] ?? '');
    if (local !== undefined) return connect({ host: '127.0.0.1', port: local }, onConnect);
    if (isIP(host)) return connect({ host, port }, onConnect);
    const socket = new Socket();
    process.nextTick(() => socket.destroy(new Error(`broker ${host}:${port} has no port-forward (is its pod ready?)`)));
    return socket;
  };
}

export async function describeTopics(route: BrokerRoute, timeoutMs: number): Promise<{ topics: TopicInfo[]; brokers: number }> {
  const kafka = new Kafka({
    clientId: 'todo-validation-suite',
    brokers: route.bootstrap,
    ...(route.forwardedPods ? { socketFactory: routedSockets(route.forwardedPods) } : {}),
    connectionTimeout: Math.min(timeoutMs, 5000),
    requestTimeout: timeoutMs,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const names = await admin.listTopics();
    const metadata = names.length > 0 ? await admin.fetchTopicMetadata({ topics: names }) : { topics: [] };
    const cluster = await admin.describeCluster();
    return {
      brokers: cluster.brokers.length,
      topics: metadata.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.length,
        replicationFactor: topic.partitions[0]?.replicas.length ?? 0,
        offlinePartitions: topic.partitions.filter((p) => p.leader < 0).length,
      })),
    };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function withAdmin<T>(brokers: string[], work: (admin: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> {
  const admin = new Kafka({ clientId: 'todo-validation-suite-tests', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** For the suite's own fault-injection tests only: the suite itself never changes topics. */
export async function deleteTopic(brokers: string[], topic: string): Promise<void> {
  await withAdmin(brokers, (admin) => admin.deleteTopics({ topics: [topic] }));
}

/** For the suite's own fault-injection tests only. */
export async function createTopic(brokers: string[], topic: string, partitions = 3): Promise<void> {
  await withAdmin(brokers, (admin) => admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true }));
}
