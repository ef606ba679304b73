// Criterion 8, first half: every container (init and daprd included) has requests and
// limits, and where the metrics API exists, usage stays under the limits and under the
// configured share of them.
import type * as k8s from '@kubernetes/client-node';
import { CheckFailure, CheckSkip, type Check } from '../lib/check.js';
import { apiStatus } from '../lib/errors.js';
import { parseQuantity } from '../lib/quantity.js';
import { isWorkloadPod } from './pods.js';

/** Missing requests/limits of every container of a pod, as readable lines. */
export function missingResources(pod: k8s.V1Pod): string[] {
  const out: string[] = [];
  const containers = [
    ...(pod.spec?.initContainers ?? []).map((c) => ({ c, kind: 'init container' })),
    ...(pod.spec?.containers ?? []).map((c) => ({ c, kind: 'container' })),
  ];
  for (const { c, kind } of containers) {
    const missing: string[] = [];
    for (const section of ['requests', 'limits'] as const) {
      for (const resource of ['cpu', 'memory']) {
        if (!c.resources?.[section]?.[resource]) missing.push(`${section}.${resource}`);
      }
    }
    if (missing.length > 0) out.push(`pod ${pod.metadata?.name} ${kind} ${c.name} has no ${missing.join(', ')}`);
  }
  return out;
}

const resourcesSet: Check = {
  id: 'resources-set',
  title: 'Every container has CPU and memory requests and limits',
  group: 'resources',
  criterion: '8. Every container has requests and limits',
  async run(ctx, rec) {
    const pods = (await ctx.shared.releasePods()).filter(isWorkloadPod);
    if (pods.length === 0) throw new CheckFailure(`no pods of release ${ctx.config.release}`, 'pods', 'none');
    const problems = pods.flatMap(missingResources);
    const containers = pods.reduce((n, pod) => n + (pod.spec?.containers?.length ?? 0) + (pod.spec?.initContainers?.length ?? 0), 0);
    rec.measure('containers checked', containers, 'containers');
    for (const pod of pods) {
      for (const c of pod.spec?.containers ?? []) {
        rec.note(`${pod.metadata?.name}/${c.name}: requests ${JSON.stringify(c.resources?.requests ?? {})} limits ${JSON.stringify(c.resources?.limits ?? {})}`);
      }
    }
    if (problems.length > 0) {
      rec.involve(...pods.filter((p) => missingResources(p).length > 0).map((p) => p.metadata?.name));
      throw new CheckFailure(problems.join('; '), 'requests and limits for cpu and memory on every container', problems.join('; '));
    }
    rec.summary = `${containers} containers in ${pods.length} pods have requests and limits`;
  },
};

interface PodMetrics {
  metadata?: { name?: string };
  containers?: { name: string; usage: { cpu: string; memory: string } }[];
}

const usage: Check = {
  id: 'resource-usage',
  title: 'CPU and memory usage stay under the limits and under the configured share',
  group: 'resources',
  criterion: '8. Every container stays within its requests and limits (< 80 %)',
  async run(ctx, rec) {
    let list: { items?: PodMetrics[] };
    try {
      list = (await ctx.kube.custom.listNamespacedCustomObject({ group: 'metrics.k8s.io', version: 'v1beta1', namespace: ctx.config.namespace, plural: 'pods' })) as { items?: PodMetrics[] };
    } catch (error) {
      const status = apiStatus(error);
      if (status === 404 || status === 503) throw new CheckSkip(`the cluster serves no metrics.k8s.io API (HTTP ${status}); usage cannot be measured`);
      throw error;
    }
    const pods = (await ctx.shared.releasePods()).filter(isWorkloadPod);
    const share = ctx.config.limits.usagePercent;
    const problems: string[] = [];
    let worst = 0;
    let measured = 0;
    for (const metrics of list.items ?? []) {
      const pod = pods.find((p) => p.metadata?.name === metrics.metadata?.name);
      if (!pod) continue;
      for (const container of metrics.containers ?? []) {
        const spec = pod.spec?.containers?.find((c) => c.name === container.name);
        for (const resource of ['cpu', 'memory'] as const) {
          const limit = spec?.resources?.limits?.[resource];
          if (!limit) continue;
          const percent = (100 * parseQuantity(container.usage[resource])) / parseQuantity(limit);
          measured += 1;
          worst = Math.max(worst, percent);
          if (percent >= share) {
            rec.involve(pod.metadata?.name);
            problems.push(`pod ${pod.metadata?.name} container ${container.name} uses ${container.usage[resource]} ${resource} of limit ${limit} (${percent.toFixed(0)} %, limit ${share} %)`);
          }
        }
      }
    }
    if (measured === 0) throw new CheckSkip('metrics.k8s.io returned no usage for the release pods');
    rec.measure('highest usage, % of limit', worst, '%', share);
    if (problems.length > 0) throw new CheckFailure(problems.join('; '), `usage under ${share} % of every limit`, problems.join('; '));
    rec.summary = `highest usage ${worst.toFixed(0)} % of its limit (limit ${share} %)`;
  },
};

export const resourceChecks: Check[] = [resourcesSet, usage];
