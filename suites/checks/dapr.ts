// Criterion 2: Dapr sidecars injected in the three backend services with the expected
// app-id and ready, Dapr's control plane healthy, and the sidecars report the Components
// loaded (Dapr's metadata API).
import type * as k8s from '@kubernetes/client-node';
import { CheckFailure, CheckSkip, type Check, type CheckContext, type Recorder } from '../lib/check.js';
import { backendServices, podName, podsOfService } from '../lib/cluster.js';
import { isNotFound } from '../lib/errors.js';
import { http } from '../lib/http.js';

export const daprHttpPort = 3500;

/** Problems with one pod's sidecar, empty when it is injected as Dapr would, with the app-id expected, and ready. */
export function sidecarProblems(pod: k8s.V1Pod, appId: string): string[] {
  const name = podName(pod);
  const problems: string[] = [];
  const annotations = pod.metadata?.annotations ?? {};
  if (annotations['dapr.io/enabled'] !== 'true') problems.push(`pod ${name} lacks annotation dapr.io/enabled: "true"`);
  if (annotations['dapr.io/app-id'] !== undefined && annotations['dapr.io/app-id'] !== appId) {
    problems.push(`pod ${name} has dapr.io/app-id "${annotations['dapr.io/app-id']}", expected "${appId}"`);
  }
  const daprd = (pod.spec?.containers ?? []).find((c) => c.name === 'daprd');
  if (!daprd) {
    problems.push(`pod ${name} has no daprd container (containers: ${(pod.spec?.containers ?? []).map((c) => c.name).join(', ')})`);
    return problems;
  }
  const args = daprd.args ?? [];
  const at = args.indexOf('--app-id');
  const actualId = at >= 0 ? args[at + 1] : undefined;
  if (actualId !== appId) problems.push(`pod ${name} daprd runs with --app-id ${actualId ?? '(none)'}, expected ${appId}`);
  const ports = new Set((daprd.ports ?? []).map((p) => p.containerPort));
  if (!ports.has(daprHttpPort)) problems.push(`pod ${name} daprd does not expose ${daprHttpPort}`);
  const status = (pod.status?.containerStatuses ?? []).find((c) => c.name === 'daprd');
  if (!status) problems.push(`pod ${name} reports no status for daprd`);
  else if (!status.ready) {
    const waiting = status.state?.waiting;
    problems.push(`pod ${name} daprd not ready${waiting ? ` (${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''})` : ''}`);
  }
  return problems;
}

function sidecarCheck(service: string, appId: string): Check {
  return {
    id: `dapr-sidecar-${service}`,
    title: `daprd injected and ready in ${service} with app-id ${appId}`,
    group: 'dapr',
    criterion: '2. Dapr sidecars injected in the three backend services',
    async run(ctx, rec) {
      const pods = (await podsOfService(ctx, service)).filter((p) => p.status?.phase !== 'Succeeded');
      rec.involve(...pods.map(podName));
      if (pods.length === 0) throw new CheckFailure(`no pods behind Service ${service}`, `pods with a daprd sidecar`, 'no pods');
      const problems = pods.flatMap((pod) => sidecarProblems(pod, appId));
      if (problems.length > 0) throw new CheckFailure(problems.join('; '), `daprd with --app-id ${appId}, ready`, problems.join('; '));
      for (const pod of pods) rec.note(`${podName(pod)}: daprd ready, app-id ${appId}`);
      rec.summary = `${pods.length} pod(s) with a ready daprd, app-id ${appId}`;
    },
  };
}

// Dapr's chart renders the scheduler with 0 replicas when global.scheduler.enabled is false.
const optionalScheduler = 'dapr-scheduler-server';

async function controlPlaneWorkloads(ctx: CheckContext, rec: Recorder): Promise<string[]> {
  const namespace = ctx.config.daprNamespace;
  try {
    await ctx.kube.core.readNamespace({ name: namespace });
  } catch (error) {
    if (isNotFound(error)) throw new CheckFailure(`Dapr control plane namespace ${namespace} does not exist`, `namespace ${namespace}`, 'absent');
    throw error;
  }
  const [deployments, statefulSets] = await Promise.all([
    ctx.kube.apps.listNamespacedDeployment({ namespace }),
    ctx.kube.apps.listNamespacedStatefulSet({ namespace }),
  ]);
  const lines: string[] = [];
  const problems: string[] = [];
  for (const item of [...deployments.items, ...statefulSets.items]) {
    const desired = item.spec?.replicas ?? 1;
    const ready = item.status?.readyReplicas ?? 0;
    if (item.metadata?.name === optionalScheduler && desired === 0) {
      rec.note(`${optionalScheduler}: 0 replicas, the scheduler is disabled (global.scheduler.enabled=false)`);
      continue;
    }
    const line = `${item.metadata?.name}: ${ready}/${desired} ready`;
    lines.push(line);
    if (ready < desired || desired === 0) problems.push(line);
  }
  for (const line of lines) rec.note(line);
  if (problems.length > 0) throw new CheckFailure(`Dapr control plane not healthy: ${problems.join('; ')}`, 'every control-plane workload ready', problems.join('; '));
  return lines;
}

const controlPlane: Check = {
  id: 'dapr-control-plane',
  title: "Dapr's control plane is healthy",
  group: 'dapr',
  criterion: '2. Dapr sidecars injected in the three backend services',
  async run(ctx, rec) {
    const lines = await controlPlaneWorkloads(ctx, rec);
    if (lines.length === 0) {
      // The sandbox injects sidecars from a webhook outside the cluster (Dapr's own injector
      // cannot serve there), so it has a control-plane namespace with nothing in it.
      const hooks = await ctx.kube.admission.listMutatingWebhookConfiguration();
      const dapr = hooks.items.find((hook) => (hook.webhooks ?? []).some((w) => w.name.endsWith('dapr.io')));
      const url = dapr?.webhooks?.find((w) => w.name.endsWith('dapr.io'))?.clientConfig.url;
      if (dapr && url) {
        throw new CheckSkip(`no Dapr control-plane workloads in ${ctx.config.daprNamespace}; sidecars come from webhook ${dapr.metadata?.name} served outside the cluster (${url}), as in the sandbox`);
      }
      throw new CheckFailure(`no Dapr control-plane workloads in namespace ${ctx.config.daprNamespace}`, 'dapr-operator, dapr-sentry, dapr-sidecar-injector, dapr-placement-server ready', 'none');
    }
    rec.summary = `${lines.length} control-plane workloads ready`;
  },
};

interface DaprMetadata {
  id?: string;
  runtimeVersion?: string;
  components?: { name?: string; type?: string }[];
  subscriptions?: { pubsubname?: string; topic?: string }[];
}

const components: Check = {
  id: 'dapr-components',
  title: 'Each sidecar reports the Components loaded (Dapr metadata API)',
  group: 'dapr',
  criterion: '2. Dapr sidecars injected in the three backend services',
  after: ['dapr-sidecar-backend', 'dapr-sidecar-recurring-task-service', 'dapr-sidecar-notification-service'],
  async run(ctx, rec) {
    const wanted = ctx.config.daprComponents;
    const problems: string[] = [];
    await Promise.all(
      backendServices.map(async ({ service, appId }) => {
        const pods = (await podsOfService(ctx, service)).filter((p) => p.status?.phase === 'Running');
        const pod = pods[0];
        if (!pod) {
          problems.push(`${service}: no running pod`);
          return;
        }
        rec.involve(podName(pod));
        if (!(pod.spec?.containers ?? []).some((c) => c.name === 'daprd')) {
          problems.push(`${service}: pod ${podName(pod)} has no daprd sidecar to ask`);
          return;
        }
        try {
          const endpoint = await ctx.access.pod(pod, daprHttpPort, service);
          const response = await http(endpoint, '/v1.0/metadata', { timeoutMs: ctx.config.limits.httpTimeoutMs });
          if (response.status !== 200) {
            problems.push(`${service}: metadata API answered ${response.status}`);
            return;
          }
          const meta = (response.json ?? {}) as DaprMetadata;
          const loaded = (meta.components ?? []).map((c) => c.name ?? '');
          const missing = wanted.filter((name) => !loaded.includes(name));
          const subs = (meta.subscriptions ?? []).map((s) => `${s.pubsubname}/${s.topic}`);
          rec.note(`${service} (${podName(pod)}, daprd ${meta.runtimeVersion ?? '?'}): id ${meta.id}, components ${loaded.join(', ') || 'none'}; subscriptions ${subs.join(', ') || 'none'}`);
          if (meta.id !== appId) problems.push(`${service}: sidecar reports id ${meta.id}, expected ${appId}`);
          if (missing.length > 0) problems.push(`${service}: components not loaded: ${missing.join(', ')} (loaded: ${loaded.join(', ') || 'none'})`);
        } catch (error) {
          problems.push(`${service}: ${(error as Error).message}`);
        }
      }),
    );
    if (problems.length > 0) throw new CheckFailure(problems.join('; '), `components ${wanted.join(', ')} loaded in every sidecar`, problems.join('; '));
    rec.summary = `every sidecar loaded ${wanted.join(', ')}`;
  },
};

export const daprChecks: Check[] = [
  ...backendServices.map(({ service, appId }) => sidecarCheck(service, appId)),
  controlPlane,
  components,
];
