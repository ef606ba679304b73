// Bad input gives one clear line and a distinct exit code, never a stack trace. A tiny
// fake API server on 127.0.0.1 answers with the status codes a real one would, so the
// classification by status code (not message text) is what is tested.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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


function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(tsx, [join(root, 'suites/cli.ts'), '--report-dir', join(dir, 'reports'), ...args], { env: { ...process.env, KUBECONFIG: '', TODO_SUITE_KUBECONFIG: '' } });
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
