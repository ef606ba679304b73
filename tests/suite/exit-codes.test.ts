// Bad input gives one clear line and a distinct exit code, never a stack trace. A tiny
// fake API server on 127.0.0.1 answers with the status codes a real one would, so the
// classification by status code (not message text) is what is tested.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeKubeconfig } from '../support/kubeconfig.js';

const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
let dir: string;
let server: Server;
let apiPort: number;

function status(code: number, reason: string) {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, code, message: `${reason} (fake)` });
}


function run(args: string[], command = 'suites/cli.ts'): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((done) => {
    const reportDir = args.includes('--report-dir') ? [] : ['--report-dir', join(dir, 'reports')];
    const child = spawn(tsx, [join(root, command), ...args, ...reportDir], { env: { ...process.env, KUBECONFIG: '', TODO_SUITE_KUBECONFIG: '', GITHUB_STEP_SUMMARY: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => done({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'suite-exit-'));
  server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    const send = (code: number, body: string) => {
      response.writeHead(code, { 'content-type': 'application/json' });
      response.end(body);
    };
    const path = url.pathname;
    if (path === '/version') return send(200, JSON.stringify({ gitVersion: 'v1.34.4', major: '1', minor: '34' }));
    // A cluster that never answers for this namespace: the run stays in its preflight.
    if (path === '/api/v1/namespaces/hanging') return;
    const ns = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(path);
    if (ns) return ns[1] === 'missing' ? send(404, status(404, 'NotFound')) : send(200, JSON.stringify({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: ns[1] } }));
    if (path === '/api/v1/namespaces/locked/pods') return send(403, status(403, 'Forbidden'));
    if (/\/(pods|services|events|secrets|configmaps|deployments)$/.test(path)) return send(200, JSON.stringify({ kind: 'List', apiVersion: 'v1', metadata: {}, items: [] }));
    return send(404, status(404, 'NotFound'));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  apiPort = (server.address() as AddressInfo).port;
  await writeFile(join(dir, 'fake.yaml'), fakeKubeconfig(`http://127.0.0.1:${apiPort}`));
  // A port that was just free and is closed now: nothing listens there.
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', () => done()));
  const closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((done) => probe.close(() => done()));
  await writeFile(join(dir, 'closed.yaml'), fakeKubeconfig(`https://127.0.0.1:${closedPort}`));
});

afterAll(async () => {
  await new Promise<void>((done) => server.close(() => done()));
  await rm(dir, { recursive: true, force: true });
});

function expectOneLine(stderr: string, pattern: RegExp) {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe.concurrent('exit codes for bad input', () => {
  it('unreachable cluster: a kubeconfig pointing at a closed port on 127.0.0.1', async () => {
    const result = await run(['--kubeconfig', join(dir, 'closed.yaml')]);
    expect(result.code).toBe(5);
    expectOneLine(result.stderr, /^error: cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ for context "ctx" \(ECONNREFUSED\)$/);
  });

  it('missing kubeconfig', async () => {
    const result = await run(['--kubeconfig', join(dir, 'nope.yaml')]);
    expect(result.code).toBe(3);
    expectOneLine(result.stderr, /^error: kubeconfig .*nope\.yaml does not exist/);
  });

  it('wrong context', async () => {
    const result = await run(['--kubeconfig', join(dir, 'fake.yaml'), '--context', 'elsewhere']);
    expect(result.code).toBe(4);
    expectOneLine(result.stderr, /^error: context "elsewhere" is not in kubeconfig .* \(contexts: ctx\)$/);
  });

  it('missing namespace (404 on the namespace)', async () => {
    const result = await run(['--kubeconfig', join(dir, 'fake.yaml'), '-n', 'missing']);
    expect(result.code).toBe(6);
    expectOneLine(result.stderr, /^error: namespace "missing" does not exist/);
  });

  it('RBAC forbidden for a needed verb (403 on list pods)', async () => {
    const result = await run(['--kubeconfig', join(dir, 'fake.yaml'), '-n', 'locked']);
    expect(result.code).toBe(8);
    expectOneLine(result.stderr, /^error: RBAC forbids list pods in namespace locked \(403/);
  });

  it('missing Helm release', async () => {
    const result = await run(['--kubeconfig', join(dir, 'fake.yaml'), '-n', 'empty', '--release', 'ghost']);
    expect(result.code).toBe(7);
    expectOneLine(result.stderr, /^error: Helm release "ghost" not found in namespace "empty"/);
  });

  it('bad usage, and --help', async () => {
    const bad = await run(['--no-such-flag']);
    expect(bad.code).toBe(2);
    expectOneLine(bad.stderr, /^error: Unknown option '--no-such-flag'/);
    // As the drills and the load test: a negative number reaches the value's own check.
    const negative = await run(['--retries', '-1']);
    expect(negative.code).toBe(2);
    expectOneLine(negative.stderr, /^error: --retries must be a whole number from 0 to 5, got "-1"$/);
    // A run id that would climb out of the report directory is refused before anything is written.
    const escape = await run(['--run-id', '../x']);
    expect(escape.code).toBe(2);
    expectOneLine(escape.stderr, /^error: --run-id must be one directory name under the report directory/);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes (the same for npm test');
  });
}, 60_000);

/** The run's report as the CI reads it: where latest points, and the junit.xml there. */
async function latestRun(reportDir: string): Promise<{ runId: string; junit: string; json: { exitCode: number; results: { id: string; reason: string }[] } }> {
  const runId = await readlink(join(reportDir, 'latest'));
  const junit = await readFile(join(reportDir, runId, 'junit.xml'), 'utf8');
  const json = JSON.parse(await readFile(join(reportDir, runId, 'report.json'), 'utf8')) as { exitCode: number; results: { id: string; reason: string }[] };
  return { runId, junit, json };
}

describe('a report on every exit once the run has started', () => {
  it('bad usage found after the flags were read (an unknown check) leaves a failing report, and latest points at it', async () => {
    const reports = join(dir, 'late-usage');
    const unknown = await run(['--kubeconfig', join(dir, 'fake.yaml'), '--report-dir', reports, '--run-id', 'unknown-check', '--checks', join(dir, 'no-such-dir')]);
    expect(unknown.code).toBe(2);
    const latest = await latestRun(reports);
    expect(latest.runId).toBe('unknown-check');
    expect(latest.json.exitCode).toBe(2);
    expect(latest.json.results[0]?.reason).toContain('no-such-dir');
    expect(latest.junit).toMatch(/<failure /);
  });

  it('points latest at the run as soon as it starts; killed, the run leaves a report that says it did not finish', async () => {
    const reports = join(dir, 'killed');
    // Node itself, not the tsx wrapper, so that the kill reaches the run.
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'suites/cli.ts'), '--kubeconfig', join(dir, 'fake.yaml'), '-n', 'hanging', '--report-dir', reports, '--run-id', 'killed-run'], { cwd: root, env: { ...process.env, GITHUB_STEP_SUMMARY: '' } });
    const closed = new Promise((done) => child.on('close', done));
    // The run waits up to 15 s for the namespace; it is killed as soon as latest points at it.
    let pointed = '';
    for (let i = 0; i < 600 && !pointed; i += 1) {
      pointed = await readlink(join(reports, 'latest')).catch(() => '');
      if (!pointed) await new Promise((done) => setTimeout(done, 50));
    }
    child.kill('SIGKILL');
    await closed;
    expect(pointed).toBe('killed-run');
    const after = await latestRun(reports);
    expect(after.runId).toBe('killed-run');
    expect(after.json.exitCode).toBe(9);
    expect(after.json.results.map((r) => r.id)).toEqual(['run-finished']);
    expect(after.json.results[0]?.reason).toMatch(/has not written its verdict: if it is not running any more, it was stopped or crashed/);
  });

  it('--reporter json prints the report of a run that could not validate', async () => {
    const result = await run(['--kubeconfig', join(dir, 'fake.yaml'), '-n', 'missing', '--reporter', 'json', '--report-dir', join(dir, 'json-run')]);
    expect(result.code).toBe(6);
    const report = JSON.parse(result.stdout) as { exitCode: number; results: { id: string; verdict: string; reason: string }[] };
    expect(report.exitCode).toBe(6);
    expect(report.results).toEqual([expect.objectContaining({ id: 'preflight', verdict: 'fail', reason: expect.stringContaining('namespace "missing" does not exist') })]);
    expectOneLine(result.stderr.split('\n').filter((line) => line.startsWith('error:')).join('\n'), /^error: namespace "missing" does not exist/);
  });
}, 60_000);

describe('drills and load refuse bad input before anything is seeded', () => {
  it('a negative user count is one line and bad usage', async () => {
    const result = await run(['--users', '-5'], 'suites/load/cli.ts');
    expect(result.code).toBe(2);
    expectOneLine(result.stderr, /^error: --users/);
  });

  it('an unknown candidate or a missing values file or chart is refused before the cluster is touched', async () => {
    // The kubeconfig points at a closed port: reaching for the cluster would be exit 5.
    for (const args of [['--candidate', 'bogus'], ['--values', join(dir, 'no-such-values.yaml')], ['--chart', join(dir, 'no-chart')]]) {
      const result = await run(['rollback', '--kubeconfig', join(dir, 'closed.yaml'), ...args], 'suites/drills/cli.ts');
      expect(result.code, args.join(' ')).toBe(2);
      expectOneLine(result.stderr, new RegExp(`^error: ${args[0]}`));
    }
  });
}, 60_000);
