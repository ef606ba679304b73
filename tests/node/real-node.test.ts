// The sandbox's real node: a kubelet, containerd and runc in a network namespace of their
// own, pulling images built from Dockerfiles from the sandbox's registry. What only a real
// node shows is proven here: enforced memory limits (OOMKilled), cluster DNS without an
// upstream, NodePorts on the node's address, exec and port-forward into a container,
// metrics from the kubelet; then the demo as a user runs it, and faults only a real node shows.
// Runs as its own stage of `npm run check` (TODO_CHECK_STAGE=node), after the tests that
// share the sandbox, since its demo keeps the stack deployed in namespace todo-app.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { RunReport } from '../../suites/lib/report/model.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  busyboxImage, ensureSandbox, fetchText, kubeConfig, kubectl, nodeAddress, portForward, repoRoot, sandboxDir,
  sandboxRegistry as registry, uniqueName, waitFor,
} from '../support/sandbox.js';

const env = process.env;
const linkPrefix = env.TODO_SANDBOX_LINK_PREFIX ?? 'tdsbx';
const namespace = uniqueName('node-test');

let core: k8s.CoreV1Api;

interface Run { status: number | null; stdout: string; stderr: string }

/** A quick command (ip, sysctl, nsenter). */
function run(command: string, args: string[]): Run {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000, env });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A long command (the sandbox's scripts, the demo), without blocking the test worker. */
function runLong(command: string, args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function pod(name: string, command: string[], extra: Partial<k8s.V1Container> = {}): k8s.V1Pod {
  return {
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{
        name: 'main',
        image: busyboxImage,
        command,
        resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '32Mi' } },
        ...extra,
      }],
    },
  };
}

async function readyPod(name: string): Promise<k8s.V1Pod> {
  return waitFor(`pod ${name} Ready`, async () => {
    const current = await core.readNamespacedPod({ name, namespace });
    const ready = current.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (!ready) throw new Error(`phase ${current.status?.phase}: ${JSON.stringify(current.status?.containerStatuses?.[0]?.state)}`);
    return current;
  }, 60_000);
}

beforeAll(async () => {
  ensureSandbox();
  core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await waitFor('default ServiceAccount', () => core.readNamespacedServiceAccount({ name: 'default', namespace }), 30_000);
}, 900_000);

afterAll(async () => {
  await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
});

describe('real node', () => {
  it('registers with the kubelet and containerd versions, its own address and a zone', async () => {
    const nodes = await core.listNode();
    expect(nodes.items).toHaveLength(1);
    const info = nodes.items[0]!.status!.nodeInfo!;
    expect(info.kubeletVersion).toBe('v1.34.4');
    expect(info.containerRuntimeVersion).toMatch(/^containerd:\/\//);
    expect(nodes.items[0]!.status!.addresses).toContainEqual({ type: 'InternalIP', address: nodeAddress });
    expect(nodes.items[0]!.metadata!.labels!['topology.kubernetes.io/zone']).toBeTruthy();
  });

  it('runs a container from an image pulled from the sandbox registry, with exec and logs', async () => {
    await core.createNamespacedPod({ namespace, body: pod('shell', ['sh', '-c', 'echo started; exec sleep 3600']) });
    const running = await readyPod('shell');
    expect(running.status?.containerStatuses?.[0]?.imageID).toContain(`${registry}/busybox@sha256:`);
    const { stdout } = await kubectl(['-n', namespace, 'exec', 'shell', '--', 'cat', '/proc/self/cgroup']);
    expect(stdout).toMatch(new RegExp(`memory:/${linkPrefix}/sandbox-node-1/kubepods/`));
    const logs = await kubectl(['-n', namespace, 'logs', 'shell']);
    expect(logs.stdout).toContain('started');
  });

  it('enforces a memory limit: a container over it is OOMKilled and restarted', async () => {
    // tail holds the whole input in memory: 200 MiB against a 32 MiB limit.
    await core.createNamespacedPod({ namespace, body: pod('memhog', ['sh', '-c', 'head -c 200m /dev/zero | tail > /dev/null']) });
    const status = await waitFor('memhog OOMKilled', async () => {
      const current = await core.readNamespacedPod({ name: 'memhog', namespace });
      const container = current.status?.containerStatuses?.[0];
      const terminated = container?.lastState?.terminated ?? container?.state?.terminated;
      if (terminated?.reason !== 'OOMKilled') throw new Error(`state: ${JSON.stringify(container?.state)}`);
      return { terminated, restarts: container?.restartCount ?? 0 };
    }, 90_000);
    expect(status.terminated.exitCode).toBe(137);
  });

  it('resolves Service names through the cluster DNS, and nothing outside the cluster', async () => {
    await readyPod('shell');
    const inside = await waitFor('a cluster name to resolve', async () =>
      (await kubectl(['-n', namespace, 'exec', 'shell', '--', 'nslookup', 'kubernetes.default.svc.cluster.local'])).stdout, 30_000);
    expect(inside).toContain(`${env.TODO_SANDBOX_SERVICE_NET ?? '10.222'}.0.1`);
    // No upstream: a public name gets no answer, and no query leaves the machine.
    await expect(kubectl(['-n', namespace, 'exec', 'shell', '--', 'nslookup', 'example.com'])).rejects.toThrow();
  });

  it('answers a NodePort on the node address from the root namespace, and a port-forward', async () => {
    const serve = ['sh', '-c', 'echo hello-from-node > /tmp/index.html && exec httpd -f -p 8080 -h /tmp'];
    await core.createNamespacedPod({
      namespace,
      body: pod('web', serve, { ports: [{ containerPort: 8080 }], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }),
    });
    const service = await core.createNamespacedService({
      namespace,
      body: { metadata: { name: 'web' }, spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } },
    });
    await readyPod('web');
    const nodePort = service.spec!.ports![0]!.nodePort!;
    const body = await waitFor('the NodePort to answer', async () => {
      const response = await fetch(`http://${nodeAddress}:${nodePort}/index.html`, { signal: AbortSignal.timeout(3_000) });
      return response.text();
    }, 30_000);
    expect(body).toContain('hello-from-node');
    const forward = await portForward(namespace, 'pod/web', 8080);
    try {
      expect((await fetchText(forward.localPort, '/index.html')).body).toContain('hello-from-node');
    } finally {
      forward.close();
    }
  });

  it('serves metrics.k8s.io from the kubelet', async () => {
    const top = await waitFor('kubectl top to list the shell pod', async () => {
      const { stdout } = await kubectl(['-n', namespace, 'top', 'pod', 'shell', '--no-headers']);
      return stdout.includes('shell') ? stdout : undefined;
    }, 90_000, 2_000);
    expect(top).toMatch(/shell\s+\d+m\s+\d+Mi/);
  });

  it('keeps the network rule by construction: no default route in the node, blackholes in the root namespace', () => {
    const node = run('nsenter', [`--net=/run/netns/${linkPrefix}-sandbox-node-1`, '--', 'ip', 'route', 'get', '192.0.2.1']);
    expect(node.status).not.toBe(0);
    expect(node.stderr).toContain('unreachable');
    const routes = run('ip', ['route', 'show', 'type', 'blackhole']).stdout;
    expect(routes).toContain(`${env.TODO_SANDBOX_POD_NET ?? '10.221'}.0.0/16`);
    expect(routes).toContain(`${env.TODO_SANDBOX_SERVICE_NET ?? '10.222'}.0.0/16`);
  });
});

describe('the stack on the real node', () => {
  it('deploys from images built from the Dockerfiles, with Dapr\'s own control plane, and validates green', async () => {
    // The demo as a user runs it: images, Dapr from its chart, the charts, the suite.
    const demo = await runLong('bash', [join(repoRoot, 'scripts/demo.sh')], 1_700_000);
    const report = JSON.parse(readFileSync(join(repoRoot, 'reports/latest/report.json'), 'utf8')) as RunReport;
    const verdicts = report.results.map((result) => `${result.id}: ${result.verdict} (${result.reason})`);
    expect(demo.status, `${demo.stdout.slice(-3000)}\n${demo.stderr.slice(-3000)}\n${verdicts.join('\n')}`).toBe(0);
    expect(report.totals.failed, verdicts.join('\n')).toBe(0);
    // It says where a browser on this machine opens the frontend, and the address answers.
    const frontend = /the frontend: (http:\/\/\S+)/.exec(demo.stdout)?.[1];
    expect(frontend, demo.stdout.slice(-2000)).toMatch(new RegExp(`^http://${nodeAddress.replace(/\./g, '\\.')}:\\d+/$`));
    expect((await fetch(frontend ?? '', { signal: AbortSignal.timeout(10_000) })).status).toBe(200);
    // Skipped only where the sandbox has no such thing: a cloud load balancer's address.
    const skipped = report.results.filter((result) => result.verdict === 'skip').map((result) => result.id);
    expect(skipped, verdicts.join('\n')).toEqual([]);
    expect(report.results.find((result) => result.id === 'dapr-control-plane')?.verdict).toBe('pass');

    const pods = await core.listNamespacedPod({ namespace: 'todo-app' });
    const images = pods.items.flatMap((item) => item.status?.containerStatuses ?? []).map((status) => status.imageID ?? '');
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(image.startsWith(`${registry}/`), image).toBe(true);
    const sidecars = pods.items.filter((item) => item.metadata?.labels?.['dapr.io/sidecar-injected'] === 'true');
    expect(sidecars.length).toBeGreaterThanOrEqual(3);
  }, 1_800_000);
});

describe('faults only a real node shows, each red in pods-ready with its cause', () => {
  // Each fault changes one Deployment of the stack deployed above; the suite (the slow
  // reminder check aside) then names it, and `kubectl rollout undo` puts it back.
  const allowedAlongside = (service: string) => new Set(['pods-ready', 'pod-restarts', 'replicas-desired', `dapr-sidecar-${service}`]);

  async function suiteVerdicts(): Promise<RunReport> {
    const suite = await runLong('npx', ['tsx', 'suites/cli.ts', '--kubeconfig', join(sandboxDir, 'kubeconfig'),
      '--namespace', 'todo-app', '--release', 'todo-app', '--skip', 'reminder-delivered'], 300_000);
    expect(suite.status, suite.stderr).not.toBe(0);
    return JSON.parse(readFileSync(join(repoRoot, 'reports/latest/report.json'), 'utf8')) as RunReport;
  }

  /** Back to the Deployment's previous revision, and wait for it. */
  async function undo(service: string): Promise<void> {
    await kubectl(['-n', 'todo-app', 'rollout', 'undo', `deployment/${service}`]);
    await kubectl(['-n', 'todo-app', 'rollout', 'status', `deployment/${service}`, '--timeout=180s'], 200_000);
  }

  async function breakAndProve(service: string, patch: string[], cause: RegExp): Promise<void> {
    await kubectl(['-n', 'todo-app', 'patch', `deployment/${service}`, ...patch]);
    try {
      const report = await waitFor(`pods-ready to name ${cause}`, async () => {
        const current = await suiteVerdicts();
        const podsReady = current.results.find((result) => result.id === 'pods-ready');
        if (podsReady?.verdict !== 'fail' || !cause.test(podsReady.reason)) throw new Error(`pods-ready: ${podsReady?.verdict} (${podsReady?.reason})`);
        return current;
      }, 240_000, 5_000);
      const red = report.results.filter((result) => result.verdict === 'fail').map((result) => result.id);
      const podsReady = report.results.find((result) => result.id === 'pods-ready');
      console.log(`fault on ${service}: red ${red.join(', ')}; pods-ready: ${podsReady?.reason}`);
      // The pod's own sidecar check sees the same pod not ready; nothing else turns red.
      expect(red).toContain(`dapr-sidecar-${service}`);
      for (const id of red) expect(allowedAlongside(service).has(id), `${id} turned red too`).toBe(true);
    } finally {
      await undo(service);
    }
  }

  it('a container over its memory limit: OOMKilled', async () => {
    await breakAndProve('notification-service', ['--type', 'json', '-p',
      JSON.stringify([{ op: 'replace', path: '/spec/template/spec/containers/0/resources/limits/memory', value: '24Mi' },
        { op: 'replace', path: '/spec/template/spec/containers/0/resources/requests/memory', value: '16Mi' }])], /OOMKilled/);
  }, 600_000);

  it('an image whose entrypoint does not exist', async () => {
    await breakAndProve('recurring-task-service', ['--type', 'json', '-p',
      JSON.stringify([{ op: 'add', path: '/spec/template/spec/containers/0/command', value: ['/no/such/entrypoint'] }])], /no such file or directory|StartError|RunContainerError/);
  }, 600_000);

  async function scaleDapr(deployment: string, replicas: number): Promise<void> {
    await kubectl(['-n', 'dapr-system', 'scale', `deployment/${deployment}`, `--replicas=${replicas}`]);
    await kubectl(['-n', 'dapr-system', 'rollout', 'status', `deployment/${deployment}`, '--timeout=120s'], 150_000);
  }

  it('Sentry down: dapr-control-plane names it', async () => {
    await scaleDapr('dapr-sentry', 0);
    try {
      const report = await suiteVerdicts();
      const red = report.results.filter((result) => result.verdict === 'fail').map((result) => result.id);
      const controlPlane = report.results.find((result) => result.id === 'dapr-control-plane');
      console.log(`fault sentry down: red ${red.join(', ')}; dapr-control-plane: ${controlPlane?.reason}`);
      expect(red).toEqual(['dapr-control-plane']);
      expect(controlPlane?.reason).toContain('dapr-sentry: 0/0 ready');
    } finally {
      await scaleDapr('dapr-sentry', 1);
    }
  }, 600_000);

  it('the injector down and an app pod restarted: the pod runs without a sidecar', async () => {
    await scaleDapr('dapr-sidecar-injector', 0);
    try {
      await kubectl(['-n', 'todo-app', 'rollout', 'restart', 'deployment/notification-service']);
      await kubectl(['-n', 'todo-app', 'rollout', 'status', 'deployment/notification-service', '--timeout=180s'], 200_000);
      const report = await suiteVerdicts();
      const red = report.results.filter((result) => result.verdict === 'fail').map((result) => result.id);
      const sidecar = report.results.find((result) => result.id === 'dapr-sidecar-notification-service');
      console.log(`fault injector down: red ${red.join(', ')}; sidecar: ${sidecar?.reason}`);
      expect(red).toContain('dapr-control-plane');
      expect(red).toContain('dapr-sidecar-notification-service');
      expect(sidecar?.reason).toMatch(/daprd/);
    } finally {
      await scaleDapr('dapr-sidecar-injector', 1);
      // The injector sets the webhook's CA bundle once it runs; then a restart gets its sidecar back.
      await waitFor('the injector webhook to be served', async () => {
        const { stdout } = await kubectl(['get', 'mutatingwebhookconfiguration', 'dapr-sidecar-injector', '-o', 'jsonpath={.webhooks[0].clientConfig.caBundle}']);
        return stdout.length > 0 ? stdout : undefined;
      }, 60_000);
      await kubectl(['-n', 'todo-app', 'rollout', 'restart', 'deployment/notification-service']);
      await kubectl(['-n', 'todo-app', 'rollout', 'status', 'deployment/notification-service', '--timeout=180s'], 200_000);
    }
  }, 600_000);

  it('a broken DNS name in a service\'s configuration: frontend-api-route and the journeys name the 502', async () => {
    // The frontend's BACKEND_URL names a Service that does not exist; the pod still starts
    // and serves its page, only the API behind it is gone.
    await kubectl(['-n', 'todo-app', 'set', 'env', 'deployment/frontend', 'BACKEND_URL=http://backend-typo:8000']);
    await kubectl(['-n', 'todo-app', 'rollout', 'status', 'deployment/frontend', '--timeout=180s'], 200_000);
    try {
      const report = await suiteVerdicts();
      const red = report.results.filter((result) => result.verdict === 'fail').map((result) => result.id);
      const route = report.results.find((result) => result.id === 'frontend-api-route');
      console.log(`fault broken DNS name: red ${red.join(', ')}; frontend-api-route: ${route?.reason}`);
      // A user meets it at the first task they add, over HTTP and in the browser alike.
      expect(red).toEqual(['frontend-api-route', 'journey-http', 'journey-browser']);
      expect(route?.reason).toMatch(/answered 502 .*Backend unreachable.*the frontend cannot reach the backend/);
      expect(report.results.find((result) => result.id === 'journey-http')?.reason).toMatch(/^step "add a daily task" failed: POST \/tasks answered 502/);
      expect(report.results.find((result) => result.id === 'journey-browser')?.reason).toMatch(/^step "add a daily task" failed: .*Backend unreachable/);
    } finally {
      await undo('frontend');
    }
  }, 600_000);

  it('a NetworkPolicy removed: network-policy names the Service and that a pod elsewhere reached it', async () => {
    const saved = join(sandboxDir, 'networkpolicy-backend.json');
    const policy = JSON.parse((await kubectl(['-n', 'todo-app', 'get', 'networkpolicy', 'backend', '-o', 'json'])).stdout) as k8s.V1NetworkPolicy;
    writeFileSync(saved, JSON.stringify({ ...policy, metadata: { name: policy.metadata?.name, namespace: 'todo-app', labels: policy.metadata?.labels, annotations: policy.metadata?.annotations } }));
    await kubectl(['-n', 'todo-app', 'delete', 'networkpolicy', 'backend']);
    try {
      const report = await suiteVerdicts();
      const red = report.results.filter((result) => result.verdict === 'fail').map((result) => result.id);
      const check = report.results.find((result) => result.id === 'network-policy');
      console.log(`fault policy removed: red ${red.join(', ')}; network-policy: ${check?.reason}`);
      expect(red).toEqual(['network-policy']);
      expect(check?.reason).toMatch(/no NetworkPolicy selects the pods of Service backend.*backend \(:8000\) answered a pod in another namespace/);
    } finally {
      await kubectl(['apply', '-f', saved]);
    }
  }, 600_000);

  it('a LoadBalancer left pending: frontend-public names it while the cluster serves others', async () => {
    // An address outside MetalLB's pool, which it may not give; the Ingress controller keeps its own.
    const outsidePool = `${env.TODO_SANDBOX_HOST_NET ?? '10.220.0'}.100`;
    await kubectl(['-n', 'todo-app', 'patch', 'service', 'frontend', '-p',
      JSON.stringify({ metadata: { annotations: { 'metallb.io/loadBalancerIPs': outsidePool } }, spec: { type: 'LoadBalancer' } })]);
    try {
      const report = await suiteVerdicts();
      const red = report.results.filter((result) => result.verdict === 'fail').map((result) => result.id);
      const check = report.results.find((result) => result.id === 'frontend-public');
      console.log(`fault LoadBalancer pending: red ${red.join(', ')}; frontend-public: ${check?.reason}`);
      expect(red).toEqual(['frontend-public']);
      expect(check?.reason).toMatch(/Service frontend is a LoadBalancer still without an address after 30 s, while the cluster's load-balancer controller serves traefik\/traefik at /);
    } finally {
      await kubectl(['-n', 'todo-app', 'patch', 'service', 'frontend', '-p',
        JSON.stringify({ metadata: { annotations: { 'metallb.io/loadBalancerIPs': null } }, spec: { type: 'NodePort' } })]);
    }
  }, 600_000);

  it('an Ingress that routes to a Service that does not exist: frontend-public names the route', async () => {
    const ingress = join(sandboxDir, 'ingress-fault.json');
    writeFileSync(ingress, JSON.stringify({
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'todo-fault', namespace: 'todo-app' },
      spec: { ingressClassName: 'traefik', rules: [{ http: { paths: [
        { path: '/', pathType: 'Prefix', backend: { service: { name: 'frontend', port: { number: 80 } } } },
        { path: '/admin', pathType: 'Prefix', backend: { service: { name: 'frontend-missing', port: { number: 80 } } } },
      ] } }] },
    }));
    await kubectl(['apply', '-f', ingress]);
    try {
      // Traefik publishes its own LoadBalancer address on the Ingresses it serves.
      await waitFor('the Ingress to get an address', async () => {
        const { stdout } = await kubectl(['-n', 'todo-app', 'get', 'ingress', 'todo-fault', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']);
        return stdout.length > 0 ? stdout : undefined;
      }, 60_000);
      const report = await suiteVerdicts();
      const red = report.results.filter((result) => result.verdict === 'fail').map((result) => result.id);
      const check = report.results.find((result) => result.id === 'frontend-public');
      console.log(`fault Ingress to a missing Service: red ${red.join(', ')}; frontend-public: ${check?.reason}`);
      expect(red).toEqual(['frontend-public']);
      expect(check?.reason).toBe('Ingress todo-fault routes */admin to Service frontend-missing, which does not exist in todo-app');
      // Its route to the frontend works through Traefik's address: the public address itself
      // where the frontend is a NodePort (as here), else fetched beside the LoadBalancer's.
      expect(check?.evidence.join('\n')).toMatch(/GET http:\/\/\S+ (\(Ingress todo-fault\)|through Ingress todo-fault): 200/);
    } finally {
      await kubectl(['delete', '-f', ingress]);
    }
  }, 600_000);

  it('a container that runs as root against runAsNonRoot', async () => {
    await breakAndProve('backend', ['--type', 'json', '-p',
      JSON.stringify([{ op: 'add', path: '/spec/template/spec/containers/0/securityContext/runAsUser', value: 0 }])], /CreateContainerConfigError.*non-root/);
  }, 600_000);
});
