// What a load run did to each container beyond the CPU and memory that metrics.k8s.io shows:
// CPU throttling (the CFS periods in which the container hit its CPU limit), OOM kills,
// restarts and peak memory against the limit. The counters come from the kubelet's cAdvisor
// metrics, read through the API server's node proxy as Prometheus scrapes them, once before
// and once after the run; restarts and the reason of the last exit come from the pods.
import type * as k8s from '@kubernetes/client-node';
import { oneLine } from '../lib/errors.js';
import { bytes } from '../lib/quantity.js';
import type { Kube } from '../lib/kube.js';
import type { Verdict } from '../drills/stats.js';

/** One container's cumulative counters at one moment. */
export interface ContainerCounters {
  pod: string;
  container: string;
  /** CFS periods the container ran in, and those in which it was throttled (only with a CPU limit). */
  periods?: number;
  throttledPeriods?: number;
  throttledSeconds?: number;
  /** CPU time the container used, in seconds. */
  cpuSeconds?: number;
  oomEvents?: number;
  /** The highest memory use the kernel recorded since the container started. */
  maxMemoryBytes?: number;
  memoryLimitBytes?: number;
  restarts?: number;
  /** When the kubelet last refreshed these counters (ms since epoch), where it says. */
  sampledAtMs?: number;
  /** The reason and end of the container's last exit, when it has exited before. */
  lastExit?: { reason: string; finishedAt: string };
}

/** What one container went through during the run. */
export interface ContainerRun {
  pod: string;
  container: string;
  periods: number;
  throttledPeriods: number;
  /** Share of the run's CFS periods in which the container was throttled; undefined without a CPU limit. */
  throttledPercent: number | undefined;
  throttledSeconds: number;
  /** CPU time used during the run, in seconds; undefined where the kubelet did not report it. */
  cpuSeconds: number | undefined;
  oomKills: number;
  restarts: number;
  peakMemoryBytes: number | undefined;
  memoryLimitBytes: number | undefined;
  peakMemoryPercent: number | undefined;
}

export const containerKey = (pod: string, container: string): string => `${pod}/${container}`;

const cadvisorMetrics: Record<string, keyof ContainerCounters> = {
  container_cpu_cfs_periods_total: 'periods',
  container_cpu_cfs_throttled_periods_total: 'throttledPeriods',
  container_cpu_cfs_throttled_seconds_total: 'throttledSeconds',
  container_cpu_usage_seconds_total: 'cpuSeconds',
  container_oom_events_total: 'oomEvents',
  container_memory_max_usage_bytes: 'maxMemoryBytes',
};

function labelsOf(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
    labels[match[1] as string] = (match[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/** The name a pod's own cgroup goes by in the report: all its containers together. */
export const wholePod = '(pod)';

/**
 * The counters of the namespace's containers in a cAdvisor exposition (Prometheus text format).
 * The pod's own cgroup (no container label) counts as the container `(pod)`: where the kubelet
 * reports no container of its own (as on a node whose runtime cAdvisor cannot read), the pod's
 * cgroup, with the sum of its containers' limits, is what shows throttling. The sandbox
 * (`POD`) is left out.
 */
export function parseCadvisor(text: string, namespace: string): Map<string, ContainerCounters> {
  const out = new Map<string, ContainerCounters>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\s+(\S+)(?:\s+(\d+))?/.exec(line);
    if (!match) continue;
    const field = cadvisorMetrics[match[1] as string];
    if (!field) continue;
    const labels = labelsOf(match[2] as string);
    if (labels.namespace !== namespace || !labels.pod || labels.container === 'POD') continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    const container = labels.container || wholePod;
    const key = containerKey(labels.pod, container);
    const counters = out.get(key) ?? { pod: labels.pod, container };
    // A container may show up once per cgroup hierarchy; the largest reading is the container's.
    const previous = counters[field];
    (counters as unknown as Record<string, number>)[field] = typeof previous === 'number' ? Math.max(previous, value) : value;
    if (match[4]) counters.sampledAtMs = Math.max(counters.sampledAtMs ?? 0, Number(match[4]));
    out.set(key, counters);
  }
  return out;
}

const memoryLimit = (quantity: string | undefined): number | undefined => {
  const value = bytes(quantity);
  return Number.isNaN(value) ? undefined : value;
};

/**
 * Restarts, last exits and memory limits of the namespace's containers, from the pods; and
 * each pod as a whole (`(pod)`), with the sum of its containers' memory limits when each has one.
 */
export function podCounters(pods: readonly k8s.V1Pod[]): Map<string, ContainerCounters> {
  const out = new Map<string, ContainerCounters>();
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '?';
    const limits = new Map((pod.spec?.containers ?? []).map((c) => [c.name, memoryLimit(c.resources?.limits?.memory)]));
    const all = [...limits.values()];
    const podLimit = all.length > 0 && all.every((limit) => limit !== undefined) ? all.reduce<number>((sum, limit) => sum + (limit ?? 0), 0) : undefined;
    out.set(containerKey(name, wholePod), { pod: name, container: wholePod, memoryLimitBytes: podLimit });
    for (const status of pod.status?.containerStatuses ?? []) {
      const terminated = status.lastState?.terminated;
      out.set(containerKey(name, status.name), {
        pod: name,
        container: status.name,
        restarts: status.restartCount,
        memoryLimitBytes: limits.get(status.name),
        lastExit: terminated ? { reason: terminated.reason ?? `exit ${terminated.exitCode}`, finishedAt: new Date(terminated.finishedAt ?? 0).toISOString() } : undefined,
      });
    }
  }
  return out;
}

/**
 * The pods' counters with the kubelet's beside them. A pod whose containers the kubelet reports
 * one by one needs no row of its own; one whose containers it does not report keeps its
 * whole-pod row, and its containers keep theirs for restarts, OOM kills and limits.
 */
export function mergeKubelet(pods: Map<string, ContainerCounters>, kubelet: Map<string, ContainerCounters>): Map<string, ContainerCounters> {
  const merged = new Map<string, ContainerCounters>();
  for (const [key, known] of pods) merged.set(key, { ...kubelet.get(key), ...known, memoryLimitBytes: known.memoryLimitBytes });
  for (const [key, entry] of merged) {
    if (entry.container !== wholePod) continue;
    const read = (c: ContainerCounters) => c.periods !== undefined || c.cpuSeconds !== undefined;
    const containersReported = [...merged.values()].some((c) => c.pod === entry.pod && c.container !== wholePod && read(c));
    if (containersReported || !read(entry)) merged.delete(key);
  }
  return merged;
}

/**
 * One reading of the namespace's pods and of the kubelet of every node they run on. The kubelet
 * refreshes its counters every ten seconds or so; with `notBeforeMs`, a node whose counters are
 * older is read again (for at most `waitMs`), so that a reading taken at the start or the end of
 * a run holds what happened up to that moment.
 */
export async function readContainerCounters(kube: Kube, namespace: string, notBeforeMs = 0, waitMs = 20_000): Promise<{ counters: Map<string, ContainerCounters>; note: string }> {
  const pods = (await kube.core.listNamespacedPod({ namespace })).items.filter((pod) => !pod.metadata?.name?.startsWith('todo-load-'));
  const nodes = [...new Set(pods.map((pod) => pod.spec?.nodeName).filter((node): node is string => Boolean(node)))];
  const kubelet = new Map<string, ContainerCounters>();
  const unread: string[] = [];
  const stale: string[] = [];
  const deadline = Date.now() + waitMs;
  for (const node of nodes) {
    try {
      for (;;) {
        const parsed = parseCadvisor(await kube.core.connectGetNodeProxyWithPath({ name: node, path: 'metrics/cadvisor' }), namespace);
        const oldest = Math.min(...[...parsed.values()].map((counters) => counters.sampledAtMs ?? Number.POSITIVE_INFINITY));
        if (oldest >= notBeforeMs || Date.now() >= deadline) {
          if (oldest < notBeforeMs) stale.push(`${node} ${Math.round((notBeforeMs - oldest) / 1000)} s`);
          for (const [key, counters] of parsed) kubelet.set(key, counters);
          break;
        }
        await new Promise((done) => setTimeout(done, 1000));
      }
    } catch (error) {
      unread.push(`${node}: ${oneLine(error)}`);
    }
  }
  const notes = [
    unread.length > 0 ? `the kubelet's cAdvisor metrics could not be read (nodes/proxy) for ${unread.join('; ')}` : '',
    stale.length > 0 ? `the kubelet's counters lagged the moment asked for by ${stale.join(', ')}` : '',
  ].filter(Boolean);
  return { counters: mergeKubelet(podCounters(pods), kubelet), note: notes.join('; ') };
}

const grew = (after: number | undefined, before: number | undefined): number => Math.max(0, (after ?? 0) - (before ?? 0));

/**
 * What each container went through between two readings. A container that is new in the second
 * reading (a pod replaced during the run) counts from zero; `startMs` dates the exits that count.
 */
export function compareCounters(before: Map<string, ContainerCounters>, after: Map<string, ContainerCounters>, startMs: number): ContainerRun[] {
  const runs: ContainerRun[] = [];
  for (const [key, now] of after) {
    const then = before.get(key);
    const periods = grew(now.periods, then?.periods);
    const throttledPeriods = grew(now.throttledPeriods, then?.throttledPeriods);
    const exitedOom = now.lastExit?.reason === 'OOMKilled' && Date.parse(now.lastExit.finishedAt) >= startMs ? 1 : 0;
    const peak = now.maxMemoryBytes;
    runs.push({
      pod: now.pod,
      container: now.container,
      periods,
      throttledPeriods,
      throttledPercent: now.periods === undefined ? undefined : periods > 0 ? Math.round((throttledPeriods / periods) * 1000) / 10 : 0,
      throttledSeconds: Math.round(grew(now.throttledSeconds, then?.throttledSeconds) * 100) / 100,
      cpuSeconds: now.cpuSeconds === undefined ? undefined : Math.round(grew(now.cpuSeconds, then?.cpuSeconds) * 1000) / 1000,
      oomKills: Math.max(grew(now.oomEvents, then?.oomEvents), exitedOom),
      restarts: grew(now.restarts, then?.restarts),
      peakMemoryBytes: peak,
      memoryLimitBytes: now.memoryLimitBytes,
      peakMemoryPercent: peak !== undefined && now.memoryLimitBytes ? Math.round((peak / now.memoryLimitBytes) * 1000) / 10 : undefined,
    });
  }
  return runs.sort((a, b) => (b.throttledPercent ?? -1) - (a.throttledPercent ?? -1) || key(a).localeCompare(key(b)));
}

const key = (run: ContainerRun): string => containerKey(run.pod, run.container);

/** Throttled in more than `sharePercent` of its CFS periods: the container's CPU limit is too tight for the load. */
export function throttlingVerdict(runs: readonly ContainerRun[], note: string, sharePercent: number): Verdict {
  const base = { id: 'cpu-throttling', name: `CPU throttled in at most ${sharePercent} % of periods` };
  const measured = runs.filter((run) => run.throttledPercent !== undefined);
  if (measured.length === 0) return { ...base, pass: true, skip: true, detail: `skipped: ${note || 'no container reported CFS periods (no CPU limits, or no cAdvisor metrics)'}` };
  const worst = measured[0] as ContainerRun;
  const over = measured.filter((run) => (run.throttledPercent ?? 0) > sharePercent);
  const worstText = `most throttled: ${key(worst)} ${worst.throttledPercent} % of ${worst.periods} periods (${worst.throttledSeconds} s)`;
  return {
    ...base,
    pass: over.length === 0,
    expected: `<= ${sharePercent} % of CFS periods throttled, per container`,
    actual: over.length === 0 ? worstText : `throttled over ${sharePercent} %: ${over.map((run) => `${key(run)} ${run.throttledPercent} % of ${run.periods} periods (${run.throttledSeconds} s)`).join(', ')}`,
    detail: `${measured.length} containers with a CPU limit; ${worstText} (limit ${sharePercent} %)`,
  };
}

/** No container restarted or was OOM-killed while the load ran. */
export function restartsVerdict(runs: readonly ContainerRun[], note: string): Verdict {
  const base = { id: 'restarts', name: 'no restart or OOM kill under load' };
  if (runs.length === 0) return { ...base, pass: true, skip: true, detail: `skipped: ${note || 'no container was read'}` };
  const hit = runs.filter((run) => run.restarts > 0 || run.oomKills > 0);
  const text = hit.map((run) => `${key(run)} ${run.restarts} restart(s)${run.oomKills > 0 ? `, ${run.oomKills} OOM kill(s)` : ''}`).join(', ');
  return {
    ...base,
    pass: hit.length === 0,
    expected: '0 restarts, 0 OOM kills',
    actual: hit.length === 0 ? `${runs.length} containers, 0 restarts, 0 OOM kills` : text,
    detail: hit.length === 0 ? `${runs.length} containers: none restarted or was OOM-killed` : text,
  };
}
