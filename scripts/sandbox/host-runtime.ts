// The sandbox's host runtime: the part of a kubelet that kwok does not simulate. It watches
// the pods bound to the sandbox's node and runs each container as a host process (see
// runtime/pod-worker.ts), keeps their status, points kwok's port-forward and logs at them,
// and runs the Service proxy that stands in for kube-proxy and cluster DNS.
//
// Usage: node --import tsx scripts/sandbox/host-runtime.ts --kubeconfig FILE --state-dir DIR
//          --pids-dir DIR --node NAME --catalogue FILE --repo DIR --tools DIR --daprd FILE
//          --metrics-port N --cert FILE --key FILE
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import type { DaprResource, DaprSources } from './runtime/dapr.js';
import type { EnvSources } from './runtime/env.js';
import { loadCatalogue } from './runtime/images.js';
import { MetricsSampler, startMetricsServer, type PodProcesses } from './runtime/metrics.js';
import { PodWorker, type WorkerContext } from './runtime/pod-worker.js';
import { ServiceProxy } from './runtime/service-proxy.js';

const options = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    'state-dir': { type: 'string' },
    'pids-dir': { type: 'string' },
    node: { type: 'string' },
    catalogue: { type: 'string' },
    repo: { type: 'string' },
    tools: { type: 'string' },
    daprd: { type: 'string' },
    'metrics-port': { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
  },
  strict: true,
}).values;

for (const name of ['kubeconfig', 'state-dir', 'pids-dir', 'node', 'catalogue', 'repo', 'tools', 'daprd', 'metrics-port', 'cert', 'key'] as const) {
  if (!options[name]) {
    console.error(`host-runtime: --${name} is required`);
    process.exit(2);
  }
}

const stateDir = options['state-dir']!;
/** When the runtime itself stops, pods get at most this long to exit. */
const shutdownGraceMs = 10_000;
const pidsDir = options['pids-dir']!;
const nodeName = options.node!;

function log(message: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ time: new Date().toISOString(), message, ...fields }));
}

const config = new k8s.KubeConfig();
config.loadFromFile(options.kubeconfig!);
const core = config.makeApiClient(k8s.CoreV1Api);
const discovery = config.makeApiClient(k8s.DiscoveryV1Api);
const custom = config.makeApiClient(k8s.CustomObjectsApi);
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

const caFile = config.getCurrentCluster()?.caFile ?? '';

const catalogue = loadCatalogue(options.catalogue!, { repo: options.repo!, tools: options.tools! });

// --- host ports -------------------------------------------------------------------------------

const portsInUse = new Set<number>();

async function allocatePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', reject);
      probe.listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (!portsInUse.has(port)) {
      portsInUse.add(port);
      return port;
    }
  }
}

function releasePort(port: number): void {
  portsInUse.delete(port);
}

// --- pod addresses (bookkeeping only: nothing connects to them) ---------------------------------

const podIPsInUse = new Set<string>();
let nextPodIP = 2;

function allocatePodIP(): string {
  for (;;) {
    const index = nextPodIP++;
    if (nextPodIP > 65_534) nextPodIP = 2;
    const ip = `10.244.${Math.floor(index / 256)}.${index % 256}`;
    if (index % 256 !== 0 && index % 256 !== 255 && !podIPsInUse.has(ip)) {
      podIPsInUse.add(ip);
      return ip;
    }
  }
}

// --- the pods this node runs ---------------------------------------------------------------------

const workers = new Map<string, PodWorker>();
const byName = new Map<string, PodWorker>();
const podKey = (namespace: string, name: string) => `${namespace}/${name}`;

const proxy = new ServiceProxy({
  pod: (namespace, name) => {
    const worker = byName.get(podKey(namespace, name));
    return worker && { hostPortOf: (port: number) => worker.hostPortOf(port) };
  },
  pods: (namespace) => [...workers.values()]
    .filter((worker) => worker.spec.metadata?.namespace === namespace)
    .map((worker) => ({
      hostPortOf: (port: number) => worker.hostPortOf(port),
      hostname: worker.spec.spec?.hostname,
      subdomain: worker.spec.spec?.subdomain,
    })),
  allocatePort,
  releasePort,
  log,
});

function decodeSecret(secret: k8s.V1Secret): Record<string, string> {
  const data: Record<string, string> = { ...(secret.stringData ?? {}) };
  for (const [name, value] of Object.entries(secret.data ?? {})) data[name] = Buffer.from(value, 'base64').toString('utf8');
  return data;
}

async function envSources(namespace: string): Promise<EnvSources> {
  const [secrets, configMaps] = await Promise.all([
    core.listNamespacedSecret({ namespace }),
    core.listNamespacedConfigMap({ namespace }),
  ]);
  const secretData = new Map(secrets.items.map((secret) => [secret.metadata!.name!, decodeSecret(secret)]));
  const configData = new Map(configMaps.items.map((configMap) => [configMap.metadata!.name!, configMap.data ?? {}]));
  return { secret: (name) => secretData.get(name), configMap: (name) => configData.get(name) };
}

async function listDapr(namespace: string, plural: string, versions: string[]): Promise<DaprResource[]> {
  for (const version of versions) {
    try {
      const list = await custom.listNamespacedCustomObject({ group: 'dapr.io', version, namespace, plural }) as { items: DaprResource[] };
      return list.items;
    } catch (error) {
      if ((error as { code?: number }).code !== 404) throw error;
    }
  }
  return [];
}

async function daprSources(namespace: string): Promise<DaprSources> {
  const [components, subscriptions, configurations, env] = await Promise.all([
    listDapr(namespace, 'components', ['v1alpha1']),
    listDapr(namespace, 'subscriptions', ['v2alpha1', 'v1alpha1']),
    listDapr(namespace, 'configurations', ['v1alpha1']),
    envSources(namespace),
  ]);
  return { components, subscriptions, configurations, secret: env.secret };
}

function ownedBy(pod: k8s.V1Pod) {
  return [{ apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name!, uid: pod.metadata!.uid!, blockOwnerDeletion: false }];
}

/** Create a kwok object for the pod, replacing one a previous pod of that name left. */
async function putKwokObject(pod: k8s.V1Pod, plural: string, kind: string, spec: Record<string, unknown>): Promise<void> {
  const namespace = pod.metadata!.namespace!;
  const name = pod.metadata!.name!;
  const body = { apiVersion: 'kwok.x-k8s.io/v1alpha1', kind, metadata: { name, namespace, ownerReferences: ownedBy(pod) }, spec };
  const target = { group: 'kwok.x-k8s.io', version: 'v1alpha1', namespace, plural };
  try {
    await custom.createNamespacedCustomObject({ ...target, body });
  } catch (error) {
    if ((error as { code?: number }).code !== 409) throw error;
    const existing = await custom.getNamespacedCustomObject({ ...target, name }) as { metadata: { resourceVersion: string } };
    await custom.replaceNamespacedCustomObject({
      ...target,
      name,
      body: { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata.resourceVersion } },
    });
  }
}

function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

const context: WorkerContext = {
  catalogue,
  stateDir,
  daprd: options.daprd!,
  addresses: proxy,
  allocatePort,
  releasePort,
  envSources,
  daprSources,
  async writeStatus(pod, status) {
    const current = workers.get(pod.metadata!.uid!);
    if (!current) return;
    await core.patchNamespacedPodStatus(
      { name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, body: { status } },
      mergePatch,
    );
  },
  async publishAccess(pod, ports, logs) {
    await putKwokObject(pod, 'portforwards', 'PortForward', {
      forwards: ports.map(({ containerPort, hostPort }) => ({ ports: [containerPort], target: { address: '127.0.0.1', port: hostPort } })),
    });
    await putKwokObject(pod, 'logs', 'Logs', {
      logs: logs.map(({ container, file }) => ({ containers: [container], logsFile: file, follow: true })),
    });
  },
  recordProcess(key, pid) {
    const file = join(pidsDir, `pod-${key}.pid`);
    if (pid === undefined) {
      rmSync(file, { force: true });
      return;
    }
    const start = processStartTime(pid);
    if (start) writeFileSync(file, `${pid} ${start}\n`);
  },
  async serviceAccountKubeconfig(pod, file) {
    const namespace = pod.metadata!.namespace!;
    const account = pod.spec?.serviceAccountName ?? 'default';
    const request = await core.createNamespacedServiceAccountToken({
      name: account,
      namespace,
      body: {
        spec: {
          audiences: ['https://kubernetes.default.svc.cluster.local'],
          expirationSeconds: 86_400,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name!, uid: pod.metadata!.uid! },
        },
      },
    });
    const cluster = config.getCurrentCluster()!;
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'sandbox', cluster: { server: cluster.server, 'certificate-authority': caFile } }],
      users: [{ name: account, user: { token: request.status!.token } }],
      contexts: [{ name: 'pod', context: { cluster: 'sandbox', user: account, namespace } }],
      'current-context': 'pod',
    };
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, JSON.stringify(kubeconfig), { mode: 0o600 });
    return file;
  },
  async finishDeletion(pod) {
    try {
      await core.deleteNamespacedPod({
        name: pod.metadata!.name!,
        namespace: pod.metadata!.namespace!,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid! } },
      });
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (code !== 404 && code !== 409) throw error;
    }
  },
  log,
};

function forget(uid: string): void {
  const worker = workers.get(uid);
  if (!worker) return;
  workers.delete(uid);
  const name = podKey(worker.spec.metadata!.namespace!, worker.spec.metadata!.name!);
  if (byName.get(name) === worker) byName.delete(name);
  podIPsInUse.delete(worker.podIP);
}

async function onPod(pod: k8s.V1Pod): Promise<void> {
  if (pod.spec?.nodeName !== nodeName) return;
  const uid = pod.metadata!.uid!;
  const existing = workers.get(uid);
  if (existing) {
    existing.update(pod);
    return;
  }
  if (pod.metadata?.deletionTimestamp) {
    // Never ran here (or ran under a previous runtime, whose processes are gone): let it go.
    await context.finishDeletion(pod);
    return;
  }
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
  const worker = new PodWorker(pod, allocatePodIP(), context);
  workers.set(uid, worker);
  byName.set(podKey(pod.metadata!.namespace!, pod.metadata!.name!), worker);
  try {
    await worker.start();
  } catch (error) {
    log('could not start pod', { pod: worker.name, error: String(error) });
  }
}

async function onPodGone(pod: k8s.V1Pod): Promise<void> {
  const worker = workers.get(pod.metadata!.uid!);
  if (!worker) return;
  // Removed without a graceful deletion (force delete): stop what still runs.
  forget(pod.metadata!.uid!);
  await worker.terminate();
}

function watch<T extends k8s.KubernetesObject>(
  path: string,
  list: () => Promise<k8s.KubernetesListObject<T>>,
  handlers: { upsert(object: T): Promise<void> | void; remove(object: T): Promise<void> | void },
): k8s.Informer<T> {
  const informer = k8s.makeInformer(config, path, list);
  const run = (action: () => Promise<void> | void) => {
    Promise.resolve().then(action).catch((error: unknown) => log('handler failed', { path, error: String(error) }));
  };
  informer.on(k8s.ADD, (object) => run(() => handlers.upsert(object)));
  informer.on(k8s.UPDATE, (object) => run(() => handlers.upsert(object)));
  informer.on(k8s.DELETE, (object) => run(() => handlers.remove(object)));
  informer.on(k8s.ERROR, (error) => {
    log('watch failed; restarting it', { path, error: String(error) });
    setTimeout(() => informer.start().catch(() => undefined), 2_000);
  });
  return informer;
}

async function main(): Promise<void> {
  mkdirSync(stateDir, { recursive: true });
  mkdirSync(pidsDir, { recursive: true });
  const informers = [
    watch<k8s.V1Service>('/api/v1/services', () => core.listServiceForAllNamespaces(), {
      upsert: (service) => proxy.upsertService(service),
      remove: (service) => proxy.deleteService(service),
    }),
    watch<k8s.V1EndpointSlice>('/apis/discovery.k8s.io/v1/endpointslices', () => discovery.listEndpointSliceForAllNamespaces(), {
      upsert: (slice) => proxy.upsertSlice(slice),
      remove: (slice) => proxy.deleteSlice(slice),
    }),
  ];
  for (const informer of informers) await informer.start();
  const pods = watch<k8s.V1Pod>('/api/v1/pods', () => core.listPodForAllNamespaces(), { upsert: onPod, remove: onPodGone });
  await pods.start();
  const podProcesses = (): PodProcesses[] => [...workers.values()].map((worker) => ({
    namespace: worker.spec.metadata!.namespace!,
    name: worker.spec.metadata!.name!,
    labels: worker.spec.metadata?.labels ?? {},
    containers: worker.processes(),
  }));
  const sampler = new MetricsSampler(podProcesses);
  sampler.start();
  const metrics = startMetricsServer({
    port: Number(options['metrics-port']),
    cert: readFileSync(options.cert!),
    key: readFileSync(options.key!),
    nodeName,
    pods: podProcesses,
    sampler,
  });
  log('host runtime ready', { node: nodeName });

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    log('stopping every pod process');
    for (const informer of [...informers, pods]) await informer.stop();
    await Promise.all([...workers.values()].map((worker) => worker.stopProcesses(shutdownGraceMs)));
    proxy.close();
    sampler.stop();
    metrics.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
}

// A failed call to the API server, or one pod's broken stream, must not take every pod on
// the node down with the runtime: log it and carry on.
process.on('unhandledRejection', (error: unknown) => {
  log('unhandled failure', { error: String(error) });
});
process.on('uncaughtException', (error: Error) => {
  log('uncaught exception', { error: String(error), stack: error.stack });
});

main().catch((error: unknown) => {
  log('host runtime failed', { error: String(error) });
  process.exit(1);
});
