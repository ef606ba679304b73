// The host runtime makes pods real: each container is a host process with the cluster's
// configuration, pod status follows the process, and what a cluster would show (restarts,
// pull failures, gaps in a Service's endpoints, a broken Dapr component) shows here too.
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSandbox, fetchText, kubeConfig, portForward, uniqueName, waitFor } from '../support/sandbox.js';

const readyTimeoutMs = 60_000;
const namespace = uniqueName('runtime-test');

let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let discovery: k8s.DiscoveryV1Api;
let custom: k8s.CustomObjectsApi;

const strategicMerge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);

interface EchoOptions {
  replicas?: number;
  tag?: string;
  strategy?: k8s.V1DeploymentStrategy;
  env?: k8s.V1EnvVar[];
  annotations?: Record<string, string>;
  image?: string;
}

function echoDeployment(name: string, options: EchoOptions = {}): k8s.V1Deployment {
  return {
    metadata: { name, namespace },
    spec: {
      replicas: options.replicas ?? 1,
      selector: { matchLabels: { app: name } },
      strategy: options.strategy ?? { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: { app: name }, annotations: options.annotations },
        spec: {
          terminationGracePeriodSeconds: 5,
          containers: [{
            name: 'echo',
            image: options.image ?? `sandbox.local/echo:${options.tag ?? '1'}`,
            ports: [{ name: 'http', containerPort: 8080 }],
            env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, ...(options.env ?? [])],
            readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1, failureThreshold: 1 },
            resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
          }],
        },
      },
    },
  };
}

async function readyPods(app: string): Promise<k8s.V1Pod[]> {
  const pods = await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` });
  return pods.items.filter((pod) => !pod.metadata?.deletionTimestamp &&
    pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True'));
}

async function waitForReady(app: string, count: number): Promise<k8s.V1Pod[]> {
  return waitFor(`${count} ready pod(s) of ${app}`, async () => {
    const pods = await readyPods(app);
    if (pods.length !== count) throw new Error(`${pods.length} ready`);
    return pods;
  }, readyTimeoutMs);
}

function pidOf(pod: k8s.V1Pod, container = 'echo'): number {
  const id = pod.status?.containerStatuses?.find((status) => status.name === container)?.containerID ?? '';
  const pid = Number(/^sandbox:\/\/(\d+)$/.exec(id)?.[1]);
  if (!pid) throw new Error(`no process id in containerID '${id}'`);
  return pid;
}

function processRuns(pid: number): boolean {
  try {
    readFileSync(`/proc/${pid}/stat`);
    return true;
  } catch {
    return false;
  }
}

async function readyEndpoints(service: string): Promise<number> {
  const slices = await discovery.listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${service}` });
  return slices.items.flatMap((slice) => slice.endpoints ?? []).filter((endpoint) => endpoint.conditions?.ready).length;
}

/** Sample a Service's ready endpoint count every 50 ms while `during` runs. */
async function watchEndpoints(service: string, during: () => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  let running = true;
  const sampler = (async () => {
    while (running) {
      samples.push(await readyEndpoints(service));
      await new Promise((done) => setTimeout(done, 50));
    }
  })();
  try {
    await during();
  } finally {
    running = false;
    await sampler;
  }
  return samples;
}

async function rollOut(name: string, tag: string): Promise<void> {
  await apps.patchNamespacedDeployment({
    name,
    namespace,
    body: { spec: { template: { spec: { containers: [{ name: 'echo', image: `sandbox.local/echo:${tag}` }] } } } },
  }, strategicMerge);
  await waitFor(`rollout of ${name} to :${tag}`, async () => {
    const deployment = await apps.readNamespacedDeployment({ name, namespace });
    const status = deployment.status ?? {};
    const pods = await readyPods(name);
    const done = (status.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0) &&
      status.updatedReplicas === deployment.spec?.replicas && status.replicas === deployment.spec?.replicas &&
      pods.length === deployment.spec?.replicas && pods.every((pod) => pod.spec?.containers[0]?.image?.endsWith(`:${tag}`));
    if (!done) throw new Error(`status ${JSON.stringify(status)}`);
    return true;
  }, readyTimeoutMs);
}

async function createService(name: string): Promise<void> {
  await core.createNamespacedService({
    namespace,
    body: { metadata: { name }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
  });
}

beforeAll(async () => {
  ensureSandbox();
  const config = kubeConfig();
  core = config.makeApiClient(k8s.CoreV1Api);
  apps = config.makeApiClient(k8s.AppsV1Api);
  discovery = config.makeApiClient(k8s.DiscoveryV1Api);
  custom = config.makeApiClient(k8s.CustomObjectsApi);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await waitFor('the default ServiceAccount', () => core.readNamespacedServiceAccount({ name: 'default', namespace }), 30_000);
});

afterAll(async () => {
  await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
});

describe('host runtime', () => {
  it('stops a deleted pod\'s process and starts a new one for its replacement', async () => {
    await apps.createNamespacedDeployment({ namespace, body: echoDeployment('replaced') });
    const [first] = await waitForReady('replaced', 1);
    const oldPid = pidOf(first!);
    expect(processRuns(oldPid)).toBe(true);
    await core.deleteNamespacedPod({ name: first!.metadata!.name!, namespace });
    const [second] = await waitFor('a replacement pod', async () => {
      const pods = await readyPods('replaced');
      if (pods.length !== 1 || pods[0]!.metadata!.uid === first!.metadata!.uid) throw new Error('not replaced yet');
      return pods;
    }, readyTimeoutMs);
    await waitFor('the old process to exit', async () => (processRuns(oldPid) ? undefined : true), 15_000);
    expect(pidOf(second!)).not.toBe(oldPid);
    expect(processRuns(pidOf(second!))).toBe(true);
    await waitFor('the old pod object to go', async () => {
      const gone = await core.readNamespacedPod({ name: first!.metadata!.name!, namespace }).then(() => false, () => true);
      return gone ? true : undefined;
    }, 15_000);
  });

  it('gives a rolled pod the new value of a Secret it reads', async () => {
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'app-secrets' }, stringData: { TOKEN: 'first-value' } } });
    await apps.createNamespacedDeployment({
      namespace,
      body: echoDeployment('secret-reader', {
        env: [
          { name: 'ECHO_EXPOSE', value: 'TOKEN' },
          { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'app-secrets', key: 'TOKEN' } } },
        ],
      }),
    });
    const read = async () => {
      const [pod] = await waitForReady('secret-reader', 1);
      const forward = await portForward(namespace, `pod/${pod!.metadata!.name}`, 8080);
      try {
        return (await waitFor('the TOKEN answer', () => fetchText(forward.localPort, '/env/TOKEN'), 15_000)).body.trim();
      } finally {
        forward.close();
      }
    };
    expect(await read()).toBe('first-value');
    await core.replaceNamespacedSecret({ name: 'app-secrets', namespace, body: { metadata: { name: 'app-secrets' }, stringData: { TOKEN: 'second-value' } } });
    await apps.patchNamespacedDeployment({
      name: 'secret-reader',
      namespace,
      body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } },
    }, strategicMerge);
    await waitFor('the rolled pod to read the new value', async () => ((await read()) === 'second-value' ? true : undefined), readyTimeoutMs);
  });

  it('keeps ready endpoints through a rolling update with maxUnavailable 0, and shows the gap a Recreate leaves', async () => {
    await apps.createNamespacedDeployment({ namespace, body: echoDeployment('rolling', { replicas: 2 }) });
    await apps.createNamespacedDeployment({ namespace, body: echoDeployment('recreate', { replicas: 2, strategy: { type: 'Recreate' } }) });
    await createService('rolling');
    await createService('recreate');
    await waitForReady('rolling', 2);
    await waitForReady('recreate', 2);
    await waitFor('endpoints of both Services', async () =>
      ((await readyEndpoints('rolling')) === 2 && (await readyEndpoints('recreate')) === 2 ? true : undefined), readyTimeoutMs);

    const rolling = await watchEndpoints('rolling', () => rollOut('rolling', '2'));
    expect(rolling.length).toBeGreaterThan(10);
    expect(Math.min(...rolling)).toBeGreaterThanOrEqual(1);

    const recreate = await watchEndpoints('recreate', () => rollOut('recreate', '2'));
    expect(Math.min(...recreate)).toBe(0);
  });

  it('serves the real memory and CPU of a pod\'s process through metrics.k8s.io', async () => {
    const [pod] = await waitForReady('replaced', 1);
    const name = pod!.metadata!.name!;
    const metrics = await waitFor('metrics for the pod', async () =>
      custom.getNamespacedCustomObject({ group: 'metrics.k8s.io', version: 'v1beta1', namespace, plural: 'pods', name }), 30_000) as {
      containers: { name: string; usage: { cpu: string; memory: string } }[];
    };
    const usage = metrics.containers.find((container) => container.name === 'echo')!.usage;
    const statm = readFileSync(`/proc/${pidOf(pod!)}/statm`, 'utf8').split(' ');
    const rssKi = (Number(statm[1]) * 4096) / 1024;
    const reportedKi = Number(usage.memory.replace(/Ki$/, ''));
    expect(reportedKi).toBeGreaterThan(10 * 1024);
    expect(Math.abs(reportedKi - rssKi) / rssKi).toBeLessThan(0.2);
    expect(usage.cpu).toMatch(/^\d+n$/);
  });

  it('reports ErrImagePull, then ImagePullBackOff, for an image the sandbox does not have', async () => {
    await apps.createNamespacedDeployment({ namespace, body: echoDeployment('unpullable', { image: 'registry.example/does-not-exist:1.0.0' }) });
    const waiting = await waitFor('ImagePullBackOff', async () => {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app=unpullable' });
      const state = pods.items[0]?.status?.containerStatuses?.[0]?.state?.waiting;
      return state?.reason === 'ImagePullBackOff' ? state : undefined;
    }, 30_000);
    expect(waiting.message).toContain('registry.example/does-not-exist:1.0.0');
  });

  it('runs daprd beside a Dapr-enabled app, with the Components read from the cluster', async () => {
    await custom.createNamespacedCustomObject({
      group: 'dapr.io', version: 'v1alpha1', namespace, plural: 'components',
      body: {
        apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: 'schedule' },
        spec: { type: 'bindings.cron', version: 'v1', metadata: [{ name: 'schedule', value: '@every 1h' }] },
        scopes: ['orders'],
      },
    });
    await apps.createNamespacedDeployment({
      namespace,
      body: echoDeployment('orders', { annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'orders', 'dapr.io/app-port': '8080' } }),
    });
    const [pod] = await waitForReady('orders', 1);
    expect(pod!.spec!.containers.map((container) => container.name)).toEqual(['echo', 'daprd']);
    const forward = await portForward(namespace, `pod/${pod!.metadata!.name}`, 3500);
    try {
      const metadata = await waitFor('the sidecar metadata', () => fetchText(forward.localPort, '/v1.0/metadata'), 15_000);
      const parsed = JSON.parse(metadata.body) as { id: string; components: { name: string; type: string }[] };
      expect(parsed.id).toBe('orders');
      expect(parsed.components.map((component) => `${component.name}:${component.type}`)).toContain('schedule:bindings.cron');
    } finally {
      forward.close();
    }
  });

  it('stops a sidecar whose Component names a Secret key that does not exist', async () => {
    await custom.createNamespacedCustomObject({
      group: 'dapr.io', version: 'v1alpha1', namespace, plural: 'components',
      body: {
        apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: 'broken-store' },
        spec: {
          type: 'state.postgresql', version: 'v1',
          metadata: [{ name: 'connectionString', secretKeyRef: { name: 'app-secrets', key: 'NO_SUCH_KEY' } }],
        },
        auth: { secretStore: 'kubernetes' },
        scopes: ['broken'],
      },
    });
    await apps.createNamespacedDeployment({
      namespace,
      body: echoDeployment('broken', { annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'broken', 'dapr.io/app-port': '8080' } }),
    });
    const sidecar = await waitFor('the daprd container to fail', async () => {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app=broken' });
      const status = pods.items[0]?.status?.containerStatuses?.find((candidate) => candidate.name === 'daprd');
      const failed = status?.state?.terminated ?? status?.lastState?.terminated;
      return failed ? status : undefined;
    }, 30_000);
    const failure = sidecar.state?.terminated ?? sidecar.lastState?.terminated;
    expect(failure?.message).toContain('key "NO_SUCH_KEY" not found in secret "app-secrets"');
    const pods = await readyPods('broken');
    expect(pods).toHaveLength(0);
  });
});
