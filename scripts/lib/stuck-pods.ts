/**
 * The deploy's fail-fast: while `helm upgrade --wait` runs, names the release's pods that
 * cannot start, with the suite's own pod classifier (suites/checks/pods.ts): an image that
 * cannot be pulled, a crash loop, a failed init container, a container OOM-killed, a Secret
 * key missing, a pod no node can take. A pod counts once it has stayed so for a while
 * (a registry that hiccups once, a crash while Kafka starts, a node the autoscaler is adding
 * recover within it); only Ready or gone resets its clock, not the moments a crash-looping
 * container runs between crashes.
 *
 * Usage: tsx scripts/lib/stuck-pods.ts [--after SECONDS] [--unschedulable-after SECONDS]
 *          [--interval SECONDS] -- COMMAND...
 *   COMMAND prints the pods as JSON (kubectl get pods -l ... -o json); it runs every
 *   interval. Once a pod is stuck, prints one line per stuck pod and exits 0; otherwise runs
 *   until it is stopped. A COMMAND that fails is tried again at the next interval.
 */
import { execFile } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import type * as k8s from '@kubernetes/client-node';
import { classifyPod, isWorkloadPod, type PodState } from '../../suites/checks/pods.js';

export interface StuckOptions {
  /** How long a pod may stay unable to start. */
  afterMs: number;
  /** How long it may stay unschedulable: a cluster autoscaler may be adding a node. */
  unschedulableAfterMs: number;
}

export const defaultStuckOptions: StuckOptions = { afterMs: 45_000, unschedulableAfterMs: 180_000 };

export interface Stuck {
  pod: string;
  reason: string;
  detail: string;
}

/** Why POD (classified as STATE) cannot start right now, or undefined while it may still get there. */
export function cannotStart(pod: k8s.V1Pod, state: PodState = classifyPod(pod)): Stuck | undefined {
  const name = pod.metadata?.name ?? '?';
  // A Job's failed pod is retried with a new one (its backoffLimit decides).
  if (!isWorkloadPod(pod) && pod.status?.phase === 'Failed') return undefined;
  if (state.state === 'hopeless') return { pod: name, reason: state.reason, detail: state.detail };
  if (state.state !== 'progressing') return undefined;
  // Killed over its memory limit and restarted at once: not yet a crash loop, still hopeless.
  for (const container of pod.status?.containerStatuses ?? []) {
    const killed = [container.state?.terminated, container.lastState?.terminated].find((end) => end?.reason === 'OOMKilled');
    if (killed && !container.ready) {
      return { pod: name, reason: 'OOMKilled', detail: `pod ${name} container ${container.name} was OOMKilled (exit ${killed.exitCode}): its memory limit is too low` };
    }
  }
  return undefined;
}

/**
 * One look at the pods: updates SINCE (pod name to when it was first seen unable to start,
 * kept while it has not been Ready since) and returns the pods stuck for long enough.
 */
export function stuckPods(since: Map<string, number>, pods: k8s.V1Pod[], now: number, options: StuckOptions = defaultStuckOptions): Stuck[] {
  const seen = new Set<string>();
  const stuck: Stuck[] = [];
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '?';
    seen.add(name);
    const state = classifyPod(pod);
    if (state.state === 'ready' || state.state === 'succeeded') {
      since.delete(name);
      continue;
    }
    const why = cannotStart(pod, state);
    if (!why) continue;
    const first = since.get(name) ?? now;
    since.set(name, first);
    const limit = why.reason === 'Unschedulable' ? options.unschedulableAfterMs : options.afterMs;
    if (now - first >= limit) stuck.push(why);
  }
  for (const name of [...since.keys()]) if (!seen.has(name)) since.delete(name);
  return stuck;
}

const seconds = (value: string | undefined, fallback: number, flag: string): number => {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0) throw new Error(`${flag} must be a number of seconds, got "${value}"`);
  return number * 1000;
};

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { after: { type: 'string' }, 'unschedulable-after': { type: 'string' }, interval: { type: 'string' } },
  });
  const [command, ...args] = positionals;
  if (!command) throw new Error('needs -- COMMAND that prints the pods as JSON');
  const options: StuckOptions = {
    afterMs: seconds(values.after, defaultStuckOptions.afterMs, '--after'),
    unschedulableAfterMs: seconds(values['unschedulable-after'], defaultStuckOptions.unschedulableAfterMs, '--unschedulable-after'),
  };
  const intervalMs = seconds(values.interval, 3_000, '--interval');
  const since = new Map<string, number>();
  for (;;) {
    let pods: k8s.V1Pod[] | undefined;
    try {
      const { stdout } = await promisify(execFile)(command, args, { maxBuffer: 64 * 1024 * 1024 });
      pods = (JSON.parse(stdout) as { items?: k8s.V1Pod[] }).items ?? [];
    } catch {
      // The API server may be busy during a rollout; look again at the next interval.
    }
    if (pods) {
      const stuck = stuckPods(since, pods, Date.now(), options);
      if (stuck.length > 0) {
        process.stdout.write(stuck.map((pod) => `${pod.detail}\n`).join(''));
        return;
      }
    }
    await new Promise((done) => setTimeout(done, intervalMs));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(2);
    },
  );
}
