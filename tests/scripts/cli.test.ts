/**
 * The deployment scripts' command lines, offline: `--help`, one clear line and exit 2 for a
 * bad flag, shellcheck clean, and the early one-line failures for a missing kubeconfig, an
 * unknown context and an unreachable cluster (a kubeconfig pointing at a closed port).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodesHelp } from '../../suites/lib/config.js';
import { REPO_ROOT, run } from '../support/helm.js';
import { toolBin } from '../support/sandbox.js';

const SCRIPTS = ['deploy-to-cloud.sh', 'install-dapr.sh', 'create-secrets.sh', 'validate-deployment.sh', 'rollback.sh'];
/** Scripts that talk to a cluster and share the early checks of scripts/lib/kube.sh. */
const CLUSTER_SCRIPTS = ['deploy-to-cloud.sh', 'install-dapr.sh', 'validate-deployment.sh', 'rollback.sh'];
const SCRIPT_TIMEOUT_MS = 30_000;

// validate-deployment.sh leaves a report on every exit: here, never in the repository's reports/.
const reportDir = mkdtempSync(join(tmpdir(), 'scripts-cli-reports-'));
afterAll(() => rmSync(reportDir, { recursive: true, force: true }));

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  NO_COLOR: '1',
  TODO_SUITE_REPORT_DIR: reportDir,
  KUBECTL: join(toolBin, 'kubectl'),
  HELM: join(toolBin, 'helm'),
  ...extra,
});

const script = (name: string, args: string[], extra?: NodeJS.ProcessEnv) =>
  run('bash', [join(REPO_ROOT, 'scripts', name), ...args], { env: env(extra), timeoutMs: SCRIPT_TIMEOUT_MS });

/** A port nothing listens on: bound, then released. */
function closedPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

describe.each(SCRIPTS)('scripts/%s command line', (name) => {
  it('prints its usage with --help and exits 0', async () => {
    const result = await script(name, ['--help']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Usage: scripts\//);
    expect(result.stderr).toBe('');
  });

  it("prints one table of exit codes, the suite's word for word", async () => {
    const result = await script(name, ['--help']);
    expect(result.stdout.match(/exit codes/gi)).toHaveLength(1);
    expect(result.stdout).toContain(exitCodesHelp);
  });

  it('rejects an unknown flag with one line on stderr and exit 2', async () => {
    const result = await script(name, ['--no-such-flag']);
    expect(result.code).toBe(2);
    // The gate names the report it left saying why; the others print nothing else.
    expect(result.stdout).toMatch(name === 'validate-deployment.sh' ? /^\S+ report: \S+ \(junit: \S+\)\n$/ : /^$/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/unknown argument '--no-such-flag'/);
  });

  it('rejects a flag that lacks its value with exit 2', async () => {
    const result = await script(name, ['--namespace']);
    if (name === 'install-dapr.sh') {
      // install-dapr.sh has no --namespace (the control plane's is --dapr-namespace).
      expect(result.code).toBe(2);
      return;
    }
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--namespace needs a value/);
  });
});

describe('scripts share the early checks', () => {
  let dir = '';
  let unreachable = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scripts-cli-'));
    unreachable = join(dir, 'unreachable.kubeconfig');
    const port = await closedPort();
    writeFileSync(
      unreachable,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: gone, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]`,
        'users: [{name: nobody, user: {token: not-a-token}}]',
        'contexts: [{name: gone, context: {cluster: gone, user: nobody}}]',
        'current-context: gone',
      ].join('\n'),
    );
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(CLUSTER_SCRIPTS)('%s: a missing kubeconfig is one line, exit 3', async (name) => {
    const result = await script(name, ['--kubeconfig', join(dir, 'absent')]);
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/kubeconfig .*absent does not exist/);
  });

  it.each(CLUSTER_SCRIPTS)('%s: an unknown context is one line naming the known ones, exit 4', async (name) => {
    const result = await script(name, ['--kubeconfig', unreachable, '--context', 'elsewhere']);
    expect(result.code, result.stderr).toBe(4);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/context "elsewhere" is not in kubeconfig \S+ \(contexts: gone\)/);
  });

  it.each(CLUSTER_SCRIPTS)('%s: an unreachable cluster is one line, exit 5', async (name) => {
    const result = await script(name, ['--kubeconfig', unreachable, '--context', 'gone']);
    expect(result.code, result.stderr).toBe(5);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ for context "gone"/);
  });

  it('names a missing tool', async () => {
    const result = await script('rollback.sh', ['--kubeconfig', unreachable], { KUBECTL: join(dir, 'no-kubectl') });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/kubectl not found at KUBECTL=/);
  });

  it('deploy-to-cloud.sh refuses a bad --env before touching a cluster', async () => {
    const result = await script('deploy-to-cloud.sh', ['--env', 'qa']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--env must be dev, staging or prod, not 'qa'/);
  });

  it('every shell script under scripts/ is executable in git (mode 100755), so that a fresh clone runs it', async () => {
    const result = await run('git', ['ls-files', '-s', '--', 'scripts'], { cwd: REPO_ROOT, timeoutMs: SCRIPT_TIMEOUT_MS });
    expect(result.code, result.stderr).toBe(0);
    const entries = result.stdout
      .split('\n')
      .map((line) => /^(\d+) \S+ \d+\t(.+)$/.exec(line))
      .filter((match): match is RegExpExecArray => match !== null && (match[2] ?? '').endsWith('.sh'));
    expect(entries.map((match) => match[2])).toEqual(expect.arrayContaining(SCRIPTS.map((name) => `scripts/${name}`)));
    expect(entries.filter((match) => match[1] !== '100755').map((match) => `${match[2]} (${match[1]})`)).toEqual([]);
  });

  it('every script under scripts/ is shellcheck clean', async () => {
    const files = ['scripts/lib/kube.sh', 'scripts/lib/log.sh', ...SCRIPTS.map((name) => `scripts/${name}`)];
    const result = await run('shellcheck', ['-x', ...files], { timeoutMs: SCRIPT_TIMEOUT_MS });
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });
});
