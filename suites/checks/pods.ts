// Criterion 1: every pod of the release Running and Ready, replicas as desired, restarts
// under a limit. Hopeless states fail at once with pod, container and reason, instead of
// after the readiness timeout.
import type * as k8s from '@kubernetes/client-node';
import { isPodReady } from '../lib/access.js';
import { CheckFailure, type Check, type CheckContext, type Recorder } from '../lib/check.js';
import { Hopeless, waitUntil, WaitTimeout } from '../lib/wait.js';

/** Waiting reasons no amount of waiting fixes without a change to the deployment. */
export const hopelessWaitingReasons = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

export type PodState =
  | { state: 'ready'; pod: string }
  | { state: 'succeeded'; pod: string }
  | { state: 'progressing'; pod: string; detail: string }
  | { state: 'hopeless'; pod: string; container?: string; reason: string; detail: string };

function describeWaiting(status: k8s.V1ContainerStatus): string {
  const waiting = status.state?.waiting;
  return `${waiting?.reason ?? 'Waiting'}${waiting?.message ? `: ${waiting.message}` : ''}`;
}

/** How the container's previous run ended, e.g. " (last exit 137 OOMKilled)": the cause of a crash loop. */
function lastExit(status: k8s.V1ContainerStatus): string {
  const last = status.lastState?.terminated;
  if (!last) return '';
  return ` (last exit ${last.exitCode}${last.reason ? ` ${last.reason}` : ''}${last.message ? `: ${last.message.trim().split('\n').slice(-1)[0]}` : ''})`;
}

/** Classify one pod; `maxRestarts` makes a restart count above it hopeless too. */
export function classifyPod(pod: k8s.V1Pod, maxRestarts = Number.POSITIVE_INFINITY): PodState {
  const name = pod.metadata?.name ?? '?';
  const status = pod.status ?? {};
  const scheduled = (status.conditions ?? []).find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { state: 'hopeless', pod: name, reason: 'Unschedulable', detail: `pod ${name} is unschedulable: ${scheduled.message ?? 'no node fits'}` };
  }
  for (const init of status.initContainerStatuses ?? []) {
    const terminated = init.state?.terminated;
    if (terminated && terminated.exitCode !== 0) {
      return {
        state: 'hopeless',
        pod: name,
        container: init.name,
        reason: terminated.reason ?? 'Error',
        detail: `pod ${name} init container ${init.name} failed: exit ${terminated.exitCode} (${terminated.reason ?? 'Error'})${terminated.message ? `: ${terminated.message}` : ''}`,
      };
    }
    const reason = init.state?.waiting?.reason;
    if (reason && hopelessWaitingReasons.has(reason)) {
      const last = init.lastState?.terminated;
      return {
        state: 'hopeless',
        pod: name,
        container: init.name,
        reason,
        detail: `pod ${name} init container ${init.name} failed: ${describeWaiting(init)}${last ? ` (last exit ${last.exitCode})` : ''}`,
      };
    }
  }
  for (const container of status.containerStatuses ?? []) {
    const reason = container.state?.waiting?.reason;
    if (reason && hopelessWaitingReasons.has(reason)) {
      const waitingText = describeWaiting(container);
      const image = container.image && !waitingText.includes(container.image) ? ` (image ${container.image})` : '';
      return { state: 'hopeless', pod: name, container: container.name, reason, detail: `pod ${name} container ${container.name}: ${waitingText}${image}${lastExit(container)}` };
    }
    if (container.restartCount > maxRestarts) {
      return {
        state: 'hopeless',
        pod: name,
        container: container.name,
        reason: 'TooManyRestarts',
        detail: `pod ${name} container ${container.name} restarted ${container.restartCount} times (limit ${maxRestarts})${lastExit(container)}`,
      };
    }
  }
  if (status.phase === 'Failed') {
    return { state: 'hopeless', pod: name, reason: status.reason ?? 'Failed', detail: `pod ${name} failed: ${status.reason ?? ''} ${status.message ?? ''}`.trim() };
  }
  if (status.phase === 'Succeeded') return { state: 'succeeded', pod: name };
  if (isPodReady(pod)) return { state: 'ready', pod: name };
  const notReady = (status.containerStatuses ?? []).filter((c) => !c.ready).map((c) => `${c.name}${c.state?.waiting ? ` ${describeWaiting(c)}` : c.state?.running ? ' running, not ready' : ''}`);
  return { state: 'progressing', pod: name, detail: `pod ${name} ${status.phase ?? 'Pending'}${notReady.length ? ` (${notReady.join('; ')})` : ''}` };
}

/** Pods whose readiness is not part of "the release runs": hook pods and Job pods. */
export function isWorkloadPod(pod: k8s.V1Pod): boolean {
  if (pod.metadata?.annotations?.['helm.sh/hook']) return false;
  return !(pod.metadata?.ownerReferences ?? []).some((owner) => owner.kind === 'Job');
}

async function workloadPods(ctx: CheckContext): Promise<k8s.V1Pod[]> {
  return (await ctx.shared.releasePods()).filter(isWorkloadPod);
}

/** Wait until every workload pod is Ready; fail at once on a hopeless pod. */
export async function waitForReadyPods(ctx: CheckContext, rec: Recorder, maxRestarts: number): Promise<k8s.V1Pod[]> {
  const { limits } = ctx.config;
  const started = Date.now();
  try {
    return await waitUntil(
      `every pod of release ${ctx.config.release} Running and Ready`,
      async () => {
        const pods = await workloadPods(ctx);
        if (pods.length === 0) return { done: false, seen: `no pods labelled app.kubernetes.io/instance=${ctx.config.release}` };
        const states = pods.map((pod) => classifyPod(pod, maxRestarts));
        rec.involve(...states.map((s) => s.pod));
        const hopeless = states.find((s) => s.state === 'hopeless');
        if (hopeless && hopeless.state === 'hopeless') throw new Hopeless(hopeless.detail);
        const waiting = states.filter((s) => s.state === 'progressing');
        if (waiting.length === 0) return { done: true, value: pods };
        return { done: false, seen: waiting.map((s) => (s.state === 'progressing' ? s.detail : s.pod)).join('; ') };
      },
      { timeoutMs: limits.podReadySeconds * 1000, intervalMs: 1000, signal: ctx.signal },
    );
  } catch (error) {
    if (error instanceof Hopeless) {
      rec.measure('seconds to verdict', (Date.now() - started) / 1000, 's', limits.failFastSeconds);
      throw new CheckFailure(error.message, 'every pod Running and Ready', error.message);
    }
    if (error instanceof WaitTimeout) throw new CheckFailure(error.message, 'every pod Running and Ready', error.lastSeen);
    throw error;
  }
}

const podsReady: Check = {
  id: 'pods-ready',
  title: 'Every pod of the release is Running and Ready',
  group: 'pods',
  criterion: '1. All pods Running and Ready',
  async run(ctx, rec) {
    const pods = await waitForReadyPods(ctx, rec, Number.POSITIVE_INFINITY);
    rec.measure('pods ready', pods.length, 'pods');
    for (const pod of pods) rec.note(`${pod.metadata?.name}: Ready (${(pod.spec?.containers ?? []).map((c) => c.name).join(', ')})`);
    rec.summary = `${pods.length} pods Running and Ready`;
  },
};

const restarts: Check = {
  id: 'pod-restarts',
  title: 'Container restarts stay under the limit',
  group: 'pods',
  criterion: '1. All pods Running and Ready',
  async run(ctx, rec) {
    const limit = ctx.config.limits.maxRestarts;
    const pods = await workloadPods(ctx);
    let worst = 0;
    const over: string[] = [];
    for (const pod of pods) {
      for (const status of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
        worst = Math.max(worst, status.restartCount);
        if (status.restartCount > limit) {
          rec.involve(pod.metadata?.name);
          const last = status.lastState?.terminated;
          over.push(`pod ${pod.metadata?.name} container ${status.name}: ${status.restartCount} restart${status.restartCount === 1 ? '' : 's'}${last ? ` (last exit ${last.exitCode} ${last.reason ?? ''})` : ''}`);
        }
      }
    }
    rec.measure('most restarts of one container', worst, 'restarts', limit);
    if (over.length > 0) throw new CheckFailure(over.join('; '), `at most ${limit} restarts per container`, over.join('; '));
    rec.summary = `most restarts of one container: ${worst} (limit ${limit})`;
  },
};

const replicas: Check = {
  id: 'replicas-desired',
  title: 'Deployments and StatefulSets have their desired replicas ready; Jobs did not fail',
  group: 'pods',
  criterion: '1. All pods Running and Ready',
  after: ['pods-ready'],
  async run(ctx, rec) {
    const namespace = ctx.config.namespace;
    const labelSelector = `app.kubernetes.io/instance=${ctx.config.release}`;
    const problems: string[] = [];
    const seen = await waitUntil(
      'desired replicas ready',
      async () => {
        const [deployments, statefulSets, jobs] = await Promise.all([
          ctx.kube.apps.listNamespacedDeployment({ namespace, labelSelector }),
          ctx.kube.apps.listNamespacedStatefulSet({ namespace, labelSelector }),
          ctx.kube.batch.listNamespacedJob({ namespace, labelSelector }),
        ]);
        problems.length = 0;
        const lines: string[] = [];
        const workloads = [
          ...deployments.items.map((item) => ({ kind: 'deployment', item })),
          ...statefulSets.items.map((item) => ({ kind: 'statefulset', item })),
        ];
        for (const { kind, item } of workloads) {
          const desired = item.spec?.replicas ?? 1;
          const ready = item.status?.readyReplicas ?? 0;
          const updated = item.status?.updatedReplicas ?? 0;
          const line = `${kind}/${item.metadata?.name}: ${ready}/${desired} ready, ${updated} updated`;
          lines.push(line);
          if (desired === 0) problems.push(`${kind}/${item.metadata?.name} is scaled to 0`);
          else if (ready < desired || updated < desired) problems.push(line);
        }
        for (const job of jobs.items) {
          const failed = (job.status?.conditions ?? []).find((c) => c.type === 'Failed' && c.status === 'True');
          if (failed) problems.push(`job/${job.metadata?.name} failed: ${failed.reason ?? ''} ${failed.message ?? ''}`.trim());
        }
        if (lines.length === 0) return { done: false, seen: `no Deployments or StatefulSets labelled ${labelSelector}` };
        if (problems.some((p) => p.includes('scaled to 0') || p.startsWith('job/'))) return { done: true, value: lines };
        // Waiting for replicas whose pods cannot start only delays the verdict pods-ready already gave.
        if (problems.length > 0) {
          const pods = await workloadPods(ctx);
          const stuck = pods.map((pod) => classifyPod(pod)).filter((state) => state.state === 'hopeless');
          if (stuck.length > 0) return { done: true, value: lines };
        }
        return problems.length === 0 ? { done: true, value: lines } : { done: false, seen: problems.join('; ') };
      },
      { timeoutMs: ctx.config.limits.failFastSeconds * 1000, intervalMs: 1000, signal: ctx.signal },
    ).catch((error: unknown) => {
      if (error instanceof WaitTimeout) throw new CheckFailure(error.lastSeen, 'every workload at its desired replicas', error.lastSeen);
      throw error;
    });
    for (const line of seen) rec.note(line);
    if (problems.length > 0) throw new CheckFailure(problems.join('; '), 'every workload at its desired replicas, no failed Job', problems.join('; '));
    rec.summary = `${seen.length} workloads at their desired replicas`;
  },
};

export const podChecks: Check[] = [podsReady, restarts, replicas];
