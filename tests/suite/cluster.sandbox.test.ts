// The cluster-object checks (pods, Dapr sidecar shape, secrets by reference, resources)
// against the sandbox: green on a small release of our own, and red, naming the cause, for
// each fault injected into it. A canary secret value is planted and every artifact of a
// failing run is searched for it.
//
// The pods run on the sandbox's real node, from its registry's busybox image (an httpd
// answering on the service's port; an init container that exits with EXIT_CODE), with a
// daprd injected by Dapr's own injector beside each app. What the checks read is what the
// kubelet reports: ErrImagePull from the registry, CrashLoopBackOff with real back-off, a
// failed init container, CreateContainerConfigError for a missing Secret key.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allChecks } from '../../suites/checks/index.js';
import type { CheckResult } from '../../suites/lib/check.js';
import { resolveConfig } from '../../suites/lib/config.js';
import { runSuite, type SuiteRun } from '../../suites/lib/suite.js';
import { ensureSandbox, exitContainer, httpEchoContainer, rolloutPending, sandboxRegistry, toolPath, uniqueName, waitFor } from '../support/sandbox.js';

const execFileAsync = promisify(execFile);

const namespace = uniqueName('suite-ct');
const release = 'suite-rel';
// A tag the sandbox's registry does not have.
const missingImage = `${sandboxRegistry}/todo-backend:missing`;
const canary = `canary-${Math.random().toString(36).slice(2, 10)}-do-not-print`;
const settleTimeoutMs = 60_000;
const objectChecks = [
  'pods-ready',
  'pod-restarts',
  'replicas-desired',
  'dapr-sidecar-backend',
  'dapr-sidecar-recurring-task-service',
  'dapr-sidecar-notification-service',
  'dapr-control-plane',
  'secret-keys',
  'secret-references',
  'resources-set',
  'resource-usage',
];
const services = [
  { name: 'backend', port: 8000, secrets: ['DATABASE_URL', 'BETTER_AUTH_SECRET', 'JWT_SECRET'] },
  { name: 'recurring-task-service', port: 8001, secrets: ['DATABASE_URL'] },
  { name: 'notification-service', port: 8002, secrets: ['DATABASE_URL'] },
] as const;

let kubeconfigPath: string;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let workDir: string;
const faultTable: { fault: string; check: string; seconds: number; message: string }[] = [];
let greenWallMs = 0;

function labels(name: string) {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': release, 'app.kubernetes.io/part-of': 'todo-app' };
}

function manifests(): unknown[] {
  const out: unknown[] = [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'app-secrets', labels: labels('app-secrets') },
      stringData: {
        DATABASE_URL: `postgresql://todo:${canary}-db@127.0.0.1:5432/todo?sslmode=disable`,
        BETTER_AUTH_SECRET: canary,
        JWT_SECRET: canary,
      },
    },
  ];
  for (const svc of services) {
    const echo = httpEchoContainer(svc.port);
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: svc.name, labels: labels(svc.name) },
      spec: { selector: { 'app.kubernetes.io/name': svc.name, 'app.kubernetes.io/instance': release }, ports: [{ name: 'http', port: svc.port, targetPort: 'http' }] },
    });
    out.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: svc.name, labels: labels(svc.name) },
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'app.kubernetes.io/name': svc.name, 'app.kubernetes.io/instance': release } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: {
            labels: labels(svc.name),
            annotations: {
              'dapr.io/enabled': 'true',
              'dapr.io/app-id': svc.name,
              'dapr.io/app-port': String(svc.port),
              'dapr.io/sidecar-cpu-request': '50m',
              'dapr.io/sidecar-memory-request': '64Mi',
              'dapr.io/sidecar-cpu-limit': '300m',
              'dapr.io/sidecar-memory-limit': '256Mi',
            },
          },
          spec: {
            terminationGracePeriodSeconds: 1,
            initContainers: [{
              name: 'migrate',
              ...exitContainer(0, 'migrated'),
              resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
            }],
            containers: [
              {
                name: svc.name,
                ...echo,
                ports: [{ name: 'http', containerPort: svc.port }],
                env: [...echo.env, ...svc.secrets.map((key) => ({ name: key, valueFrom: { secretKeyRef: { name: 'app-secrets', key } } }))],
                resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
              },
            ],
          },
        },
      },
    });
  }
  return out;
}

// --- helpers --------------------------------------------------------------------------------

async function helm(args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(toolPath('helm'), args, { env: { ...process.env, KUBECONFIG: kubeconfigPath }, timeout: 120_000 });
  return stdout;
}

/** Every Deployment at its desired replicas, all pods Ready, nothing terminating. */
async function settled(): Promise<true | undefined> {
  const deployments = await apps.listNamespacedDeployment({ namespace });
  const pods = (await core.listNamespacedPod({ namespace })).items;
  let want = 0;
  for (const d of deployments.items) {
    want += d.spec?.replicas ?? 1;
    const pending = rolloutPending(d);
    if (pending) throw new Error(pending);
  }
  if (pods.length !== want) throw new Error(`${pods.length} pods, want ${want}`);
  return true;
}

async function runChecks(only: string[] = objectChecks, extra: string[] = []): Promise<{ run: SuiteRun; byId: Map<string, CheckResult>; ms: number }> {
  const config = resolveConfig({
    argv: ['--kubeconfig', kubeconfigPath, '-n', namespace, '--release', release, '--only', only.join(','), '--report-dir', join(workDir, 'reports'), '--limit', 'podReadySeconds=30', ...extra],
    env: {},
    cwd: workDir,
  });
  const started = Date.now();
  const run = await runSuite(config, { checks: allChecks, env: {} });
  return { run, byId: new Map(run.report.results.map((r) => [r.id, r])), ms: Date.now() - started };
}

const deploymentsSaved = new Map<string, k8s.V1Deployment>();

async function mutateDeployment(name: string, change: (d: k8s.V1Deployment) => void): Promise<void> {
  const current = await apps.readNamespacedDeployment({ name, namespace });
  if (!deploymentsSaved.has(name)) deploymentsSaved.set(name, structuredClone(current));
  change(current);
  await apps.replaceNamespacedDeployment({ name, namespace, body: current });
}

async function restoreDeployments(): Promise<void> {
  for (const [name, saved] of deploymentsSaved) {
    const current = await apps.readNamespacedDeployment({ name, namespace });
    if (current.spec && saved.spec) {
      current.spec.template = saved.spec.template;
      current.spec.replicas = saved.spec.replicas;
    }
    await apps.replaceNamespacedDeployment({ name, namespace, body: current });
  }
  deploymentsSaved.clear();
  await waitFor('the release to settle after the fault was removed', settled, settleTimeoutMs);
}

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await allFiles(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

function expectRed(byId: Map<string, CheckResult>, id: string, pattern: RegExp): CheckResult {
  const result = byId.get(id);
  expect(result, `check ${id} ran`).toBeDefined();
  expect(result?.verdict, `${id}: ${result?.reason}`).toBe('fail');
  expect(result?.reason).toMatch(pattern);
  return result as CheckResult;
}

function expectGreenExcept(byId: Map<string, CheckResult>, red: string[]): void {
  for (const [id, result] of byId) {
    if (red.includes(id)) continue;
    expect(result.verdict, `${id} should not fail: ${result.reason}`).not.toBe('fail');
  }
}

// --- the tests --------------------------------------------------------------------------------

beforeAll(async () => {
  kubeconfigPath = ensureSandbox().kubeconfig;
  kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  workDir = await mkdtemp(join(tmpdir(), 'suite-cluster-'));
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'todo.suite/test': 'true' } } } });
  await waitFor('the default ServiceAccount', () => core.readNamespacedServiceAccount({ name: 'default', namespace }), 30_000);
  const chart = join(workDir, 'chart');
  await mkdir(join(chart, 'templates'), { recursive: true });
  await writeFile(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: suite-objects\nversion: 0.1.0\n');
  await writeFile(join(chart, 'templates', 'objects.yaml'), manifests().map((m) => stringify(m)).join('---\n'));
  await helm(['install', release, chart, '-n', namespace]);
  await waitFor('the test release to be Running and Ready', settled, settleTimeoutMs);
  // metrics-server reports a pod after its first scrapes of the kubelet (every 15 s).
  await waitFor('metrics.k8s.io to report every pod of the release', async () => {
    const { stdout } = await execFileAsync(toolPath('kubectl'), ['top', 'pod', '-n', namespace, '--no-headers'], { env: { ...process.env, KUBECONFIG: kubeconfigPath } });
    const pods = (await core.listNamespacedPod({ namespace })).items.length;
    return stdout.trim().split('\n').filter(Boolean).length === pods ? true : undefined;
  }, 90_000, 3_000);
}, 240_000);

afterAll(async () => {
  await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
  if (workDir) await rm(workDir, { recursive: true, force: true });
  if (faultTable.length > 0) {
    process.stdout.write(`\nfault table (green object-check run ${greenWallMs} ms):\n${faultTable.map((f) => `  ${f.fault.padEnd(42)} ${f.check.padEnd(36)} ${f.seconds.toFixed(1)} s  ${f.message}`).join('\n')}\n`);
  }
}, 120_000);

describe('cluster-object checks against the sandbox', () => {
  // A fault whose test failed before putting it back must not leak into the next test.
  afterEach(async () => {
    if (deploymentsSaved.size > 0) await restoreDeployments();
  }, 300_000);

  it('are green on the healthy release, nothing skipped', async () => {
    const { run, byId, ms } = await runChecks();
    greenWallMs = ms;
    for (const id of ['pods-ready', 'pod-restarts', 'replicas-desired', 'dapr-sidecar-backend', 'dapr-sidecar-recurring-task-service', 'dapr-sidecar-notification-service', 'secret-keys', 'secret-references', 'resources-set']) {
      expect(byId.get(id)?.verdict, `${id}: ${byId.get(id)?.reason}`).toBe('pass');
    }
    expect(byId.get('dapr-control-plane')?.verdict, byId.get('dapr-control-plane')?.reason).toBe('pass');
    expect(byId.get('resource-usage')?.verdict, byId.get('resource-usage')?.reason).toBe('pass');
    expect(run.report.exitCode).toBe(0);
    expect(run.report.target.revision).toBe(1);
    expect((await stat(run.files.junit)).size).toBeGreaterThan(0);
  }, 120_000);

  it('pods-ready turns red at once on an image that cannot be pulled', async () => {
    const applied = Date.now();
    await mutateDeployment('backend', (d) => {
      const c = d.spec?.template.spec?.containers[0];
      if (c) c.image = missingImage;
    });
    const { byId } = await runChecks(['pods-ready']);
    const seconds = (Date.now() - applied) / 1000;
    const result = expectRed(byId, 'pods-ready', new RegExp(`container backend: (ErrImagePull|ImagePullBackOff): .*${missingImage.replace(/[.]/g, '\\.')}.*not found`));
    expect(seconds).toBeLessThan(15);
    faultTable.push({ fault: 'image that cannot be pulled (backend)', check: 'pods-ready', seconds, message: result.reason });
    await restoreDeployments();
  }, 120_000);

  it('pods-ready and pod-restarts turn red on a crash loop', async () => {
    const applied = Date.now();
    await mutateDeployment('notification-service', (d) => {
      const c = d.spec?.template.spec?.containers[0];
      if (c) Object.assign(c, exitContainer(1, 'crashing'));
    });
    // The first restart comes after the kubelet's 10 s back-off; the kubelet may publish the
    // restart count a moment before the exit it restarted after.
    await waitFor('the crashing pod', async () => ((await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/name=notification-service' })).items.some((p) => p.status?.containerStatuses?.some((s) => s.restartCount > 0 && s.lastState?.terminated)) ? true : undefined), 30_000);
    const { byId } = await runChecks(['pods-ready', 'pod-restarts'], ['--limit', 'maxRestarts=0']);
    const seconds = (Date.now() - applied) / 1000;
    const ready = expectRed(byId, 'pods-ready', /container notification-service: CrashLoopBackOff/);
    const restarts = expectRed(byId, 'pod-restarts', /container notification-service: \d+ restarts? \(last exit 1 Error\)/);
    faultTable.push({ fault: 'crash loop (notification-service)', check: 'pods-ready', seconds, message: ready.reason });
    faultTable.push({ fault: 'crash loop (notification-service)', check: 'pod-restarts', seconds, message: restarts.reason });
    await restoreDeployments();
  }, 120_000);

  it('pods-ready turns red on a failed init container', async () => {
    const applied = Date.now();
    await mutateDeployment('recurring-task-service', (d) => {
      const c = d.spec?.template.spec?.initContainers?.[0];
      if (c) c.env = [{ name: 'EXIT_CODE', value: '1' }, { name: 'EXIT_MESSAGE', value: 'migration failed' }];
    });
    const { byId } = await runChecks(['pods-ready']);
    const seconds = (Date.now() - applied) / 1000;
    const result = expectRed(byId, 'pods-ready', /init container migrate failed: (exit 1 \(Error\)|CrashLoopBackOff)/);
    expect(seconds).toBeLessThan(15);
    faultTable.push({ fault: 'failed init container (recurring-task-service)', check: 'pods-ready', seconds, message: result.reason });
    await restoreDeployments();
  }, 120_000);

  it('pods-ready turns red on an unschedulable pod (real scheduler)', async () => {
    const applied = Date.now();
    await mutateDeployment('backend', (d) => {
      const spec = d.spec?.template.spec;
      if (spec) spec.nodeSelector = { 'todo.suite/no-such-node': 'true' };
    });
    const { byId } = await runChecks(['pods-ready']);
    const seconds = (Date.now() - applied) / 1000;
    const result = expectRed(byId, 'pods-ready', /is unschedulable: 0\/\d+ nodes are available/);
    expect(seconds).toBeLessThan(15);
    faultTable.push({ fault: 'unschedulable (node selector matches no node)', check: 'pods-ready', seconds, message: result.reason });
    await restoreDeployments();
  }, 120_000);

  it('dapr-sidecar turns red when the Dapr annotation is removed, the others stay green', async () => {
    const applied = Date.now();
    await mutateDeployment('backend', (d) => {
      const annotations = d.spec?.template.metadata?.annotations ?? {};
      delete annotations['dapr.io/enabled'];
    });
    await waitFor('the backend rollout without a sidecar', settled, settleTimeoutMs);
    const { byId } = await runChecks();
    const seconds = (Date.now() - applied) / 1000;
    const result = expectRed(byId, 'dapr-sidecar-backend', /lacks annotation dapr\.io\/enabled: "true"; pod backend-\S+ has no daprd container/);
    expectGreenExcept(byId, ['dapr-sidecar-backend']);
    faultTable.push({ fault: 'Dapr annotation removed (backend)', check: 'dapr-sidecar-backend', seconds, message: result.reason });
    await restoreDeployments();
  }, 120_000);

  it('replicas-desired and the sidecar check turn red when recurring-task-service is scaled to 0', async () => {
    const applied = Date.now();
    await mutateDeployment('recurring-task-service', (d) => {
      if (d.spec) d.spec.replicas = 0;
    });
    await waitFor('recurring-task-service to scale to 0', settled, settleTimeoutMs);
    const { byId } = await runChecks();
    const seconds = (Date.now() - applied) / 1000;
    const replicas = expectRed(byId, 'replicas-desired', /deployment\/recurring-task-service is scaled to 0/);
    expectRed(byId, 'dapr-sidecar-recurring-task-service', /no pods behind Service recurring-task-service/);
    expectGreenExcept(byId, ['replicas-desired', 'dapr-sidecar-recurring-task-service', 'secret-references']);
    faultTable.push({ fault: 'recurring-task-service scaled to 0', check: 'replicas-desired', seconds, message: replicas.reason });
    await restoreDeployments();
  }, 120_000);

  it('resources-set turns red when a limit is removed, the others stay green', async () => {
    const applied = Date.now();
    await mutateDeployment('notification-service', (d) => {
      const c = d.spec?.template.spec?.containers[0];
      if (c?.resources) delete c.resources.limits;
    });
    await waitFor('the notification-service rollout', settled, settleTimeoutMs);
    const { byId } = await runChecks();
    const seconds = (Date.now() - applied) / 1000;
    const result = expectRed(byId, 'resources-set', /container notification-service has no limits\.cpu, limits\.memory/);
    expectGreenExcept(byId, ['resources-set']);
    faultTable.push({ fault: 'limits removed (notification-service)', check: 'resources-set', seconds, message: result.reason });
    await restoreDeployments();
  }, 120_000);

  it('secret-references turns red on a broken secret key reference and on an inlined secret', async () => {
    const applied = Date.now();
    await mutateDeployment('backend', (d) => {
      const env = d.spec?.template.spec?.containers[0]?.env ?? [];
      const db = env.find((e) => e.name === 'DATABASE_URL');
      if (db?.valueFrom?.secretKeyRef) db.valueFrom.secretKeyRef.key = 'DATABASE_URL_TYPO';
      const jwt = env.find((e) => e.name === 'JWT_SECRET');
      // The canary in the pod spec also proves that describe dumps are redacted.
      if (jwt) {
        delete jwt.valueFrom;
        jwt.value = canary;
      }
    });
    // As on a node, the new pod cannot start without the key: CreateContainerConfigError,
    // and the old pod keeps serving (maxUnavailable 0).
    await waitFor('the new backend pod to report CreateContainerConfigError', async () =>
      ((await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/name=backend' })).items
        .some((p) => p.status?.containerStatuses?.some((c) => c.state?.waiting?.reason === 'CreateContainerConfigError')) ? true : undefined), 30_000);
    const { run, byId } = await runChecks();
    const seconds = (Date.now() - applied) / 1000;
    const result = expectRed(byId, 'secret-references', /DATABASE_URL references key DATABASE_URL_TYPO, which Secret app-secrets does not hold/);
    expect(result.reason).toMatch(/JWT_SECRET is written into the pod spec, not taken from Secret app-secrets/);
    expectRed(byId, 'pods-ready', /CreateContainerConfigError: couldn't find key DATABASE_URL_TYPO in Secret (\S+\/)?app-secrets/);
    // The new pod's sidecar cannot become ready either: daprd waits for the app's port.
    expectGreenExcept(byId, ['secret-references', 'pods-ready', 'replicas-desired', 'dapr-sidecar-backend', 'dapr-components']);
    faultTable.push({ fault: 'secret key reference broken (backend)', check: 'secret-references', seconds, message: result.reason });

    // Redaction: the canary is in the Secret and in a failing pod's spec; no artifact holds it.
    const files = await allFiles(run.files.dir);
    expect(files.some((f) => f.includes(`${join('diagnostics', 'pods')}`))).toBe(true);
    expect(result.diagnostics).toMatch(/^diagnostics\/checks\/secret-references\.html$/);
    // Two backend pods: the old one still serving, the new one (with the inlined canary)
    // unable to start; the new one's dump shows the value redacted.
    const backendPods = files.filter((f) => /diagnostics\/pods\/backend-/.test(f));
    expect(backendPods.length).toBeGreaterThan(0);
    const dumps = await Promise.all(backendPods.map((file) => readFile(file, 'utf8')));
    expect(dumps.some((dump) => dump.includes('[REDACTED]'))).toBe(true);
    for (const file of files) expect(await readFile(file, 'utf8'), file).not.toContain(canary);
    expect(files.some((f) => f.endsWith('helm-history.txt'))).toBe(true);
    await restoreDeployments();
  }, 120_000);

  it('secret-references turns red, alone, when a workload receives a secret key it does not read', async () => {
    const applied = Date.now();
    await mutateDeployment('recurring-task-service', (d) => {
      d.spec?.template.spec?.containers[0]?.env?.push({ name: 'BETTER_AUTH_SECRET', valueFrom: { secretKeyRef: { name: 'app-secrets', key: 'BETTER_AUTH_SECRET' } } });
    });
    await waitFor('the recurring-task-service rollout', settled, settleTimeoutMs);
    const { byId } = await runChecks();
    const seconds = (Date.now() - applied) / 1000;
    const result = expectRed(byId, 'secret-references', /workload recurring-task-service \(pod recurring-task-service-\S+ container \S+\) receives key BETTER_AUTH_SECRET of Secret app-secrets, which it does not read/);
    expectGreenExcept(byId, ['secret-references']);
    faultTable.push({ fault: 'a workload receives a secret it does not read (recurring-task-service)', check: 'secret-references', seconds, message: result.reason });
    await restoreDeployments();
  }, 120_000);

  it('secret-keys turns red when the Secret loses a key', async () => {
    const applied = Date.now();
    const secret = await core.readNamespacedSecret({ name: 'app-secrets', namespace });
    const saved = structuredClone(secret);
    if (secret.data) delete secret.data.BETTER_AUTH_SECRET;
    await core.replaceNamespacedSecret({ name: 'app-secrets', namespace, body: secret });
    try {
      const { byId } = await runChecks();
      const seconds = (Date.now() - applied) / 1000;
      const result = expectRed(byId, 'secret-keys', /Secret app-secrets lacks key\(s\) BETTER_AUTH_SECRET/);
      expectRed(byId, 'secret-references', /BETTER_AUTH_SECRET references key BETTER_AUTH_SECRET, which Secret app-secrets does not hold/);
      expectGreenExcept(byId, ['secret-keys', 'secret-references']);
      faultTable.push({ fault: 'Secret key removed (BETTER_AUTH_SECRET)', check: 'secret-keys', seconds, message: result.reason });
    } finally {
      const current = await core.readNamespacedSecret({ name: 'app-secrets', namespace });
      current.data = saved.data;
      await core.replaceNamespacedSecret({ name: 'app-secrets', namespace, body: current });
    }
  }, 120_000);

  it('the release is green again after every fault was removed', async () => {
    const { byId } = await runChecks();
    expectGreenExcept(byId, []);
  }, 120_000);
});
