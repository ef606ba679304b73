// The suite's only contact with a Kafka client. kafkajs has been looking for maintainers
// since 2023; keeping it behind this module lets a KafkaJS-compatible client replace it.
import { Kafka, logLevel } from 'kafkajs';

export interface TopicInfo {
  name: string;
  partitions: number;
  /** Replicas of the first partition (all partitions of a topic share the factor in practice). */
  replicationFactor: number;
  /** Partitions whose leader is missing. */
  offlinePartitions: number;
}

export async function describeTopics(brokers: string[], timeoutMs: number): Promise<{ topics: TopicInfo[]; brokers: number }> {
  const kafka = new Kafka({
    clientId: 'todo-validation-suite',
    brokers,
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
