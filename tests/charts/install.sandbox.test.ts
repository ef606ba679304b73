/**
 * The charts against a real API server (the sandbox): every environment's render passes the
 * server-side dry run, the umbrella installs with every workload Ready, and an upgrade and
 * a rollback leave the release history to show for it. Helm 3 installs and rolls back,
 * Helm 4 upgrades and reads the history, so both are exercised on the same release.
 *
 * The images come from the sandbox's registry (global.imageRegistry); the database is one of
 * its own on the sandbox's PostgreSQL outside the cluster, as a managed database would be. Each run uses
 * its own namespace and release and removes them afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chartsAtVersion,
  ENVIRONMENTS,
  UMBRELLA_DIR,
  ensureUmbrellaDependencies,
  environmentValues,
  helmBinaries,
  printableArgs,
  run,
  templateArgs,
  type CommandResult,
  type HelmBinary,
} from '../support/helm.js';
import { ensureSandbox, fetchText, portForward, sandboxRegistry, stackDatabase, toolPath, uniqueName } from '../support/sandbox.js';

/** Bound for bringing the sandbox up when it is not running yet (it is idempotent). */
const SANDBOX_UP_TIMEOUT_MS = 30 * 60_000;
/** Bound for `helm install/upgrade/rollback --wait`, as passed to helm. */
const HELM_WAIT = '10m';
const HELM_WAIT_MS = 11 * 60_000;
const KUBECTL_TIMEOUT_MS = 120_000;
const CLEANUP_TIMEOUT_MS = 5 * 60_000;

const [helm3, helm4] = helmBinaries() as [HelmBinary, HelmBinary];

interface HistoryEntry {
  revision: number;
  status: string;
  description: string;
}

interface WorkloadStatus {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { replicas?: number; template: { metadata: { annotations?: Record<string, string> } } };
  status: { readyReplicas?: number; replicas?: number };
}

describe('charts in the sandbox cluster', () => {
  let kubeconfig = '';
  let kubectlPath = '';
  const namespace = uniqueName('charts');
  const release = uniqueName('todo');
  const registry = ['--set', `global.imageRegistry=${sandboxRegistry}`];
  let database: ReturnType<typeof stackDatabase> | undefined;
  let workDir = '';
  let installed = false;

  const env = (): NodeJS.ProcessEnv => ({ ...process.env, KUBECONFIG: kubeconfig });

  const kubectl = (args: string[], timeoutMs = KUBECTL_TIMEOUT_MS): Promise<CommandResult> =>
    run(kubectlPath, args, { env: env(), timeoutMs });

  const kubectlOk = async (args: string[], timeoutMs?: number): Promise<CommandResult> => {
    const result = await kubectl(args, timeoutMs);
    if (result.code !== 0) throw new Error(`kubectl ${printableArgs(args)} exited ${result.code}: ${result.stderr}`);
    return result;
  };

  const clusterHelm = (binary: HelmBinary, args: string[], timeoutMs = HELM_WAIT_MS): Promise<CommandResult> =>
    run(binary.path, args, { env: env(), timeoutMs });

  /** What the namespace looks like, for failure messages. */
  const diagnostics = async (): Promise<string> => {
    const parts = await Promise.all([
      kubectl(['get', 'pods,jobs,statefulsets,deployments,pvc', '-n', namespace, '-o', 'wide']),
      kubectl(['get', 'events', '-n', namespace, '--sort-by=.lastTimestamp']),
    ]);
    return parts.map((part) => part.stdout + part.stderr).join('\n').slice(-12_000);
  };

  const expectOk = async (result: CommandResult, what: string): Promise<void> => {
    if (result.code !== 0) {
      throw new Error(`${what} exited ${result.code}:\n${result.stderr}\n--- namespace ${namespace} ---\n${await diagnostics()}`);
    }
  };

  const history = async (binary: HelmBinary): Promise<HistoryEntry[]> => {
    const result = await clusterHelm(binary, ['history', release, '-n', namespace, '-o', 'json'], KUBECTL_TIMEOUT_MS);
    await expectOk(result, `${binary.label} history`);
    return JSON.parse(result.stdout) as HistoryEntry[];
  };

  const workloadsNow = async (): Promise<WorkloadStatus[]> => {
    const result = await kubectlOk(['get', 'deployments,statefulsets', '-n', namespace, '-o', 'json']);
    return (JSON.parse(result.stdout) as { items: WorkloadStatus[] }).items;
  };

  beforeAll(async () => {
    kubeconfig = ensureSandbox().kubeconfig;
    kubectlPath = toolPath('kubectl');
    workDir = mkdtempSync(join(tmpdir(), 'charts-install-'));
    await ensureUmbrellaDependencies(helm3);
    await kubectlOk(['create', 'namespace', namespace]);
    database = stackDatabase(namespace);
    // Generated for this run only; the chart refers to the Secret and never creates it here.
    const authSecret = randomBytes(32).toString('hex');
    await kubectlOk([
      'create', 'secret', 'generic', 'app-secrets', '-n', namespace,
      `--from-literal=DATABASE_URL=${database.url}`,
      `--from-literal=BETTER_AUTH_SECRET=${authSecret}`,
      `--from-literal=JWT_SECRET=${authSecret}`,
    ]);
  }, SANDBOX_UP_TIMEOUT_MS);

  afterAll(async () => {
    if (kubectlPath && kubeconfig) {
      if (installed) {
        await clusterHelm(helm3, ['uninstall', release, '-n', namespace, '--wait', '--timeout', '3m'], CLEANUP_TIMEOUT_MS);
      }
      await kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found'], CLEANUP_TIMEOUT_MS);
    }
    database?.drop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  }, CLEANUP_TIMEOUT_MS * 2);

  it.each(ENVIRONMENTS)(
    'the %s render passes the API server validation (kubectl apply --dry-run=server)',
    async (environment) => {
      const rendered = await run(
        helm3.path,
        templateArgs(UMBRELLA_DIR, { release, namespace, valuesFiles: environmentValues(environment) }),
        { env: env() },
      );
      await expectOk(rendered, `helm template (${environment})`);
      const file = join(workDir, `${environment}.yaml`);
      writeFileSync(file, rendered.stdout);
      const applied = await kubectl(['apply', '--dry-run=server', '-n', namespace, '-f', file]);
      expect(applied.code, `${environment}: ${applied.stderr}`).toBe(0);
      expect(applied.stdout).toMatch(/deployment\.apps\/backend created \(server dry run\)/);
    },
    KUBECTL_TIMEOUT_MS * 2,
  );

  it('the prod render passes helm 4 install --dry-run=server', async () => {
    const result = await clusterHelm(helm4, [
      'install', release, UMBRELLA_DIR, '-n', namespace, '--dry-run=server',
      '--values', join(UMBRELLA_DIR, 'values-prod.yaml'),
    ], KUBECTL_TIMEOUT_MS);
    await expectOk(result, 'helm4 install --dry-run=server');
  }, KUBECTL_TIMEOUT_MS * 2);

  it('installs the umbrella with helm 3 and every workload becomes Ready', async () => {
    const started = performance.now();
    const result = await clusterHelm(helm3, [
      'install', release, UMBRELLA_DIR, '-n', namespace, ...registry, '--wait', '--wait-for-jobs', '--timeout', HELM_WAIT,
    ]);
    installed = true;
    await expectOk(result, 'helm install');
    console.info(`helm install --wait: ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const workloads = await workloadsNow();
    expect(workloads.map((w) => `${w.kind}/${w.metadata.name}`).sort()).toEqual([
      'Deployment/backend',
      'Deployment/frontend',
      'Deployment/notification-service',
      'Deployment/recurring-task-service',
      'StatefulSet/kafka',
    ]);
    for (const workload of workloads) {
      expect(workload.status.readyReplicas ?? 0, `${workload.kind}/${workload.metadata.name} ready`).toBe(
        workload.spec.replicas ?? 1,
      );
    }
    const services = await kubectlOk(['get', 'services', '-n', namespace, '-o', 'jsonpath={.items[*].metadata.name}']);
    // The charts' six, and the `<app-id>-dapr` Service Dapr's operator makes for each sidecar.
    expect(services.stdout.split(' ').sort()).toEqual([
      'backend', 'frontend', 'kafka', 'kafka-headless', 'notification-service', 'recurring-task-service',
      'backend-dapr', 'notification-service-dapr', 'recurring-task-service-dapr',
    ].sort());
    const pods = await kubectlOk(['get', 'pods', '-n', namespace, '-l', 'app.kubernetes.io/name=backend', '-o', 'jsonpath={.items[*].spec.containers[*].name}']);
    expect(pods.stdout.split(' ')).toContain('daprd');
  }, HELM_WAIT_MS);

  it("passes every chart's helm test: the topics exist and each service answers through its Service", async () => {
    expect(installed, 'the install test must have run').toBe(true);
    const result = await clusterHelm(helm3, ['test', release, '-n', namespace, '--timeout', '4m'], 5 * 60_000);
    await expectOk(result, 'helm test');
    for (const test of ['kafka-test-topics', 'backend-test-health', 'frontend-test-health', 'recurring-task-service-test-health', 'notification-service-test-health']) {
      expect(result.stdout).toMatch(new RegExp(`TEST SUITE:\\s+${test}[\\s\\S]*?Phase:\\s+Succeeded`));
    }
  }, 5 * 60_000);

  it("reaches each pod's own process through kubectl port-forward", async () => {
    expect(installed, 'the install test must have run').toBe(true);
    const health: Record<string, { port: number; path: string }> = {
      backend: { port: 8000, path: '/health' },
      'recurring-task-service': { port: 8001, path: '/health' },
      'notification-service': { port: 8002, path: '/health' },
      frontend: { port: 3000, path: '/' },
    };
    for (const [name, { port, path }] of Object.entries(health)) {
      // The Deployment's own selector: the chart's test pod shares its name label.
      const matchLabels = await kubectlOk(['get', 'deployment', name, '-n', namespace, '-o', 'jsonpath={.spec.selector.matchLabels}']);
      const selector = Object.entries(JSON.parse(matchLabels.stdout) as Record<string, string>).map(([key, value]) => `${key}=${value}`).join(',');
      const pods = await kubectlOk(['get', 'pods', '-n', namespace, '-l', selector, '-o', 'jsonpath={.items[*].metadata.name}']);
      for (const pod of pods.stdout.split(' ').filter(Boolean)) {
        const forward = await portForward(namespace, `pod/${pod}`, port);
        try {
          const answer = await fetchText(forward.localPort, path);
          expect(answer.status, `${pod} ${path}`).toBe(200);
          if (path === '/health') expect(JSON.parse(answer.body)).toMatchObject({ service: name });
        } finally {
          forward.close();
        }
      }
    }
  }, 2 * 60_000);

  it('upgrades with helm 4 (rolling the pods on a config change), rolls back with helm 3, and keeps the history', async () => {
    expect(installed, 'the install test must have run').toBe(true);
    const checksumOf = async () =>
      (await workloadsNow()).find((w) => w.metadata.name === 'backend')?.spec.template.metadata.annotations?.['checksum/app-config'];
    const before = await checksumOf();

    const upgrade = await clusterHelm(helm4, [
      'upgrade', release, UMBRELLA_DIR, '-n', namespace, ...registry, '--wait', '--timeout', HELM_WAIT,
      '--set', 'global.appConfig.data.LOG_LEVEL=debug',
    ]);
    await expectOk(upgrade, 'helm4 upgrade');
    const upgraded = await checksumOf();
    expect(upgraded).not.toBe(before);
    const configAfterUpgrade = await kubectlOk(['get', 'configmap', 'app-config', '-n', namespace, '-o', 'jsonpath={.data.LOG_LEVEL}']);
    expect(configAfterUpgrade.stdout).toBe('debug');

    const started = performance.now();
    const rollback = await clusterHelm(helm3, ['rollback', release, '1', '-n', namespace, '--wait', '--timeout', HELM_WAIT]);
    await expectOk(rollback, 'helm rollback');
    console.info(`helm rollback --wait: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    expect(await checksumOf()).toBe(before);
    const configAfterRollback = await kubectlOk(['get', 'configmap', 'app-config', '-n', namespace, '-o', 'jsonpath={.data.LOG_LEVEL}']);
    expect(configAfterRollback.stdout).toBe('info');
    for (const workload of await workloadsNow()) {
      expect(workload.status.readyReplicas ?? 0, `${workload.metadata.name} ready after rollback`).toBe(workload.spec.replicas ?? 1);
    }

    const entries = await history(helm4);
    expect(entries.map((entry) => [entry.revision, entry.status])).toEqual([
      [1, 'superseded'],
      [2, 'superseded'],
      [3, 'deployed'],
    ]);
    expect(entries[2]?.description).toMatch(/Rollback to 1/);
  }, HELM_WAIT_MS * 2);

  it('upgrades to charts whose only change is their version without replacing a pod', async () => {
    expect(installed, 'the install test must have run').toBe(true);
    const pods = async () => {
      const listed = await kubectlOk(['get', 'pods', '-n', namespace, '-l', `app.kubernetes.io/instance=${release}`, '-o', 'json']);
      const items = (JSON.parse(listed.stdout) as { items: { metadata: { name: string; uid: string; deletionTimestamp?: string; ownerReferences?: { kind: string }[] } }[] }).items;
      // Hook Jobs (the topics Job, test pods) are recreated on every upgrade by design, and
      // pods still terminating after the rollback before are on their way out.
      return items
        .filter((pod) => !pod.metadata.deletionTimestamp && pod.metadata.ownerReferences?.some((owner) => owner.kind === 'ReplicaSet' || owner.kind === 'StatefulSet'))
        .map((pod) => `${pod.metadata.name} ${pod.metadata.uid}`)
        .sort();
    };
    const before = await pods();
    expect(before.length).toBeGreaterThan(0);
    const bumped = await chartsAtVersion(helm3, join(workDir, 'bumped'), '9.9.9');
    const upgrade = await clusterHelm(helm3, ['upgrade', release, bumped, '-n', namespace, ...registry, '--wait', '--timeout', HELM_WAIT]);
    await expectOk(upgrade, 'helm upgrade to the bumped charts');
    const labels = await kubectlOk(['get', 'deployment', 'backend', '-n', namespace, '-o', 'jsonpath={.metadata.labels.helm\\.sh/chart}']);
    expect(labels.stdout, 'the upgrade reached the objects').toBe('backend-9.9.9');
    expect(await pods()).toEqual(before);
  }, HELM_WAIT_MS * 2);
});
