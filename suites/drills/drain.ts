// The node-drain drill: one node is cordoned and its pods evicted through the Eviction API,
// as `kubectl drain` does (PodDisruptionBudgets honoured: a refused eviction is retried and
// counted), while the frontend, the API and the event flow are probed as in the other drills;
// then the node is uncordoned and the release is timed back to full strength. Whatever
// happens, the node ends schedulable again or the drill says loudly that it is not.
import * as k8s from '@kubernetes/client-node';
import { isPodReady } from '../lib/access.js';
import { selects } from '../lib/cluster.js';
import type { SuiteConfig } from '../lib/config.js';
import { apiStatus, oneLine } from '../lib/errors.js';
import type { Kube } from '../lib/kube.js';
import type { Redactor } from '../lib/redact.js';
import { sleep, waitUntil } from '../lib/wait.js';
import { cleanupUser, drillUsers, phaseRunner, probeCounts, startProbing, type Phase } from './drill.js';
import { api, eventFlowOnce, taskList } from './probe.js';
import { atMost, eventLatencyText, longestOutageMs, outageWindows, type OutageWindow, type ProbeResult, type Verdict } from './stats.js';

export interface DrainOptions {
  config: SuiteConfig;
  kube: Kube;
  /** The node to drain; by default the one running most of the release's pods. */
  node?: string;
  /** Upper bound on evicting every pod of the node (refused evictions are retried until then). */
  evictSeconds: number;
  /** Upper bound on each wait for pods to be Ready. */
  readySeconds: number;
  probeRate: number;
  eventRate: number;
  settleSeconds: number;
  redactor: Redactor;
  log: (line: string) => void;
  /** Called once the node is cordoned, so an interrupted run can uncordon it. */
  onCordoned?: (node: string) => void;
}

export interface Eviction {
  pod: string;
  /** ms after the drill's start when the eviction was accepted; undefined when it never was. */
  acceptedMs?: number;
  /** Attempts refused because a PodDisruptionBudget allowed no disruption (HTTP 429). */
  blocked: number;
  /** The last refusal's message, naming the budget. */
  blockedBy?: string;
}

export interface DrainReport {
  namespace: string;
  release: string;
  node: string;
  nodes: { name: string; zone: string; schedulable: boolean; releasePods: number }[];
  frontendUrl: string;
  startedAt: string;
  startMs: number;
  durationMs: number;
  phases: Phase[];
  evictions: Eviction[];
  /** Workloads of the release with more than one replica and no budget that keeps one. */
  budgetGaps: string[];
  /** From the first eviction to every workload of the release Ready at its desired count again. */
  fullStrengthMs?: number;
  probes: ProbeResult[];
  probeCounts: Record<string, { total: number; failed: number }>;
  failedProbes: ProbeResult[];
  outages: OutageWindow[];
  longestOutageMs: number;
  seededTasks: { created: number; foundAfter: number };
  verdicts: Verdict[];
  pass: boolean;
  problems: string[];
}

const zoneLabel = 'topology.kubernetes.io/zone';

export const isSchedulable = (node: k8s.V1Node): boolean =>
  !node.spec?.unschedulable && (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/**
 * Pods a drain evicts: not those of a DaemonSet, not mirror pods, not finished ones; with
 * `terminating`, also those already on their way out (a drain waits for them to be gone).
 */
export function drainablePods(pods: k8s.V1Pod[], node: string, terminating = false): k8s.V1Pod[] {
  return pods.filter((pod) =>
    pod.spec?.nodeName === node &&
    (terminating || !pod.metadata?.deletionTimestamp) &&
    !(pod.metadata?.ownerReferences ?? []).some((owner) => owner.kind === 'DaemonSet') &&
    !pod.metadata?.annotations?.['kubernetes.io/config.mirror'] &&
    pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed');
}

/** The node running most of the release's pods (the first by name on a tie), among the schedulable ones. */
export function busiestNode(nodes: k8s.V1Node[], releasePods: k8s.V1Pod[]): string | undefined {
  const counts = nodes.filter(isSchedulable).map((node) => ({ name: node.metadata?.name ?? '', pods: releasePods.filter((pod) => pod.spec?.nodeName === node.metadata?.name).length }));
  counts.sort((a, b) => b.pods - a.pods || a.name.localeCompare(b.name));
  return counts[0]?.name;
}

interface Workload {
  kind: string;
  name: string;
  replicas: number;
  labels: Record<string, string>;
}

/** Workloads with more than one replica that no budget protects: a drain may take every replica at once. */
export function budgetGaps(workloads: Workload[], budgets: k8s.V1PodDisruptionBudget[]): string[] {
  const gaps: string[] = [];
  for (const workload of workloads.filter((entry) => entry.replicas > 1)) {
    // policy/v1: an empty selector selects every pod of the namespace, a missing one none.
    const covering = budgets.filter((budget) => budget.spec?.selector !== undefined && selects(budget.spec.selector, workload.labels));
    const keeps = covering.some((budget) => {
      const min = budget.spec?.minAvailable;
      const max = budget.spec?.maxUnavailable;
      if (min !== undefined) return typeof min === 'number' ? min >= 1 : Number.parseInt(min, 10) > 0;
      if (max !== undefined) return typeof max === 'number' ? max < workload.replicas : Number.parseInt(max, 10) < 100;
      return false;
    });
    if (covering.length === 0) gaps.push(`${workload.kind} ${workload.name} (${workload.replicas} replicas) has no PodDisruptionBudget: a drain may evict every replica at once`);
    else if (!keeps) gaps.push(`${workload.kind} ${workload.name} (${workload.replicas} replicas): its PodDisruptionBudget ${covering.map((budget) => budget.metadata?.name).join(', ')} lets every replica go at once`);
  }
  return gaps;
}

async function releaseWorkloads(kube: Kube, namespace: string, release: string): Promise<Workload[]> {
  const labelSelector = `app.kubernetes.io/instance=${release}`;
  const deployments = (await kube.apps.listNamespacedDeployment({ namespace, labelSelector })).items;
  const statefulSets = (await kube.apps.listNamespacedStatefulSet({ namespace, labelSelector })).items;
  return [
    ...deployments.map((item) => ({ kind: 'Deployment', name: item.metadata?.name ?? '?', replicas: item.spec?.replicas ?? 1, labels: item.spec?.template.metadata?.labels ?? {} })),
    ...statefulSets.map((item) => ({ kind: 'StatefulSet', name: item.metadata?.name ?? '?', replicas: item.spec?.replicas ?? 1, labels: item.spec?.template.metadata?.labels ?? {} })),
  ];
}

/** Every Deployment and StatefulSet of the release has its desired count of Ready pods. */
async function fullStrength(kube: Kube, namespace: string, release: string): Promise<{ done: true; value: true } | { done: false; seen: string }> {
  const short: string[] = [];
  const labelSelector = `app.kubernetes.io/instance=${release}`;
  for (const item of [...(await kube.apps.listNamespacedDeployment({ namespace, labelSelector })).items, ...(await kube.apps.listNamespacedStatefulSet({ namespace, labelSelector })).items]) {
    const want = item.spec?.replicas ?? 1;
    const ready = item.status?.readyReplicas ?? 0;
    if (ready < want) short.push(`${item.metadata?.name} ${ready}/${want}`);
  }
  return short.length === 0 ? { done: true, value: true } : { done: false, seen: short.join(', ') };
}

/** Cordon or uncordon, as `kubectl cordon` does. */
async function setUnschedulable(kube: Kube, node: string, unschedulable: boolean): Promise<void> {
  await kube.core.patchNode({ name: node, body: { spec: { unschedulable } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
}

/** Evict one pod as `kubectl drain` does: a refusal by a budget (429) is retried until the deadline. */
async function evict(kube: Kube, pod: k8s.V1Pod, deadline: number, since: () => number): Promise<Eviction> {
  const name = pod.metadata?.name ?? '?';
  const namespace = pod.metadata?.namespace ?? 'default';
  const result: Eviction = { pod: `${namespace}/${name}`, blocked: 0 };
  while (Date.now() < deadline) {
    try {
      await kube.core.createNamespacedPodEviction({ name, namespace, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } } });
      result.acceptedMs = since();
      return result;
    } catch (error) {
      const status = apiStatus(error);
      if (status === 404) {
        result.acceptedMs = since();
        return result;
      }
      if (status !== 429) throw error;
      result.blocked += 1;
      result.blockedBy = oneLine(error).slice(0, 300);
      await sleep(1000);
    }
  }
  return result;
}

export async function runDrain(options: DrainOptions): Promise<DrainReport> {
  const { kube, config, log } = options;
  const { namespace, release } = config;
  const startMs = Date.now();
  const since = () => Date.now() - startMs;
  const phases: Phase[] = [];
  const problems: string[] = [];
  const phase = phaseRunner(phases, since, log);

  const nodeList = (await kube.core.listNode()).items;
  const releasePods = (await kube.core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/instance=${release}` })).items;
  const node = options.node ?? busiestNode(nodeList, releasePods) ?? '?';
  const nodes = nodeList.map((item) => ({
    name: item.metadata?.name ?? '?',
    zone: item.metadata?.labels?.[zoneLabel] ?? '-',
    schedulable: isSchedulable(item),
    releasePods: releasePods.filter((pod) => pod.spec?.nodeName === item.metadata?.name).length,
  }));
  const gaps = budgetGaps(await releaseWorkloads(kube, namespace, release), (await kube.policy.listNamespacedPodDisruptionBudget({ namespace })).items);
  log(`draining node ${node} (${nodes.find((entry) => entry.name === node)?.releasePods ?? 0} of the release's ${releasePods.length} pods); ${nodes.length} nodes`);

  const users = await drillUsers(kube, config, options.redactor);
  const { base, dataUser, probeUser, eventUser, seeded } = users;
  const prober = startProbing(users, options, options.evictSeconds + options.readySeconds * 2 + options.settleSeconds * 2 + 120);
  const settle = () => new Promise((done) => setTimeout(done, options.settleSeconds * 1000));
  await settle();

  let evictions: Eviction[] = [];
  let drainStart: number | undefined;
  let fullStrengthMs: number | undefined;
  let cordoned = false;
  try {
    cordoned = (await phase(`cordon ${node}`, async () => {
      await setUnschedulable(kube, node, true);
      options.onCordoned?.(node);
      return { ok: true, detail: 'unschedulable' };
    })).ok;
    if (cordoned) {
      drainStart = since();
      await phase(`evict ${node}`, async () => {
        const pods = drainablePods((await kube.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })).items, node);
        const deadline = Date.now() + options.evictSeconds * 1000;
        evictions = await Promise.all(pods.map((pod) => evict(kube, pod, deadline, since)));
        const refused = evictions.filter((entry) => entry.acceptedMs === undefined);
        const blocked = evictions.reduce((sum, entry) => sum + entry.blocked, 0);
        return { ok: refused.length === 0, detail: `${evictions.length} pods evicted${blocked > 0 ? `, ${blocked} attempts held back by PodDisruptionBudgets` : ''}${refused.length > 0 ? `; still refused after ${options.evictSeconds} s: ${refused.map((entry) => entry.pod).join(', ')}` : ''}` };
      });
      await phase('evicted pods gone', async () => {
        await waitUntil(`no evicted pod left on ${node}`, async () => {
          const left = drainablePods((await kube.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })).items, node, true).map((pod) => pod.metadata?.name);
          return left.length === 0 ? { done: true, value: true } : { done: false, seen: left.join(', ') };
        }, { timeoutMs: options.readySeconds * 1000, intervalMs: 500 });
        return { ok: true, detail: 'node empty but for DaemonSets' };
      });
      // What can move runs elsewhere; a pod tied to the node by its volume waits for it.
      await phase('full strength without it', async () => {
        try {
          await waitUntil('every workload of the release Ready', () => fullStrength(kube, namespace, release), { timeoutMs: Math.min(60, options.readySeconds) * 1000, intervalMs: 1000 });
          fullStrengthMs = since() - (drainStart ?? 0);
          return { ok: true, detail: 'every workload Ready on the remaining nodes' };
        } catch (error) {
          return { ok: true, detail: `not while the node is drained (${oneLine(error).replace(/^.*last seen: /, 'short: ')}); a pod whose volume lives on the node waits for it` };
        }
      });
    }
  } finally {
    if (cordoned) {
      const uncordoned = await phase(`uncordon ${node}`, async () => {
        await setUnschedulable(kube, node, false);
        return { ok: true, detail: 'schedulable again' };
      });
      if (!uncordoned.ok) problems.push(`NODE LEFT CORDONED: ${node} is still unschedulable; run: kubectl uncordon ${node}`);
    }
  }
  if (cordoned && fullStrengthMs === undefined) {
    await phase('full strength', async () => {
      await waitUntil('every workload of the release Ready', () => fullStrength(kube, namespace, release), { timeoutMs: options.readySeconds * 1000, intervalMs: 1000 });
      fullStrengthMs = since() - (drainStart ?? 0);
      return { ok: true, detail: `${((fullStrengthMs ?? 0) / 1000).toFixed(1)} s after the first eviction` };
    });
  }
  await phase('event flow working', async () => {
    const result = await waitUntil('a recurring task to produce its next occurrence', async () => {
      const once = await eventFlowOnce(eventUser, 5000);
      return once.ok ? { done: true, value: once.ms } : { done: false, seen: once.error ?? 'failed' };
    }, { timeoutMs: options.readySeconds * 1000, intervalMs: 1000 });
    return { ok: true, detail: `next occurrence after ${Math.round(result)} ms` };
  });

  await settle();
  const probes = await prober.stop();
  const listed = await api(dataUser, 'GET', '/tasks').catch(() => undefined);
  const ids = new Set(taskList(listed?.json).map((task) => task.id));
  const foundAfter = seeded.filter((id) => ids.has(id)).length;
  await Promise.all([cleanupUser(dataUser), cleanupUser(probeUser), cleanupUser(eventUser)]);

  const finalNode = (await kube.core.readNode({ name: node }).catch(() => undefined));
  if (cordoned && finalNode?.spec?.unschedulable) problems.push(`NODE LEFT CORDONED: ${node} is still unschedulable; run: kubectl uncordon ${node}`);

  const outages = outageWindows(probes);
  const failed = probes.filter((probe) => !probe.ok);
  const counts = probeCounts(probes);
  const blocked = evictions.filter((entry) => entry.blocked > 0);
  const verdicts: Verdict[] = [
    { id: 'no-downtime', name: 'no downtime', pass: failed.length === 0, expected: '0 failed probes (an event unprocessed after 30 s is a failure)', actual: `${failed.length} failed probes, longest outage ${longestOutageMs(outages)} ms`, detail: `${failed.length} failed of ${probes.length} probes; longest outage ${longestOutageMs(outages)} ms; ${eventLatencyText(probes)}` },
    { id: 'budgets', name: 'every replicated workload has a PodDisruptionBudget that keeps one', pass: gaps.length === 0, expected: 'a budget keeping at least one replica of each workload with more than one', actual: gaps.join('; ') || 'none missing', detail: gaps.length > 0 ? gaps.join('; ') : `${blocked.length} evictions held back by a budget until it allowed them (${blocked.reduce((sum, entry) => sum + entry.blocked, 0)} refusals)` },
    { id: 'node-drained', name: 'node drained', pass: cordoned && evictions.every((entry) => entry.acceptedMs !== undefined), expected: `every pod of ${node} evicted within ${options.evictSeconds} s`, actual: `${evictions.filter((entry) => entry.acceptedMs !== undefined).length} of ${evictions.length} evicted`, detail: `${evictions.length} pods evicted from ${node}` },
    fullStrengthMs === undefined
      ? { id: 'full-strength', name: 'time to full strength', pass: false, detail: 'the release never came back to full strength', expected: `<= ${options.readySeconds} s`, actual: 'never' }
      : atMost('time to full strength', fullStrengthMs / 1000, options.readySeconds, 's', 'full-strength'),
    { id: 'node-restored', name: 'node schedulable again', pass: cordoned && finalNode?.spec?.unschedulable !== true, expected: `${node} schedulable`, actual: finalNode?.spec?.unschedulable ? 'cordoned' : 'schedulable', detail: `${node} ${finalNode?.spec?.unschedulable ? 'still cordoned' : 'schedulable'}` },
    { id: 'data-kept', name: 'no data lost', pass: foundAfter === seeded.length && seeded.length > 0, expected: `${seeded.length} of ${seeded.length} seeded tasks (at least 1)`, actual: `${foundAfter} found`, detail: `${foundAfter} of ${seeded.length} tasks created before the drill found after it` },
  ];
  const minRate = Math.min(...['frontend', 'api'].map((target) => (counts[target]?.total ?? 0) / Math.max(1, (prober.stoppedAt - prober.startedAt) / 1000)));
  verdicts.push({ id: 'probe-rate', name: 'probe rate', pass: minRate >= options.probeRate * 0.9, expected: `>= ${(options.probeRate * 0.9).toFixed(1)} probes/s per target`, actual: `${minRate.toFixed(1)} probes/s`, detail: `${minRate.toFixed(1)} probes/s per target (target ${options.probeRate})` });

  return {
    namespace, release, node, nodes, frontendUrl: base,
    startedAt: new Date(startMs).toISOString(), startMs, durationMs: since(),
    phases, evictions, budgetGaps: gaps, fullStrengthMs,
    probes, probeCounts: counts, failedProbes: failed, outages, longestOutageMs: longestOutageMs(outages),
    seededTasks: { created: seeded.length, foundAfter },
    verdicts, pass: verdicts.every((verdict) => verdict.pass) && problems.length === 0, problems,
  };
}
