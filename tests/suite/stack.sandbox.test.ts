// The whole suite against the real stack in the sandbox: the umbrella chart (helm/todo-app)
// installed into a namespace of this test, from the images in the sandbox's registry, on its
// real node with Dapr's own control plane.
// Green first, then one fault per behaviour the cluster-object test cannot reach (a frontend
// whose sessions the backend refuses, a deleted topic, a consumer scaled to 0, a frontend
// that is gone, a backend without its sidecar), each turning its check red with a message
// naming the cause. A canary secret value is
// planted and every artifact is searched for it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allChecks } from '../../suites/checks/index.js';
import type { CheckResult } from '../../suites/lib/check.js';
import { ServiceAccess } from '../../suites/lib/access.js';
import { resolveConfig } from '../../suites/lib/config.js';
import { createTopic, deleteTopic } from '../../suites/lib/kafka.js';
import { buildKube } from '../../suites/lib/kube.js';
import { runSuite, type SuiteRun } from '../../suites/lib/suite.js';
import { ensureSandbox, repoRoot, rolloutPending, runTool, sandboxRegistry, stackDatabase, uniqueName, waitFor } from '../support/sandbox.js';

const namespace = uniqueName('suite-stack');
const release = 'todo-app';
const chart = join(repoRoot, 'helm/todo-app');
// At least 32 characters, as the stack's secret script demands of BETTER_AUTH_SECRET.
const canary = `canary-${Math.random().toString(36).slice(2, 10)}-0123456789abcdef0123456789`;
const installTimeout = '8m';
const rolloutTimeoutMs = 180_000;

let kubeconfigPath: string;
let apps: k8s.AppsV1Api;
let core: k8s.CoreV1Api;
let workDir: string;
let database: ReturnType<typeof stackDatabase> | undefined;
const faultTable: { fault: string; check: string; seconds: number; message: string }[] = [];
let greenWallMs = 0;

const runnable = existsSync(join(chart, 'Chart.yaml'));

async function runChecks(extra: string[] = []): Promise<{ run: SuiteRun; byId: Map<string, CheckResult>; ms: number }> {
  const config = resolveConfig({
    argv: ['--kubeconfig', kubeconfigPath, '-n', namespace, '--release', release, '--report-dir', join(workDir, 'reports'), ...extra],
    env: {},
    cwd: workDir,
  });
  const started = Date.now();
  const run = await runSuite(config, { checks: allChecks, env: {} });
  return { run, byId: new Map(run.report.results.map((r) => [r.id, r])), ms: Date.now() - started };
}

/** The Deployment runs its own desired count (`spec.replicas`), every pod of it updated and ready. */
async function rolledOut(name: string): Promise<true | undefined> {
  const d = await apps.readNamespacedDeployment({ name, namespace });
  const pending = rolloutPending(d);
  if (pending) throw new Error(pending);
  const replicas = d.spec?.replicas ?? 1;
  const pods = await core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/name=${name}` });
  if (pods.items.length !== replicas) throw new Error(`deployment ${name}: ${pods.items.length} pods, want ${replicas}`);
  return true;
}

/** Scales a Deployment and waits for it; returns the count it had, to put back. */
async function scale(name: string, replicas: number): Promise<number> {
  const d = await apps.readNamespacedDeployment({ name, namespace });
  const before = d.spec?.replicas ?? 1;
  if (d.spec) d.spec.replicas = replicas;
  await apps.replaceNamespacedDeployment({ name, namespace, body: d });
  await waitFor(`${name} at ${replicas} replicas`, () => rolledOut(name), rolloutTimeoutMs);
  return before;
}

async function setDaprEnabled(name: string, enabled: boolean): Promise<void> {
  const d = await apps.readNamespacedDeployment({ name, namespace });
  const meta = d.spec?.template.metadata;
  if (meta) meta.annotations = { ...(meta.annotations ?? {}), 'dapr.io/enabled': String(enabled) };
  await apps.replaceNamespacedDeployment({ name, namespace, body: d });
  await waitFor(`${name} rolled out with dapr.io/enabled=${enabled}`, () => rolledOut(name), rolloutTimeoutMs);
}

async function withBroker<T>(work: (brokers: string[]) => Promise<T>): Promise<T> {
  const kube = buildKube({ kubeconfig: kubeconfigPath, context: undefined });
  const access = new ServiceAccess(kube, { namespace, serviceUrls: {}, access: 'port-forward' }, {});
  try {
    const forward = await access.forwardPod('kafka-0', 9094, 9094);
    return await work([`127.0.0.1:${forward.port}`]);
  } finally {
    await access.closeAll();
  }
}

function expectRed(byId: Map<string, CheckResult>, id: string, pattern: RegExp): CheckResult {
  const result = byId.get(id);
  expect(result?.verdict, `${id}: ${result?.reason}`).toBe('fail');
  expect(result?.reason).toMatch(pattern);
  return result as CheckResult;
}

function expectGreenExcept(byId: Map<string, CheckResult>, red: string[]): void {
  for (const [id, result] of byId) {
    if (!red.includes(id)) expect(result.verdict, `${id} should not fail: ${result.reason}`).not.toBe('fail');
  }
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

beforeAll(async () => {
  if (!runnable) return;
  kubeconfigPath = ensureSandbox().kubeconfig;
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  core = kc.makeApiClient(k8s.CoreV1Api);
  workDir = await mkdtemp(join(tmpdir(), 'suite-stack-'));
  database = stackDatabase(namespace);
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'todo.suite/test': 'true' } } } });
  await runTool('helm', [
    'install', release, chart, '-n', namespace, '--wait', '--timeout', installTimeout,
    '--set', `global.imageRegistry=${sandboxRegistry}`,
    '--set', 'global.appSecrets.create=true',
    '--set-string', `global.appSecrets.databaseUrl=${database.url}`,
    '--set-string', `global.appSecrets.betterAuthSecret=${canary}`,
    '--set-string', `global.appSecrets.jwtSecret=${canary}`,
  ], 600_000);
}, 660_000);

afterAll(async () => {
  if (!runnable) return;
  await runTool('helm', ['uninstall', release, '-n', namespace, '--wait', '--timeout', '2m'], 180_000).catch(() => undefined);
  await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
  database?.drop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
  if (faultTable.length > 0) {
    process.stdout.write(`\nstack fault table (green full run ${greenWallMs} ms):\n${faultTable.map((f) => `  ${f.fault.padEnd(36)} ${f.check.padEnd(32)} ${f.seconds.toFixed(1)} s  ${f.message.slice(0, 200)}`).join('\n')}\n`);
  }
}, 240_000);

describe.skipIf(!runnable)('the whole suite against the stack in the sandbox', () => {
  it('is green on the deployed stack, nothing skipped', async () => {
    const { run, byId, ms } = await runChecks();
    greenWallMs = ms;
    expectGreenExcept(byId, []);
    const skipped = run.report.results.filter((result) => result.verdict === 'skip').map((result) => `${result.id}: ${result.reason}`);
    expect(skipped).toEqual([]);
    for (const id of ['pods-ready', 'dapr-control-plane', 'resource-usage', 'backend-internal', 'frontend-api-route', 'dapr-components', 'health-backend', 'kafka-topics', 'recurring-next-task', 'reminder-delivered', 'database-connected', 'api-crud-latency', 'auth-enforced', 'frontend-load', 'secret-references', 'resources-set', 'journey-http', 'journey-browser']) {
      expect(byId.get(id)?.verdict, `${id}: ${byId.get(id)?.reason}`).toBe('pass');
    }
    expect(run.report.exitCode).toBe(0);
    const next = byId.get('recurring-next-task');
    expect(next?.measurements.find((m) => m.name === 'p95')?.value).toBeLessThan(5000);
    expect(next?.series[0]?.values).toHaveLength(20);
    for (const id of ['journey-http', 'journey-browser']) {
      const steps = byId.get(id)?.measurements ?? [];
      console.log(`${id}: ${steps.map((m) => `${m.name} ${m.value.toFixed(0)} ms`).join(', ')}`);
      expect(steps.map((m) => m.name.replace(/^\d+\. /, ''))).toContain(id === 'journey-http' ? 'its next occurrence appears' : 'see its next occurrence');
    }
  }, 400_000);

  it('--contexts validates each cluster in turn, each with its own section, and one that cannot be validated does not stop the others', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const current = kc.getContextObject(kc.getCurrentContext());
    if (!current) throw new Error('the sandbox kubeconfig has no current context');
    kc.addContext({ ...current, name: 'stack', namespace });
    kc.addContext({ ...current, name: 'no-release', namespace: 'default' });
    const contextsKubeconfig = join(workDir, 'contexts.kubeconfig');
    await writeFile(contextsKubeconfig, kc.exportConfig());
    const reports = join(workDir, 'contexts-reports');
    const run = await promisify(execFile)(join(repoRoot, 'node_modules/.bin/tsx'), [
      join(repoRoot, 'suites/cli.ts'), '--kubeconfig', contextsKubeconfig, '--contexts', 'stack,no-release',
      '--only', 'pods-ready,kafka-topics', '--report-dir', reports, '--run-id', 'two-contexts',
    ], { timeout: 180_000 }).then(
      ({ stdout, stderr }) => ({ code: 0, output: `${stdout}${stderr}` }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code, output: `${error.stdout ?? ''}${error.stderr ?? ''}` }),
    );
    expect(run.code, run.output).toBe(7);
    expect(run.output).toContain(`== context stack (1 of 2): release todo-app in namespace ${namespace}, the namespace of the context\n`);
    expect(run.output).toMatch(/^stack: 2 passed, 0 failed, 0 skipped/m);
    expect(run.output).toMatch(/^no-release: could not validate \(exit 7\): Helm release "todo-app" not found in namespace "default"/m);
    expect(run.output).toContain('1 of 2 could not be validated');
    const html = await readFile(join(reports, 'two-contexts/report.html'), 'utf8');
    expect(html).toContain('<section id="context-stack">');
    expect(html).toContain('<section id="context-no-release">');
    const own = JSON.parse(await readFile(join(reports, 'two-contexts/stack/report.json'), 'utf8')) as { exitCode: number; target: { namespace: string } };
    expect([own.exitCode, own.target.namespace]).toEqual([0, namespace]);
    const junit = await readFile(join(reports, 'two-contexts/junit.xml'), 'utf8');
    expect(junit).toContain('<testsuite name="stack: pods"');
    expect(junit).toContain('<testsuite name="no-release: preflight"');
  }, 240_000);

  it('only the journeys turn red when users can sign in but the backend refuses their sessions', async () => {
    // The frontend signs its sessions with a key from another Secret than the backend's:
    // every other check signs its own token with the right key and stays green.
    const stale = 'stale-auth';
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: stale }, stringData: { BETTER_AUTH_SECRET: `stale-${canary}` } } });
    const pointFrontendAt = async (secret: string) => {
      const d = await apps.readNamespacedDeployment({ name: 'frontend', namespace });
      for (const env of d.spec?.template.spec?.containers[0]?.env ?? []) {
        if (env.name === 'BETTER_AUTH_SECRET' && env.valueFrom?.secretKeyRef) env.valueFrom.secretKeyRef.name = secret;
      }
      await apps.replaceNamespacedDeployment({ name: 'frontend', namespace, body: d });
      await waitFor(`frontend rolled out with its key from ${secret}`, () => rolledOut('frontend'), rolloutTimeoutMs);
    };
    const applied = Date.now();
    await pointFrontendAt(stale);
    try {
      const { run, byId } = await runChecks(['--skip', 'reminder-delivered']);
      const seconds = (Date.now() - applied) / 1000;
      const result = expectRed(byId, 'journey-http', /^step "add a daily task" failed: POST \/tasks answered 401/);
      // The page signs the user out at the first refused call: whether the journey saw its
      // Sign out control for that moment or not, the step and the 401 are named.
      const browser = expectRed(byId, 'journey-browser', /^step "sign up" failed: (the page showed the user signed in, then signed them out again once it had loaded|after the sign-up form was sent, the page shows no Sign out control); the browser saw: .*GET \/api\/\S+ answered 401/);
      expectGreenExcept(byId, ['journey-http', 'journey-browser']);
      faultTable.push({ fault: 'frontend signs with another key', check: 'journey-http', seconds, message: result.reason });
      faultTable.push({ fault: 'frontend signs with another key', check: 'journey-browser', seconds, message: browser.reason });
      const screenshot = browser.artifacts?.find((file) => file.endsWith('.png'));
      expect(screenshot, "the failing step's screenshot").toBeDefined();
      expect((await readFile(join(run.files.dir, screenshot ?? ''))).subarray(1, 4).toString()).toBe('PNG');
      expect(await readFile(join(run.files.dir, browser.diagnostics ?? ''), 'utf8')).toContain(`<img src="../../${screenshot}"`);
    } finally {
      await pointFrontendAt('app-secrets');
      await core.deleteNamespacedSecret({ name: stale, namespace });
    }
  }, 500_000);

  it('only the browser journey turns red when the page loads without its scripts', async () => {
    // An empty directory over the frontend's static assets: the page still answers 200 and
    // its load event fires, but nothing on it works (as with a wrong asset prefix or CDN).
    const hideAssets = async (hide: boolean) => {
      const d = await apps.readNamespacedDeployment({ name: 'frontend', namespace });
      const pod = d.spec?.template.spec;
      const container = pod?.containers[0];
      if (!pod || !container) throw new Error('deployment frontend has no container');
      pod.volumes = (pod.volumes ?? []).filter((v) => v.name !== 'no-assets');
      container.volumeMounts = (container.volumeMounts ?? []).filter((m) => m.name !== 'no-assets');
      if (hide) {
        pod.volumes.push({ name: 'no-assets', emptyDir: {} });
        container.volumeMounts.push({ name: 'no-assets', mountPath: '/app/frontend/.next/static' });
      }
      await apps.replaceNamespacedDeployment({ name: 'frontend', namespace, body: d });
      await waitFor(`frontend rolled out ${hide ? 'without' : 'with'} its assets`, () => rolledOut('frontend'), rolloutTimeoutMs);
    };
    const applied = Date.now();
    await hideAssets(true);
    try {
      const { byId } = await runChecks(['--skip', 'reminder-delivered']);
      const seconds = (Date.now() - applied) / 1000;
      const result = expectRed(byId, 'journey-browser', /^step "sign up" failed: /);
      expect(result.evidence.join('\n')).toMatch(/GET \/_next\/static\/\S+ answered 404/);
      expectGreenExcept(byId, ['journey-browser']);
      faultTable.push({ fault: 'page served without its scripts', check: 'journey-browser', seconds, message: result.reason });
    } finally {
      await hideAssets(false);
    }
  }, 500_000);

  it('kafka-topics turns red when a topic is deleted', async () => {
    const applied = Date.now();
    await withBroker((brokers) => deleteTopic(brokers, 'reminders'));
    try {
      const { byId } = await runChecks(['--skip', 'reminder-delivered,frontend-load,journey']);
      const seconds = (Date.now() - applied) / 1000;
      const result = expectRed(byId, 'kafka-topics', /topic\(s\) missing or unavailable: reminders/);
      expectGreenExcept(byId, ['kafka-topics']);
      faultTable.push({ fault: 'topic reminders deleted', check: 'kafka-topics', seconds, message: result.reason });
    } finally {
      await withBroker((brokers) => createTopic(brokers, 'reminders'));
    }
  }, 300_000);

  it('recurring-next-task turns red when the recurring-task-service is scaled to 0', async () => {
    const applied = Date.now();
    const replicas = await scale('recurring-task-service', 0);
    try {
      const { byId } = await runChecks(['--skip', 'reminder-delivered,frontend-load,journey']);
      const seconds = (Date.now() - applied) / 1000;
      const result = expectRed(byId, 'recurring-next-task', /no next occurrence of task \S+ within 5 s/);
      expectRed(byId, 'replicas-desired', /deployment\/recurring-task-service is scaled to 0/);
      expectGreenExcept(byId, ['recurring-next-task', 'replicas-desired', 'health-recurring-task-service', 'dapr-sidecar-recurring-task-service', 'dapr-components', 'secret-references']);
      faultTable.push({ fault: 'recurring-task-service scaled to 0', check: 'recurring-next-task', seconds, message: result.reason });
    } finally {
      await scale('recurring-task-service', replicas);
    }
  }, 400_000);

  it('frontend-public and frontend-load turn red when the frontend is gone', async () => {
    const applied = Date.now();
    const replicas = await scale('frontend', 0);
    try {
      const { byId } = await runChecks(['--skip', 'reminder-delivered,journey']);
      const seconds = (Date.now() - applied) / 1000;
      const result = expectRed(byId, 'frontend-public', /GET http:\/\/\S+ \(NodePort \d+ on node \w+ \S+\) failed|answered 5\d\d/);
      expect(byId.get('frontend-load')?.verdict).toBe('fail');
      expectGreenExcept(byId, ['frontend-public', 'frontend-api-route', 'frontend-load', 'replicas-desired']);
      faultTable.push({ fault: 'frontend scaled to 0', check: 'frontend-public', seconds, message: result.reason });
    } finally {
      await scale('frontend', replicas);
    }
  }, 400_000);

  it('backend-internal turns red when the backend Service is opened as a NodePort', async () => {
    const setType = async (type: 'NodePort' | 'ClusterIP') => {
      const current = await core.readNamespacedService({ name: 'backend', namespace });
      if (!current.spec) throw new Error('Service backend has no spec');
      current.spec.type = type;
      if (type === 'ClusterIP') for (const port of current.spec.ports ?? []) delete port.nodePort;
      await core.replaceNamespacedService({ name: 'backend', namespace, body: current });
    };
    const applied = Date.now();
    await setType('NodePort');
    try {
      const { byId } = await runChecks(['--skip', 'reminder-delivered,frontend-load,journey']);
      const seconds = (Date.now() - applied) / 1000;
      const result = expectRed(byId, 'backend-internal', /^open to the outside: Service backend is NodePort: 8000 \(node port \d+\) open on every node$/);
      expectGreenExcept(byId, ['backend-internal']);
      faultTable.push({ fault: 'backend Service made a NodePort', check: 'backend-internal', seconds, message: result.reason });
    } finally {
      await setType('ClusterIP');
    }
  }, 300_000);

  it('the backend without its sidecar turns the Dapr checks and the event flow red, and leaks no secret', async () => {
    const applied = Date.now();
    await setDaprEnabled('backend', false);
    try {
      const { run, byId } = await runChecks(['--skip', 'reminder-delivered,frontend-load,journey']);
      const seconds = (Date.now() - applied) / 1000;
      const result = expectRed(byId, 'dapr-sidecar-backend', /pod backend-\S+ lacks annotation dapr\.io\/enabled: "true"; pod backend-\S+ has no daprd container/);
      expectRed(byId, 'dapr-components', /backend: pod backend-\S+ has no daprd sidecar/);
      expectRed(byId, 'recurring-next-task', /no next occurrence/);
      faultTable.push({ fault: 'Dapr annotation off (backend)', check: 'dapr-sidecar-backend', seconds, message: result.reason });
      const files = await allFiles(run.files.dir);
      expect(files.some((f) => f.includes('/diagnostics/logs/'))).toBe(true);
      for (const file of files) expect(await readFile(file, 'utf8'), file).not.toContain(canary);
    } finally {
      await setDaprEnabled('backend', true);
    }
  }, 500_000);
});
