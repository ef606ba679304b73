/**
 * The deployment scripts run for real against the sandbox, on ONE deploy reused by every
 * step: the context rule, create-secrets twice, deploy-to-cloud (fresh, then again in place,
 * then with an image that does not exist, which it gives up on early), validate-deployment, the validation Pod's RBAC and command line, rollback, and rollback's
 * refusal of a release stuck in pending-upgrade. The auth secret is generated for this run
 * and must never appear in any output.
 *
 * Sandbox-only parts, named as such: the images come from the sandbox's registry
 * (global.imageRegistry); the database is one of its own on the sandbox's PostgreSQL; Dapr is the
 * control plane the sandbox installed from Dapr's chart, which install-dapr.sh finds healthy.
 * The validation Pod runs for real: `helm test` starts it on the node, where it reaches the
 * services by their Service names, and its verdicts come back through `--logs`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unpackBundle } from '../../suites/lib/report/bundle.js';
import { REPO_ROOT, run, type CommandResult } from '../support/helm.js';
import { ensureSandbox, kubectl, runTool, sandboxRegistry, stackDatabase, toolPath, uniqueName } from '../support/sandbox.js';

/** Bounds, as the scripts are given them, plus a margin for the process. */
const DEPLOY_TIMEOUT_MS = 10 * 60_000;
const VALIDATE_TIMEOUT_MS = 5 * 60_000;
const ROLLBACK_TIMEOUT_MS = 6 * 60_000;
const QUICK_TIMEOUT_MS = 60_000;
const CLEANUP_TIMEOUT_MS = 5 * 60_000;
const CONTEXT = 'todo-sandbox';
/** The validation Pod's own bound (its activeDeadlineSeconds is 900). */
const HELM_TEST_TIMEOUT_MS = 16 * 60_000;
const REGISTRY = `global.imageRegistry=${sandboxRegistry}`;

interface HistoryEntry {
  revision: number;
  status: string;
  description: string;
}

describe('deployment scripts on the sandbox', () => {
  const namespace = uniqueName('scripts');
  const authSecret = randomBytes(32).toString('hex');
  let databaseUrl = '';
  let database: ReturnType<typeof stackDatabase> | undefined;
  let kubeconfig = '';
  let workDir = '';
  let deployed = false;
  const outputs: string[] = [];

  const scriptEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    ...process.env,
    NO_COLOR: '1',
    KUBECONFIG: kubeconfig,
    KUBECTL: toolPath('kubectl'),
    HELM: toolPath('helm'),
    ...extra,
  });

  const script = async (name: string, args: string[], timeoutMs: number, extra?: NodeJS.ProcessEnv): Promise<CommandResult> => {
    const result = await run('bash', [join(REPO_ROOT, 'scripts', name), ...args], { env: scriptEnv(extra), timeoutMs });
    outputs.push(result.stdout, result.stderr);
    return result;
  };

  const secretEnv = () => ({ DATABASE_URL: databaseUrl, BETTER_AUTH_SECRET: authSecret });
  const target = () => ['--kubeconfig', kubeconfig, '--context', CONTEXT, '--namespace', namespace];

  const history = async (): Promise<HistoryEntry[]> => {
    const { stdout } = await runTool('helm', ['history', 'todo-app', '-n', namespace, '-o', 'json']);
    return JSON.parse(stdout) as HistoryEntry[];
  };

  const expectOk = (result: CommandResult, what: string) => {
    expect(result.code, `${what} exited ${result.code}\n--- stdout ---\n${result.stdout.slice(-6000)}\n--- stderr ---\n${result.stderr.slice(-4000)}`).toBe(0);
  };

  beforeAll(() => {
    kubeconfig = ensureSandbox().kubeconfig;
    database = stackDatabase(namespace);
    databaseUrl = database.url;
    workDir = mkdtempSync(join(tmpdir(), 'scripts-sandbox-'));
  }, 30 * 60_000);

  afterAll(async () => {
    if (kubeconfig) {
      if (deployed) {
        await runTool('helm', ['uninstall', 'todo-app', '-n', namespace, '--wait', '--timeout', '3m'], CLEANUP_TIMEOUT_MS).catch(() => undefined);
      }
      await kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found'], CLEANUP_TIMEOUT_MS).catch(() => undefined);
    }
    database?.drop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  }, CLEANUP_TIMEOUT_MS * 2);

  it('deploy-to-cloud.sh refuses, before any change, a target not named with --context, a prod environment, a context that is not the current one', async () => {
    const result = await script('deploy-to-cloud.sh', ['--kubeconfig', kubeconfig, '--namespace', namespace], QUICK_TIMEOUT_MS, secretEnv());
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/refusing to deploy .*no --context was given .*re-run with --yes/);
    const prod = await script('deploy-to-cloud.sh', [...target(), '--env', 'prod'], QUICK_TIMEOUT_MS, secretEnv());
    expect(prod.code).toBe(4);
    expect(prod.stderr).toMatch(/refusing to deploy .*: --env prod; check the target and re-run with --yes/);
    // The same cluster under a second context that is the current one: naming the other
    // context is a mismatch.
    const { stdout: minified } = await kubectl(['config', 'view', '--raw', '--minify', '--flatten', '-o', 'json']);
    const config = JSON.parse(minified) as { contexts: { name: string; context: Record<string, string> }[]; 'current-context': string };
    const first = config.contexts[0];
    if (!first) throw new Error('the sandbox kubeconfig has no context');
    config.contexts.push({ name: 'other', context: { ...first.context } });
    config['current-context'] = 'other';
    const twoContexts = join(workDir, 'two-contexts.kubeconfig');
    writeFileSync(twoContexts, JSON.stringify(config), { mode: 0o600 });
    const mismatch = await script('deploy-to-cloud.sh', ['--kubeconfig', twoContexts, '--context', CONTEXT, '--namespace', namespace], QUICK_TIMEOUT_MS, secretEnv());
    expect(mismatch.code).toBe(4);
    expect(mismatch.stderr).toMatch(/context 'todo-sandbox' is not the kubeconfig's current context \('other'\)/);
    const namespaces = await kubectl(['get', 'namespace', namespace, '--ignore-not-found', '-o', 'name']);
    expect(namespaces.stdout.trim()).toBe('');
  }, QUICK_TIMEOUT_MS * 3);

  it('create-secrets.sh applies the Secret twice (created, then unchanged) and never prints a value', async () => {
    const args = ['--kubeconfig', kubeconfig, '--namespace', namespace];
    const first = await script('create-secrets.sh', args, QUICK_TIMEOUT_MS, secretEnv());
    expectOk(first, 'create-secrets (first)');
    expect(first.stdout).toMatch(/secret\/app-secrets created; keys: DATABASE_URL BETTER_AUTH_SECRET JWT_SECRET/);
    const second = await script('create-secrets.sh', args, QUICK_TIMEOUT_MS, secretEnv());
    expectOk(second, 'create-secrets (second)');
    expect(second.stdout).toMatch(/secret\/app-secrets unchanged/);
    for (const output of [first, second]) {
      expect(output.stdout + output.stderr).not.toContain(authSecret);
      expect(output.stdout + output.stderr).not.toContain(databaseUrl);
    }
    const { stdout } = await kubectl(['get', 'secret', 'app-secrets', '-n', namespace, '-o', 'jsonpath={.data.JWT_SECRET}']);
    expect(Buffer.from(stdout, 'base64').toString('utf8')).toBe(authSecret);
  }, QUICK_TIMEOUT_MS * 2);

  it('deploy-to-cloud.sh brings the stack up step by step, each with its checkpoint and duration, and validates it', async () => {
    const result = await script(
      'deploy-to-cloud.sh',
      [...target(), '--set', 'validation.enabled=true', '--set', REGISTRY, '--', '--only', 'pods,secrets'],
      DEPLOY_TIMEOUT_MS,
      secretEnv(),
    );
    deployed = true;
    expectOk(result, 'deploy-to-cloud');
    for (let step = 1; step <= 7; step += 1) expect(result.stdout).toMatch(new RegExp(`checkpoint ${step} passed \\(\\d+`));
    expect(result.stdout).toMatch(/Dapr v?1\.16\.\d+ is already installed in dapr-system and healthy; nothing to do/);
    expect(result.stdout).toMatch(/statefulset\.apps\/kafka: 1\/1 ready/);
    expect(result.stdout).toMatch(/Dapr Components: .*kafka-pubsub.*statestore/);
    expect(result.stdout).toMatch(/daprd injected in every pod of backend recurring-task-service notification-service/);
    expect(result.stdout).toMatch(/^ {2}6 frontend +(\d+m )?\d+ ?s {2}ok$/m);
    expect(result.stdout).toMatch(/^ {2}total +(\d+m )?\d+ ?s$/m);
    expect(result.stdout).toMatch(/validation passed/);
    const entries = await history();
    expect(entries.map((entry) => entry.status)).toEqual(['superseded', 'superseded', 'superseded', 'deployed']);
    expect(entries.slice(0, 3).every((entry) => entry.description.startsWith('partial:'))).toBe(true);
    expect(entries[3]?.description).toBe('deploy-to-cloud complete (env dev)');
  }, DEPLOY_TIMEOUT_MS);

  it('validate-deployment.sh passes every check and prints the report path', async () => {
    const reportDir = join(workDir, 'reports');
    const result = await script('validate-deployment.sh', [...target(), '--report-dir', reportDir], VALIDATE_TIMEOUT_MS);
    expectOk(result, 'validate-deployment');
    const match = /report: (\S+) \(junit: (\S+)\)/.exec(result.stdout);
    expect(match, result.stdout).not.toBeNull();
    expect(existsSync(join(match?.[1] ?? '', 'report.json'))).toBe(true);
    expect(existsSync(match?.[2] ?? '')).toBe(true);
  }, VALIDATE_TIMEOUT_MS);

  it('validate-deployment.sh fails the gate on a skipped check unless told otherwise', async () => {
    // No browser: frontend-load skips, which the gate does not accept by default.
    const noBrowser = { TODO_SUITE_CHROMIUM: '/nonexistent/chromium' };
    const args = [...target(), '--report-dir', join(workDir, 'strict-reports')];
    const strict = await script('validate-deployment.sh', [...args, '--', '--only', 'frontend-load'], VALIDATE_TIMEOUT_MS, noBrowser);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/FAIL frontend-load .*skipped, which --strict does not allow \(--allow-skip frontend-load to allow it\): Chromium at \/nonexistent\/chromium cannot start/);
    const allowed = await script('validate-deployment.sh', [...args, '--', '--only', 'frontend-load', '--allow-skip', 'frontend-load'], VALIDATE_TIMEOUT_MS, noBrowser);
    expectOk(allowed, 'validate-deployment with the skip allowed');
    expect(allowed.stdout).toMatch(/SKIP frontend-load /);
    const lenient = await script('validate-deployment.sh', [...args, '--no-strict', '--', '--only', 'frontend-load'], VALIDATE_TIMEOUT_MS, noBrowser);
    expectOk(lenient, 'validate-deployment --no-strict');
  }, VALIDATE_TIMEOUT_MS * 3);

  it("validate-deployment.sh passes the suite's exit code through (release missing: 7)", async () => {
    const result = await script('validate-deployment.sh', [...target(), '--release', 'no-such-release', '--report-dir', join(workDir, 'missing-release-reports')], QUICK_TIMEOUT_MS);
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(/Helm release "no-such-release" not found/);
  }, QUICK_TIMEOUT_MS);

  it('the validation ServiceAccount may do exactly what the suite needs', async () => {
    const as = `--as=system:serviceaccount:${namespace}:todo-validation`;
    const can = async (...args: string[]) => (await run(toolPath('kubectl'), ['auth', 'can-i', ...args, as], { env: scriptEnv() })).stdout.trim();
    const inNamespace = ['-n', namespace];
    for (const [verb, resource] of [
      ['get', 'pods'], ['list', 'pods'], ['get', 'services'], ['list', 'services'], ['get', 'secrets'], ['list', 'secrets'],
      ['list', 'events'], ['list', 'deployments.apps'], ['list', 'statefulsets.apps'], ['list', 'replicasets.apps'],
      ['list', 'jobs.batch'], ['list', 'ingresses.networking.k8s.io'],
    ] as const) {
      expect(await can(verb, resource, ...inNamespace), `${verb} ${resource}`).toBe('yes');
    }
    expect(await can('get', 'pods', '--subresource=log', ...inNamespace)).toBe('yes');
    expect(await can('get', 'namespaces')).toBe('yes');
    expect(await can('list', 'nodes')).toBe('yes');
    expect(await can('list', 'mutatingwebhookconfigurations.admissionregistration.k8s.io')).toBe('yes');
    expect(await can('list', 'deployments.apps', '-n', 'dapr-system')).toBe('yes');
    expect(await can('list', 'statefulsets.apps', '-n', 'dapr-system')).toBe('yes');
    for (const denied of [
      ['create', 'pods'], ['delete', 'pods'], ['create', 'pods', '--subresource=portforward'], ['create', 'pods', '--subresource=exec'],
      ['update', 'secrets'], ['patch', 'deployments.apps'], ['list', 'configmaps'], ['create', 'rolebindings.rbac.authorization.k8s.io'],
    ]) {
      expect(await can(...denied, ...inNamespace), denied.join(' ')).toBe('no');
    }
    expect(await can('list', 'secrets', '-n', 'default')).toBe('no');
    expect(await can('list', 'pods', '-n', 'kube-system')).toBe('no');
    expect(await can('list', 'secrets', '-n', 'dapr-system')).toBe('no');
    expect(await can('list', 'namespaces')).toBe('no');
    expect(await can('get', 'nodes')).toBe('no');
  }, QUICK_TIMEOUT_MS * 2);

  it('the validation Pod runs the whole suite inside the cluster, and helm test --logs brings its verdicts back', async () => {
    // Only the validation Pod: the charts' own test pods are deleted once they pass, and
    // `--logs` would not find them.
    const result = await run(toolPath('helm'), ['test', 'todo-app', '-n', namespace, '--filter', 'name=todo-validation', '--logs', '--timeout', '15m'], { env: scriptEnv(), timeoutMs: HELM_TEST_TIMEOUT_MS });
    outputs.push(result.stdout, result.stderr);
    expectOk(result, 'helm test');
    expect(result.stdout).toMatch(/TEST SUITE:\s+todo-validation[\s\S]*?Phase:\s+Succeeded/);
    // The Pod's log: the suite's verdicts, in-cluster access (Service names, pod IPs).
    const log = result.stdout.slice(result.stdout.indexOf('POD LOGS: todo-validation'));
    for (const check of ['pods-ready', 'dapr-control-plane', 'kafka-topics', 'recurring-next-task', 'api-crud-latency', 'frontend-load']) {
      expect(log, check).toMatch(new RegExp(`PASS ${check} `));
    }
    // The summary, printed after the verdicts since the Pod's report directory goes with it.
    // The one skip: the Pod may read the policies but not make network-policy's probe namespace.
    expect(log).toMatch(/## Todo stack validation: .*all \d+ checks passed \(1 skipped\)/);
    expect(log).toMatch(/access in-cluster\./);
    expect(log).not.toMatch(/^FAIL /m);
    expect(log.match(/^SKIP .*$/gm)).toEqual([expect.stringMatching(/^SKIP network-policy .*the policies are in place, but the probe cannot run: creating a namespace is forbidden to this identity/)]);
    // Its reason names the refused permission, in the verdict line and the summary's table row.
    expect(log.split('\n').filter((line) => !line.includes('network-policy')).join('\n')).not.toMatch(/forbid/i);
    // The whole report directory comes back through the log too.
    const unpacked = await unpackBundle(log, join(workDir, 'pod-reports'));
    expect(unpacked, 'a report bundle in the log').toBeDefined();
    const report = JSON.parse(readFileSync(join(unpacked ?? '', 'report.json'), 'utf8')) as { exitCode: number; target: { access: string } };
    expect([report.exitCode, report.target.access]).toEqual([0, 'in-cluster']);
    expect(existsSync(join(unpacked ?? '', 'junit.xml'))).toBe(true);
  }, HELM_TEST_TIMEOUT_MS);

  it('deploy-to-cloud.sh run again upgrades in place with one revision', async () => {
    const before = (await history()).length;
    const result = await script('deploy-to-cloud.sh', [...target(), '--set', 'validation.enabled=true', '--set', REGISTRY, '--skip-validation'], DEPLOY_TIMEOUT_MS);
    expectOk(result, 'deploy-to-cloud (again)');
    expect(result.stdout).toMatch(/Secret app-secrets exists; keeping it/);
    expect(result.stdout).toMatch(/nothing new to enable: already part of the release/);
    const entries = await history();
    expect(entries).toHaveLength(before + 1);
    expect(entries.at(-1)?.description).toBe('deploy-to-cloud complete (env dev)');
  }, DEPLOY_TIMEOUT_MS);

  it('deploy-to-cloud.sh gives up early on a pod that can never start, instead of waiting out --timeout, and the release is marked failed', async () => {
    const started = Date.now();
    const result = await script(
      'deploy-to-cloud.sh',
      [...target(), '--set', 'validation.enabled=true', '--set', REGISTRY, '--set', 'backend.image.tag=no-such-tag', '--timeout', '10m', '--skip-validation'],
      DEPLOY_TIMEOUT_MS,
    );
    const seconds = (Date.now() - started) / 1000;
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(seconds).toBeLessThan(240);
    expect(result.stderr).toMatch(/stopped waiting: pods that cannot start \(the release is marked failed\)/);
    expect(result.stderr).toMatch(/pod backend-[a-z0-9]+-[a-z0-9]+ container backend: (ErrImagePull|ImagePullBackOff)/);
    expect((await history()).at(-1)?.status).toBe('failed');
  }, DEPLOY_TIMEOUT_MS);

  it('rollback.sh rolls back to the previous complete revision, validates and reports the time', async () => {
    const before = await history();
    const previous = before.at(-2)?.revision;
    const result = await script('rollback.sh', [...target(), '--', '--only', 'pods,dapr,health'], ROLLBACK_TIMEOUT_MS);
    expectOk(result, 'rollback');
    expect(result.stdout).toMatch(/REVISION\s+UPDATED\s+STATUS/);
    expect(result.stdout).toMatch(new RegExp(`rolled back release todo-app to revision ${previous} in \\d+ s: now revision ${before.length + 1}, deployed`));
    expect(result.stdout).toMatch(/validation passed/);
    expect(result.stdout).toMatch(/rollback and validation took \d+ s in total/);
    expect((await history()).at(-1)?.description).toBe(`Rollback to ${previous}`);
  }, ROLLBACK_TIMEOUT_MS);

  it('rollback.sh refuses a release stuck in pending-upgrade and says what to do', async () => {
    // Mark the newest revision pending-upgrade, as an interrupted `helm upgrade` leaves it.
    const entries = await history();
    const revision = entries.at(-1)?.revision ?? 0;
    const name = `sh.helm.release.v1.todo-app.v${revision}`;
    const { stdout } = await kubectl(['get', 'secret', name, '-n', namespace, '-o', 'jsonpath={.data.release}']);
    const encode = (status: string) => {
      const release = JSON.parse(gunzipSync(Buffer.from(Buffer.from(stdout, 'base64').toString('utf8'), 'base64')).toString('utf8')) as { info: { status: string } };
      release.info.status = status;
      return Buffer.from(gzipSync(Buffer.from(JSON.stringify(release))).toString('base64')).toString('base64');
    };
    const patch = (status: string) =>
      kubectl(['patch', 'secret', name, '-n', namespace, '--type', 'merge', '-p', JSON.stringify({ data: { release: encode(status) }, metadata: { labels: { status } } })]);
    await patch('pending-upgrade');
    try {
      const result = await script('rollback.sh', [...target(), '--skip-validation'], QUICK_TIMEOUT_MS);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`release todo-app is pending-upgrade at revision ${revision}: another Helm operation is running or was interrupted`));
      expect(result.stderr).toMatch(/Release stuck in pending/);
      const deploy = await script('deploy-to-cloud.sh', [...target(), '--skip-validation'], QUICK_TIMEOUT_MS);
      expect(deploy.code).toBe(1);
      expect(deploy.stderr).toMatch(/is pending-upgrade at revision/);
    } finally {
      await patch('deployed');
    }
  }, QUICK_TIMEOUT_MS * 3);

  it('no script printed the auth secret or the database URL', () => {
    const all = outputs.join('\n');
    expect(all).not.toContain(authSecret);
    expect(all).not.toContain(databaseUrl);
  });
});
