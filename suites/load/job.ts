// The load from inside the cluster: a Job with several pods of the suite's image, each
// running the generator (`suites/load/cli.ts --worker`) and printing one result line; the
// driver waits for the Job (bounded), reads every pod's log and merges the results.
import { randomBytes } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import type { AuthRoutes, SuiteConfig } from '../lib/config.js';
import type { Kube } from '../lib/kube.js';
import { waitUntil } from '../lib/wait.js';
import type { LoadSamples } from './load.js';

export const resultMarker = 'TODO_LOAD_RESULT ';

export interface JobOptions {
  kube: Kube;
  config: SuiteConfig;
  pods: number;
  image: string;
  base: string;
  argv: string[];
  durationSeconds: number;
  log: (line: string) => void;
}

export function loadJob(name: string, options: Pick<JobOptions, 'pods' | 'image' | 'argv' | 'durationSeconds'> & { authRoutes: AuthRoutes }): k8s.V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels: { 'app.kubernetes.io/name': 'todo-load', 'app.kubernetes.io/part-of': 'todo-suite' } },
    spec: {
      parallelism: options.pods,
      completions: options.pods,
      completionMode: 'Indexed',
      backoffLimit: 0,
      activeDeadlineSeconds: Math.ceil(options.durationSeconds + 180),
      ttlSecondsAfterFinished: 600,
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': 'todo-load', 'todo-load/job': name } },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'load',
              image: options.image,
              command: ['node', '--import', 'tsx', 'suites/load/cli.ts', ...options.argv],
              // Its users sign up through the frontend: the pod holds no secret.
              env: [{ name: 'TODO_LOAD_AUTH_ROUTES', value: JSON.stringify(options.authRoutes) }],
              resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
            },
          ],
        },
      },
    },
  };
}

export function parseResultLines(log: string): LoadSamples[] {
  return log
    .split('\n')
    .filter((line) => line.startsWith(resultMarker))
    .map((line) => JSON.parse(line.slice(resultMarker.length)) as LoadSamples);
}

export async function runLoadJob(options: JobOptions): Promise<LoadSamples[]> {
  const { kube, config, log } = options;
  const namespace = config.namespace;
  const name = `todo-load-${randomBytes(3).toString('hex')}`;
  await kube.batch.createNamespacedJob({ namespace, body: loadJob(name, { ...options, authRoutes: config.authRoutes }) });
  log(`Job ${name}: ${options.pods} pods`);
  try {
    await waitUntil(
      `Job ${name} to finish`,
      async () => {
        const job = await kube.batch.readNamespacedJob({ name, namespace });
        const s = job.status ?? {};
        if ((s.succeeded ?? 0) + (s.failed ?? 0) >= options.pods || (s.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')) return { done: true, value: true };
        return { done: false, seen: `active ${s.active ?? 0}, succeeded ${s.succeeded ?? 0}, failed ${s.failed ?? 0}` };
      },
      { timeoutMs: (options.durationSeconds + 180) * 1000, intervalMs: 2000 },
    );
    const pods = await kube.core.listNamespacedPod({ namespace, labelSelector: `todo-load/job=${name}` });
    const all: LoadSamples[] = [];
    for (const pod of pods.items) {
      const text = await kube.core.readNamespacedPodLog({ name: pod.metadata?.name ?? '', namespace, container: 'load' });
      const found = parseResultLines(text);
      if (found.length === 0) log(`pod ${pod.metadata?.name} printed no result (phase ${pod.status?.phase})`);
      all.push(...found);
    }
    if (all.length === 0) throw new Error(`no Job pod of ${name} printed a result`);
    return all;
  } finally {
    await kube.batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' }).catch(() => undefined);
  }
}
