// One error contract for every entry point: the same fault gives the same exit code and the
// same one-line message from `npm test`, the drills, the load test and the scripts, before
// anything is changed or seeded. A fake API server on 127.0.0.1 answers as a real one would
// (discovery included, for kubectl and helm); another server answers 404 to everything.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeKubeconfig } from '../support/kubeconfig.js';

const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
let dir: string;
const servers: Server[] = [];

interface EntryPoint {
  name: string;
  command: (args: string[]) => string[];
  /** Whether the entry point requires the namespace to exist (the others create it). */
  needsNamespace: boolean;
  /** Whether it requires the Helm release. */
  needsRelease: boolean;
}

const suite = (script: string, ...first: string[]) => (args: string[]) => [tsx, join(root, script), ...first, '--report-dir', join(dir, 'reports'), ...args];
const bash = (script: string, ...first: string[]) => (args: string[]) => ['bash', join(root, script), ...first, ...args];

const entryPoints: EntryPoint[] = [
  { name: 'npm test', command: suite('suites/cli.ts'), needsNamespace: true, needsRelease: true },
  { name: 'drill:rollback', command: suite('suites/drills/cli.ts', 'rollback'), needsNamespace: true, needsRelease: true },
  { name: 'load', command: suite('suites/load/cli.ts'), needsNamespace: true, needsRelease: false },
  // Its reports go where the test says, never into the repository's reports/.
  { name: 'validate-deployment.sh', command: (args) => ['bash', join(root, 'scripts/validate-deployment.sh'), '--report-dir', join(dir, 'reports'), ...args], needsNamespace: true, needsRelease: true },
  { name: 'rollback.sh', command: bash('scripts/rollback.sh', '--yes'), needsNamespace: true, needsRelease: true },
  { name: 'create-secrets.sh', command: bash('scripts/create-secrets.sh'), needsNamespace: false, needsRelease: false },
  { name: 'deploy-to-cloud.sh', command: bash('scripts/deploy-to-cloud.sh', '--dry-run', '--yes'), needsNamespace: false, needsRelease: false },
  { name: 'install-dapr.sh', command: bash('scripts/install-dapr.sh', '--dry-run'), needsNamespace: false, needsRelease: false },
];

function run(argv: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string; seconds: number }> {
  const [command = '', ...args] = argv;
  const started = Date.now();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KUBECONFIG: '',
    TODO_SUITE_KUBECONFIG: '',
    // The sandbox's helm, found through HOME unless named, stays found when a fault moves HOME.
    TODO_SANDBOX_HOME: process.env.TODO_SANDBOX_HOME ?? join(homedir(), '.cache/todo-sandbox'),
    // create-secrets.sh and deploy-to-cloud.sh read the secrets from the environment.
    DATABASE_URL: 'postgresql://todo:contract-test-password@db.invalid/todo',
    BETTER_AUTH_SECRET: 'contract-test-secret-contract-test-secret',
    ...extraEnv,
  };
  // Outside a pod, whatever runs the tests: in-cluster credentials would change the answers.
  delete env.KUBERNETES_SERVICE_HOST;
  return new Promise((done) => {
    const child = spawn(command, args, { env, cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => done({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 }));
  });
}


const status = (code: number, reason: string) => JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, code, message: `${reason} (fake)` });
const list = (kind: string) => JSON.stringify({ kind, apiVersion: 'v1', metadata: {}, items: [] });
const resources = ['namespaces', 'pods', 'services', 'events', 'secrets', 'configmaps'].map((name) => ({
  name,
  singularName: name.replace(/s$/, ''),
  namespaced: name !== 'namespaces',
  kind: name === 'namespaces' ? 'Namespace' : name[0]?.toUpperCase() + name.slice(1, -1),
  verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'],
}));

async function listen(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  return (server.address() as AddressInfo).port;
}

// Namespaces: `missing` does not exist; `scoped` is seen only through a namespaced Role (get
// namespace 403, pods readable) and holds no release; `hidden` cannot be read at all.
async function fakeApiServer(): Promise<number> {
  return listen((request, response) => {
    const send = (code: number, body: string) => {
      response.writeHead(code, { 'content-type': 'application/json' });
      response.end(body);
    };
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    if (path === '/version') return send(200, JSON.stringify({ gitVersion: 'v1.34.4', major: '1', minor: '34' }));
    if (path === '/api') return send(200, JSON.stringify({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] }));
    if (path === '/apis') return send(200, JSON.stringify({ kind: 'APIGroupList', apiVersion: 'v1', groups: [] }));
    if (path === '/api/v1') return send(200, JSON.stringify({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'v1', resources }));
    const namespace = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(path)?.[1];
    if (namespace === 'missing') return send(404, status(404, 'NotFound'));
    if (namespace === 'scoped' || namespace === 'hidden') return send(403, status(403, 'Forbidden'));
    if (namespace) return send(200, JSON.stringify({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: namespace } }));
    if (path.startsWith('/api/v1/namespaces/hidden/')) return send(403, status(403, 'Forbidden'));
    const collection = /\/(pods|services|events|secrets|configmaps|deployments|statefulsets)$/.exec(path)?.[1];
    if (collection) return send(200, list(`${collection[0]?.toUpperCase()}${collection.slice(1, -1)}List`));
    return send(404, status(404, 'NotFound'));
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'error-contract-'));
  const api = await fakeApiServer();
  const notKubernetes = await listen((_request, response) => {
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('404 page not found');
  });
  const unauthorized = await listen((_request, response) => {
    response.writeHead(401, { 'content-type': 'application/json' });
    response.end(status(401, 'Unauthorized'));
  });
  // Accepts the connection and never answers.
  const hanging = await listen(() => undefined);
  const closed = await listen(() => undefined);
  await new Promise<void>((done) => servers.pop()?.close(() => done()));
  await writeFile(join(dir, 'fake.yaml'), fakeKubeconfig(`http://127.0.0.1:${api}`));
  await writeFile(join(dir, 'not-kubernetes.yaml'), fakeKubeconfig(`http://127.0.0.1:${notKubernetes}`));
  await writeFile(join(dir, 'closed.yaml'), fakeKubeconfig(`https://127.0.0.1:${closed}`));
  await writeFile(join(dir, 'unauthorized.yaml'), fakeKubeconfig(`http://127.0.0.1:${unauthorized}`));
  await writeFile(join(dir, 'hanging.yaml'), fakeKubeconfig(`http://127.0.0.1:${hanging}`));
  await writeFile(join(dir, 'no-current.yaml'), fakeKubeconfig(`http://127.0.0.1:${api}`).replace(/^current-context: .*$/m, ''));
  await writeFile(join(dir, 'namespaced.yaml'), fakeKubeconfig(`http://127.0.0.1:${api}`).replace('context: {cluster: c, user: u}', 'context: {cluster: c, user: u, namespace: missing}'));
  await writeFile(join(dir, 'empty.yaml'), '');
  await mkdir(join(dir, 'home'));
});

afterAll(async () => {
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((server) => new Promise<void>((done) => server.close(() => done()))));
  await rm(dir, { recursive: true, force: true });
});

interface Fault {
  name: string;
  args: () => string[];
  /** The environment the fault needs, e.g. a KUBECONFIG. */
  env?: () => Record<string, string>;
  code: number;
  message: RegExp;
  applies: (entry: EntryPoint) => boolean;
  /** Every entry point prints the very same line (bad usage names each one's own flags). */
  sameLine?: false;
  /** The answer comes within this many seconds. */
  withinSeconds?: number;
}

const faults: Fault[] = [
  { name: 'bad usage', args: () => ['--no-such-flag'], code: 2, message: /no-such-flag.*see --help/i, applies: () => true, sameLine: false },
  { name: 'missing kubeconfig', args: () => ['--kubeconfig', join(dir, 'nope.yaml')], code: 3, message: /kubeconfig \S+nope\.yaml does not exist \(set --kubeconfig or KUBECONFIG\)/, applies: () => true },
  {
    name: 'KUBECONFIG names files that do not exist',
    args: () => [],
    env: () => ({ KUBECONFIG: `${join(dir, 'nope.yaml')}:${join(dir, 'nope-too.yaml')}` }),
    code: 3,
    message: /kubeconfig \S+nope\.yaml:\S+nope-too\.yaml does not exist \(set --kubeconfig or KUBECONFIG\)/,
    applies: () => true,
  },
  {
    name: 'no KUBECONFIG and no ~/.kube/config',
    args: () => [],
    env: () => ({ HOME: join(dir, 'home') }),
    code: 3,
    message: /kubeconfig \S+\/home\/\.kube\/config does not exist \(set --kubeconfig or KUBECONFIG\)/,
    applies: () => true,
  },
  { name: 'no current context', args: () => ['--kubeconfig', join(dir, 'no-current.yaml')], code: 4, message: /kubeconfig \S+no-current\.yaml has no current context; pass --context \(contexts: ctx\)/, applies: () => true },
  { name: 'credentials rejected (401)', args: () => ['--kubeconfig', join(dir, 'unauthorized.yaml')], code: 4, message: /the API server at http:\/\/127\.0\.0\.1:\d+ rejected the credentials of context "ctx" \(401\)$/, applies: () => true },
  {
    name: 'an API server that never answers',
    args: () => ['--kubeconfig', join(dir, 'hanging.yaml')],
    code: 5,
    message: /cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ for context "ctx" \(no answer within 15 s\)$/,
    applies: () => true,
    // 15 s, plus a start-up that a loaded machine stretches (and gcloud's kubectl dispatcher, which asks the server for its version first, 5 s more).
    withinSeconds: 40,
  },
  { name: 'empty kubeconfig', args: () => ['--kubeconfig', join(dir, 'empty.yaml')], code: 3, message: /kubeconfig \S+empty\.yaml defines no context \(empty or not a kubeconfig\)/, applies: () => true },
  { name: "unknown context (helm's --kube-context)", args: () => ['--kubeconfig', join(dir, 'fake.yaml'), '--kube-context', 'elsewhere'], code: 4, message: /context "elsewhere" is not in kubeconfig \S+fake\.yaml \(contexts: ctx\)/, applies: () => true },
  { name: 'unreachable cluster', args: () => ['--kubeconfig', join(dir, 'closed.yaml')], code: 5, message: /cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ for context "ctx"/, applies: () => true },
  { name: 'not a Kubernetes API server', args: () => ['--kubeconfig', join(dir, 'not-kubernetes.yaml')], code: 5, message: /http:\/\/127\.0\.0\.1:\d+ for context "ctx" is not a Kubernetes API server/, applies: () => true },
  { name: 'missing namespace', args: () => ['--kubeconfig', join(dir, 'fake.yaml'), '--namespace', 'missing'], code: 6, message: /namespace "missing" does not exist in context "ctx" \(set --namespace\)/, applies: (entry) => entry.needsNamespace },
  {
    name: "the context's namespace when -n is not given",
    args: () => ['--kubeconfig', join(dir, 'namespaced.yaml')],
    code: 6,
    message: /namespace "missing" does not exist in context "ctx" \(set --namespace\)/,
    applies: (entry) => entry.needsNamespace,
  },
  { name: 'namespace RBAC hides entirely', args: () => ['--kubeconfig', join(dir, 'fake.yaml'), '--namespace', 'hidden'], code: 8, message: /RBAC forbids get namespace hidden or list pods in it \(403 for context "ctx"\)/, applies: (entry) => entry.needsNamespace },
  { name: 'missing release, seen by a namespace-scoped user', args: () => ['--kubeconfig', join(dir, 'fake.yaml'), '--namespace', 'scoped'], code: 7, message: /Helm release "todo-app" not found in namespace "scoped"/, applies: (entry) => entry.needsRelease },
];

describe('the error contract of every entry point', () => {
  for (const fault of faults) {
    it(`${fault.name}: exit ${fault.code} and one line from each`, async () => {
      const applicable = entryPoints.filter((entry) => fault.applies(entry));
      const results = await Promise.all(applicable.map(async (entry) => ({ entry, ...(await run(entry.command(fault.args()), fault.env?.())) })));
      const answers = results.map(({ entry, code, stderr }) => {
        const errors = stderr.split('\n').filter((line) => /\berror\b/i.test(line));
        return { entry: entry.name, code, errors, trace: /\n\s+at /.test(stderr) };
      });
      const expected = applicable.map((entry) => ({ entry: entry.name, code: fault.code, errors: [expect.stringMatching(fault.message)], trace: false }));
      expect(answers).toEqual(expected);
      if (fault.sameLine !== false) {
        // The line itself, without the scripts' time stamp: the same words from each.
        const lines = answers.map(({ entry, errors }) => ({ entry, line: (errors[0] ?? '').replace(/^\d\d:\d\d:\d\d /, '') }));
        expect(lines).toEqual(lines.map(({ entry }) => ({ entry, line: lines[0]?.line })));
      }
      if (fault.withinSeconds !== undefined) {
        expect(results.map(({ entry, seconds }) => ({ entry: entry.name, late: seconds > (fault.withinSeconds ?? 0) }))).toEqual(applicable.map((entry) => ({ entry: entry.name, late: false })));
      }
    }, 120_000);
  }
});

describe("the context's namespace", () => {
  it('is the one the scripts that create it use when -n is not given, and they say so', async () => {
    const kubeconfig = ['--kubeconfig', join(dir, 'namespaced.yaml')];
    // Dry runs against the fake API server only: no Dapr chart to download.
    const creators = [
      ['create-secrets.sh', ['bash', join(root, 'scripts/create-secrets.sh'), '--dry-run', ...kubeconfig]],
      ['deploy-to-cloud.sh', ['bash', join(root, 'scripts/deploy-to-cloud.sh'), '--dry-run', '--skip-dapr', '--skip-validation', ...kubeconfig]],
    ] as const;
    const results = await Promise.all(creators.map(async ([entry, argv]) => ({ entry, ...(await run([...argv])) })));
    expect(results.map(({ entry, stdout, stderr }) => ({ entry, said: /namespace missing: the namespace of context ctx \(no --namespace given\)/.test(stdout + stderr) }))).toEqual(
      creators.map(([entry]) => ({ entry, said: true })),
    );
  }, 60_000);
});

describe('--help', () => {
  it('prints help and exits 0 from every entry point, whatever else is on the line', async () => {
    const results = await Promise.all(entryPoints.map(async (entry) => ({ entry: entry.name, ...(await run(entry.command(['--no-such-flag', '--users', '-5', '--help']))) })));
    expect(results.map(({ entry, code, stdout }) => ({ entry, code, usage: stdout.startsWith('Usage:') }))).toEqual(entryPoints.map((entry) => ({ entry: entry.name, code: 0, usage: true })));
    for (const { stdout } of results) expect(stdout).toContain('Exit codes (the same for npm test, the drills, the load test and the scripts)');
  }, 60_000);
});

describe('a report on every exit', () => {
  it('npm test writes junit.xml, report.json and summary.md saying why when it cannot validate, and latest points at it', async () => {
    const reports = join(dir, 'own-reports');
    const result = await run([tsx, join(root, 'suites/cli.ts'), '--report-dir', reports, '--run-id', 'preflight-1', '--kubeconfig', join(dir, 'fake.yaml'), '--namespace', 'missing']);
    expect(result.code).toBe(6);
    const junit = await readFile(join(reports, 'latest/junit.xml'), 'utf8');
    expect(junit).toMatch(/<testcase name="preflight: [^"]*"[^>]*>\s*<failure message="namespace &quot;missing&quot; does not exist/);
    const json = JSON.parse(await readFile(join(reports, 'preflight-1/report.json'), 'utf8')) as { exitCode: number; results: { id: string }[] };
    expect(json.exitCode).toBe(6);
    expect(json.results.map((r) => r.id)).toEqual(['preflight']);
    expect(await readFile(join(reports, 'latest/summary.md'), 'utf8')).toContain('could not validate (exit 6)');
  }, 60_000);

  it('the drills and the load test leave one too when they stop before changing anything', async () => {
    for (const [name, script, first] of [['Rollback drill', 'suites/drills/cli.ts', ['rollback']], ['Load test', 'suites/load/cli.ts', []]] as const) {
      const reports = join(dir, `own-reports-${name.replace(' ', '-')}`);
      const result = await run([tsx, join(root, script), ...first, '--report-dir', reports, '--kubeconfig', join(dir, 'fake.yaml'), '--namespace', 'missing']);
      expect(result.code, name).toBe(6);
      expect(await readFile(join(reports, 'latest/summary.md'), 'utf8')).toContain(`## ${name}: ❌ could not validate (exit 6)`);
    }
  }, 60_000);

  it('validate-deployment.sh leaves a report of this run on each of its own exits, and names only that one', async () => {
    const reports = join(dir, 'gate-reports');
    const gate = (...args: string[]) => run(['bash', join(root, 'scripts/validate-deployment.sh'), '--report-dir', reports, ...args]);
    const seen: string[] = [];
    for (const [args, code, reason] of [
      [['--no-such-flag'], 2, /unknown argument '--no-such-flag'/],
      [['--kubeconfig', join(dir, 'fake.yaml'), '--namespace', 'missing'], 6, /namespace "missing" does not exist in context "ctx"/],
      [['--kubeconfig', join(dir, 'fake.yaml'), '--', '--only', 'nosuch'], 2, /nosuch/],
    ] as const) {
      const result = await gate(...args);
      expect(result.code, result.stderr).toBe(code);
      const named = [...result.stdout.matchAll(/report: (\S+) \(junit/g)].map((match) => match[1] ?? '');
      expect(named, result.stdout).toHaveLength(1);
      const runDir = named[0] ?? '';
      expect(seen, 'a report of an earlier run').not.toContain(runDir);
      seen.push(runDir);
      expect(join(reports, await readlink(join(reports, 'latest')))).toBe(runDir);
      const json = JSON.parse(await readFile(join(runDir, 'report.json'), 'utf8')) as { exitCode: number; results: { id: string; reason: string }[] };
      expect(json.exitCode).toBe(code);
      expect(json.results.map((r) => r.id)).toEqual(['preflight']);
      expect(json.results[0]?.reason).toMatch(reason);
      expect(await readFile(join(runDir, 'junit.xml'), 'utf8')).toMatch(/<testcase name="preflight: [^"]*"[^>]*>\s*<failure message=/);
      expect(await readFile(join(runDir, 'summary.md'), 'utf8')).toContain(`could not validate (exit ${code})`);
    }
  }, 120_000);

  it('validate-deployment.sh names no report when its run wrote none', async () => {
    const reports = join(dir, 'list-reports');
    const result = await run(['bash', join(root, 'scripts/validate-deployment.sh'), '--report-dir', reports, '--', '--list']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toMatch(/report: /);
  }, 60_000);
});
