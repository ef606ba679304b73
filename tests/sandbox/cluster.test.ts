// The sandbox behaves like a cluster where the charts, scripts and suite can tell:
// Deployments roll out, Services get endpoints, Dapr's injector adds its sidecar, Helm keeps
// release history, and port-forward goes through the API server and the kubelet into the
// container.
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  busyboxImage,
  ensureSandbox,
  fetchText,
  httpEchoContainer,
  kubeConfig,
  kubectl,
  portForward,
  repoRoot,
  rolloutPending,
  runTool,
  sandboxRegistry,
  uniqueName,
  waitFor,
} from '../support/sandbox.js';

const readyTimeoutMs = 60_000;

let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let discovery: k8s.DiscoveryV1Api;
const namespace = uniqueName('sandbox-test');

function deployment(name: string, replicas: number, annotations: Record<string, string> = {}): k8s.V1Deployment {
  return {
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: { app: name }, annotations },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{
            name: 'app',
            ...httpEchoContainer(8080),
            ports: [{ name: 'http', containerPort: 8080 }],
            readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
            resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
          }],
        },
      },
    },
  };
}

async function rolledOut(name: string, replicas: number): Promise<k8s.V1Deployment | undefined> {
  const current = await apps.readNamespacedDeployment({ name, namespace });
  const pending = rolloutPending(current, replicas);
  if (pending) throw new Error(pending);
  return current;
}

beforeAll(async () => {
  ensureSandbox();
  const config = kubeConfig();
  core = config.makeApiClient(k8s.CoreV1Api);
  apps = config.makeApiClient(k8s.AppsV1Api);
  discovery = config.makeApiClient(k8s.DiscoveryV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await waitFor('the default ServiceAccount', async () =>
    core.readNamespacedServiceAccount({ name: 'default', namespace }), 30_000);
});

afterAll(async () => {
  await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
});

describe('sandbox cluster', () => {
  it('reports the pinned Kubernetes version and a Ready node with this machine\'s capacity', async () => {
    const { stdout } = await kubectl(['version', '-o', 'json']);
    const version = JSON.parse(stdout) as { serverVersion: { gitVersion: string } };
    expect(version.serverVersion.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    const nodes = await core.listNode();
    expect(nodes.items).toHaveLength(1);
    const node = nodes.items[0]!;
    const ready = node.status?.conditions?.find((condition) => condition.type === 'Ready');
    expect(ready?.status).toBe('True');
    expect(node.status?.capacity?.pods).toBe('110');
  });

  it('brings a 2-replica Deployment to 2/2 Ready and gives its Service endpoints', async () => {
    const started = Date.now();
    await apps.createNamespacedDeployment({ namespace, body: deployment('web', 2) });
    await core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
      },
    });
    await waitFor('deployment web 2/2 Ready', () => rolledOut('web', 2), readyTimeoutMs);
    console.log(`2-replica Deployment Ready in ${Date.now() - started} ms`);

    const slices = await waitFor('2 ready endpoints of Service web', async () => {
      const list = await discovery.listNamespacedEndpointSlice({
        namespace,
        labelSelector: 'kubernetes.io/service-name=web',
      });
      const ready = list.items.flatMap((slice) => slice.endpoints ?? [])
        .filter((endpoint) => endpoint.conditions?.ready);
      if (ready.length !== 2) throw new Error(`ready endpoints: ${ready.length}`);
      return list.items;
    }, readyTimeoutMs);
    expect(slices[0]?.ports?.[0]?.port).toBe(8080);
  });

  it('completes a rolling update to a new pod template', async () => {
    await waitFor('deployment web 2/2 Ready', () => rolledOut('web', 2), readyTimeoutMs);
    await apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace,
        body: { spec: { template: { metadata: { annotations: { 'todo.test/revision': '2' } } } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    await waitFor('rolling update of web to revision 2', async () => {
      await rolledOut('web', 2);
      const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app=web' });
      const revisions = pods.items
        .filter((pod) => !pod.metadata?.deletionTimestamp)
        .map((pod) => pod.metadata?.annotations?.['todo.test/revision']);
      if (revisions.length !== 2 || revisions.some((revision) => revision !== '2')) {
        throw new Error(`pod revisions: ${revisions.join(', ')}`);
      }
      return true;
    }, readyTimeoutMs);
    const replicaSets = await apps.listNamespacedReplicaSet({ namespace, labelSelector: 'app=web' });
    expect(replicaSets.items).toHaveLength(2);
  });

  it('injects daprd into a pod annotated dapr.io/enabled, with the annotated app-id and app-port', async () => {
    await apps.createNamespacedDeployment({
      namespace,
      body: deployment('daprized', 1, {
        'dapr.io/enabled': 'true',
        'dapr.io/app-id': 'orders',
        'dapr.io/app-port': '8080',
      }),
    });
    await apps.createNamespacedDeployment({ namespace, body: deployment('plain', 1) });
    const pod = await waitFor('the daprized pod', async () => {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app=daprized' });
      return pods.items[0];
    }, readyTimeoutMs);
    const names = pod.spec?.containers.map((container) => container.name);
    expect(names).toEqual(['app', 'daprd']);
    // daprd starts for real: a certificate from Sentry, then the app's port.
    await waitFor('the daprized pod Ready, app and daprd', async () => {
      const current = await core.readNamespacedPod({ name: pod.metadata!.name!, namespace });
      const statuses = current.status?.containerStatuses ?? [];
      if (statuses.length !== 2 || statuses.some((status) => !status.ready)) throw new Error(JSON.stringify(statuses.map((s) => s.state)));
      return true;
    }, readyTimeoutMs);
    const sidecar = pod.spec!.containers[1]!;
    expect(sidecar.image).toBe(`${sandboxRegistry}/daprd:1.16.5`);
    const args = sidecar.args ?? [];
    expect(args[0]).toBe('/daprd');
    expect(args[args.indexOf('--app-id') + 1]).toBe('orders');
    expect(args[args.indexOf('--app-port') + 1]).toBe('8080');
    expect(sidecar.ports?.map((port) => `${port.name}:${port.containerPort}`)).toEqual([
      'dapr-http:3500', 'dapr-grpc:50001', 'dapr-internal:50002', 'dapr-metrics:9090',
    ]);
    expect(sidecar.readinessProbe?.httpGet?.path).toBe('/v1.0/healthz');
    expect(pod.metadata?.labels?.['dapr.io/app-id']).toBe('orders');
    expect(pod.spec!.containers[0]!.env?.find((variable) => variable.name === 'DAPR_HTTP_PORT')?.value).toBe('3500');

    const plain = await waitFor('the plain pod', async () => {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app=plain' });
      return pods.items[0];
    }, readyTimeoutMs);
    expect(plain.spec?.containers.map((container) => container.name)).toEqual(['app']);
  });

  it('opens kubectl port-forward through the API server and the kubelet into the container', async () => {
    const pod = await waitFor('a ready web pod', async () => {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app=web' });
      return pods.items.find((item) => !item.metadata?.deletionTimestamp &&
        item.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True'));
    }, readyTimeoutMs);
    const podName = pod.metadata!.name!;
    const forward = await portForward(namespace, `pod/${podName}`, 8080);
    try {
      const answer = await waitFor('an answer through the port-forward', () => fetchText(forward.localPort, '/'), 20_000);
      expect(answer.body.trim()).toBe(podName);
    } finally {
      forward.close();
    }
  });

  it('installs, upgrades and rolls back a Helm release, and the history shows it', async () => {
    const release = uniqueName('hello');
    const chart = join(repoRoot, 'fixtures/charts/hello');
    const helm = (args: string[]) => runTool('helm', [...args, '--namespace', namespace], 180_000);
    const started = Date.now();
    const image = ['--set', `image=${busyboxImage}`];
    await helm(['install', release, chart, ...image, '--wait', '--timeout', '2m']);
    console.log(`helm install --wait took ${Date.now() - started} ms`);
    await helm(['upgrade', release, chart, ...image, '--set', 'message=changed', '--wait', '--timeout', '2m']);
    const configMap = await core.readNamespacedConfigMap({ name: `${release}-hello`, namespace });
    expect(configMap.data?.message).toBe('changed');
    await helm(['rollback', release, '1', '--wait', '--timeout', '2m']);
    const restored = await core.readNamespacedConfigMap({ name: `${release}-hello`, namespace });
    expect(restored.data?.message).toBe('hello');

    const { stdout } = await helm(['history', release, '-o', 'json']);
    const history = JSON.parse(stdout) as { revision: number; status: string; description: string }[];
    expect(history.map((entry) => entry.revision)).toEqual([1, 2, 3]);
    expect(history[2]).toMatchObject({ status: 'deployed', description: 'Rollback to 1' });
    expect(history.slice(0, 2).every((entry) => entry.status === 'superseded')).toBe(true);
    await helm(['uninstall', release, '--wait']);
  });
});
