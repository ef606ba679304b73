// The drills and the load test against the stack in the sandbox: the umbrella chart
// installed once into a namespace of this file, then a healthy rollback drill, a candidate
// whose image cannot be pulled, a plain upgrade with its deploy time, a short load run, and
// the backend switched to Recreate (a post-renderer), which the probes must see as downtime.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig, type SuiteConfig } from '../../suites/lib/config.js';
import { buildKube, type Kube } from '../../suites/lib/kube.js';
import { Redactor } from '../../suites/lib/redact.js';
import { runDrill, type DrillOptions, type DrillReport } from '../../suites/drills/drill.js';
import { locateHelm, runHelm, type HelmTarget } from '../../suites/drills/helm.js';
import { eventLatencyText } from '../../suites/drills/stats.js';
import type { LoadReport } from '../../suites/load/load.js';
import type { SweepReport } from '../../suites/load/sweep.js';
import { ensureSandbox, repoRoot, runTool, sandboxRegistry, stackDatabase, uniqueName } from '../support/sandbox.js';

const execFileAsync = promisify(execFile);
const namespace = uniqueName('drills');
const release = 'todo-app';
const chart = join(repoRoot, 'helm/todo-app');
const secretValue = `drill-${Math.random().toString(36).slice(2, 10)}-0123456789abcdef0123456789`;
const runnable = existsSync(join(chart, 'Chart.yaml'));
const figures: string[] = [];

let core: k8s.CoreV1Api;
let workDir: string;
let database: ReturnType<typeof stackDatabase> | undefined;
let config: SuiteConfig;
let kube: Kube;
let helm: HelmTarget;

function drillOptions(over: Partial<DrillOptions>): DrillOptions {
  return {
    kind: 'rollback',
    config,
    kube,
    helm,
    chart,
    candidate: 'restart',
    valuesFiles: [],
    helmArgs: [],
    watchSeconds: 20,
    rollbackLimitSeconds: 300,
    deployLimitSeconds: 900,
    readySeconds: 120,
    probeRate: 5,
    eventRate: 0.5,
    settleSeconds: 2,
    redactor: new Redactor(),
    log: () => undefined,
    ...over,
  };
}

const verdict = (report: DrillReport, name: string) => report.verdicts.find((v) => v.name === name);

function record(label: string, report: DrillReport): void {
  const phases = report.phases.map((p) => `${p.name} ${(p.ms / 1000).toFixed(1)} s`).join(', ');
  const counts = Object.entries(report.probeCounts).map(([t, c]) => `${t} ${c.failed}/${c.total}`).join(', ');
  figures.push(`${label}: ${phases}; probes failed/total ${counts}; longest outage ${report.longestOutageMs} ms; ${eventLatencyText(report.probes)}`);
}

beforeAll(async () => {
  if (!runnable) return;
  const kubeconfig = ensureSandbox().kubeconfig;
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  core = kc.makeApiClient(k8s.CoreV1Api);
  workDir = await mkdtemp(join(tmpdir(), 'drills-'));
  database = stackDatabase(namespace);
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'todo.suite/test': 'true' } } } });
  await runTool('helm', [
    'install', release, chart, '-n', namespace, '--wait', '--timeout', '6m',
    '--set', `global.imageRegistry=${sandboxRegistry}`,
    '--set', 'global.appSecrets.create=true',
    '--set-string', `global.appSecrets.databaseUrl=${database.url}`,
    '--set-string', `global.appSecrets.betterAuthSecret=${secretValue}`,
    '--set-string', `global.appSecrets.jwtSecret=${secretValue}`,
  ], 420_000);
  config = resolveConfig({ argv: ['--kubeconfig', kubeconfig, '-n', namespace, '--release', release, '--report-dir', join(workDir, 'reports')], env: {}, cwd: workDir });
  kube = buildKube(config);
  helm = { binary: locateHelm(undefined), namespace, release, kubeconfig, context: undefined };
}, 480_000);

afterAll(async () => {
  if (!runnable) return;
  await runTool('helm', ['uninstall', release, '-n', namespace, '--wait', '--timeout', '2m'], 180_000).catch(() => undefined);
  await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
  database?.drop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
  if (figures.length > 0) process.stdout.write(`\ndrill figures:\n${figures.map((f) => `  ${f}`).join('\n')}\n`);
}, 240_000);

describe.skipIf(!runnable)('drills and load against the stack in the sandbox', () => {
  it('a rollback drill on the healthy release passes with zero failed probes and leaves the original revision', async () => {
    const report = await runDrill(drillOptions({}));
    record('healthy rollback', report);
    expect(report.problems).toEqual([]);
    expect(report.failedProbes).toEqual([]);
    expect(report.longestOutageMs).toBe(0);
    expect(report.final.manifestMatchesRecorded).toBe(true);
    expect(report.final.revision).toBe(report.recorded.revision + 2);
    for (const v of report.verdicts) expect(v.pass, `${v.name}: ${v.detail}`).toBe(true);
    expect(report.probeCounts.frontend?.total).toBeGreaterThan(20);
    expect(report.probeCounts['event-flow']?.total).toBeGreaterThan(0);
  }, 240_000);

  it('a candidate whose image cannot be pulled is rolled back and reported', async () => {
    const report = await runDrill(drillOptions({ candidate: 'bad-image', watchSeconds: 10 }));
    record('bad-image rollback', report);
    expect(report.candidateOutcome).toMatch(/did not roll out.*backend.*(ImagePull|ErrImage)/);
    expect(verdict(report, 'release at the recorded revision')?.pass).toBe(true);
    expect(verdict(report, 'previous images restored')?.pass).toBe(true);
    expect(verdict(report, 'no data lost')?.pass).toBe(true);
    expect(report.final.images.backend?.some((image) => image.includes('todo-drill-missing-image'))).toBe(false);
    // maxUnavailable 0 keeps the old backend serving while the new pod cannot start.
    expect(report.failedProbes).toEqual([]);
  }, 240_000);

  it('a plain upgrade is probed and its deploy time measured', async () => {
    const report = await runDrill(drillOptions({ kind: 'upgrade' }));
    record('upgrade', report);
    const deploy = verdict(report, 'deploy time');
    expect(deploy?.pass, deploy?.detail).toBe(true);
    figures.push(`deploy time: ${deploy?.detail}`);
    expect(report.failedProbes).toEqual([]);
    expect(report.pass).toBe(true);
  }, 240_000);

  it('a short load run meets the thresholds and writes its report', async () => {
    const args = ['--import', 'tsx', 'suites/load/cli.ts', '--kubeconfig', config.kubeconfig ?? '', '-n', namespace, '--users', '20', '--duration', '40', '--rate-per-user', '2', '--event-every', '2', '--report-dir', join(workDir, 'reports'), '--run-id', 'load-test'];
    const run = await execFileAsync(process.execPath, args, { cwd: repoRoot, timeout: 150_000, env: { ...process.env, TODO_SUITE_KUBECONFIG: config.kubeconfig } }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    const stdout = run.stdout;
    const written = JSON.parse(await readFile(join(workDir, 'reports/load-test/report.json'), 'utf8')) as { detail: { load: LoadReport }; exitCode: number };
    const report = written.detail.load;
    for (const v of report.verdicts) expect(v.pass, `${v.name}: ${v.detail}`).toBe(true);
    expect(written.exitCode).toBe(0);
    expect(report.containers.runs.some((container) => container.periods > 0), 'CPU periods read from the kubelet').toBe(true);
    // Long enough for metrics.k8s.io readings whose window lies inside the load (about 15 s each).
    expect(report.verdicts.find((v) => v.id === 'resource-usage')?.skip, report.usage.note).toBeFalsy();
    expect(report.usage.top.length).toBeGreaterThan(0);
    const html = await readFile(join(workDir, 'reports/load-test/report.html'), 'utf8');
    expect(html).toContain('Latency histogram');
    for (const name of ['junit.xml', 'report.json', 'report.html', 'summary.md']) expect(await readFile(join(workDir, 'reports/load-test', name), 'utf8'), name).not.toContain(secretValue);
    expect(await readFile(join(workDir, 'reports/load-test/junit.xml'), 'utf8')).toContain('name="resource-usage: ');
    expect(await readlink(join(workDir, 'reports/latest'))).toBe('load-test');
    expect(stdout).toMatch(/PASS p95: /);
    expect(report.users).toBe(20);
    expect(report.requests).toBeGreaterThan(600);
    expect(report.eventFlow.count).toBeGreaterThan(0);
    figures.push(`load 20 users x 40 s: ${report.requests} requests, ${report.throughput} req/s, p50 ${report.latency.p50} ms, p95 ${report.latency.p95} ms, p99 ${report.latency.p99} ms, errors ${report.errorRatePercent} %, event flow p95 ${report.eventFlow.p95} ms; ${report.usage.note}`);
  }, 180_000);

  it('the headroom sweep runs its steps and writes the headroom verdict', async () => {
    const args = ['--import', 'tsx', 'suites/load/cli.ts', '--kubeconfig', config.kubeconfig ?? '', '-n', namespace, '--sweep', '--sweep-step', '5', '--sweep-max', '5', '--users', '5', '--duration', '8', '--event-every', '0', '--report-dir', join(workDir, 'reports'), '--run-id', 'load-sweep'];
    const run = await execFileAsync(process.execPath, args, { cwd: repoRoot, timeout: 120_000 }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    const written = JSON.parse(await readFile(join(workDir, 'reports/load-sweep/report.json'), 'utf8')) as { detail: { sweep: SweepReport }; exitCode: number };
    const sweep = written.detail.sweep;
    expect(sweep.steps.map((step) => step.users)).toEqual([5]);
    expect(sweep.steps[0]?.broke, 'the step broke a target').toEqual([]);
    expect(sweep.headroomUsers).toBe(5);
    expect(written.exitCode).toBe(0);
    expect(run.stdout).toMatch(/PASS headroom: 5 users held every target/);
    expect(await readFile(join(workDir, 'reports/load-sweep/report.html'), 'utf8')).toContain('<h2>Headroom</h2>');
  }, 150_000);

  it('the drain drill refuses a cluster of one schedulable node, in one line, before changing anything', async () => {
    const args = ['--import', 'tsx', 'suites/drills/cli.ts', 'drain', '--kubeconfig', config.kubeconfig ?? '', '-n', namespace, '--report-dir', join(workDir, 'reports'), '--run-id', 'drain-one-node'];
    const run = await execFileAsync(process.execPath, args, { cwd: repoRoot, timeout: 60_000 }).then(() => ({ code: 0, stderr: '' }), (error: { code?: number; stderr?: string }) => ({ code: error.code ?? -1, stderr: error.stderr ?? '' }));
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/the drain drill needs at least two schedulable nodes, and this cluster has 1 \(sandbox-node-1\): .*npm run demo -- --env prod/)]);
    const nodes = (await core.listNode()).items;
    expect(nodes.every((node) => !node.spec?.unschedulable)).toBe(true);
  }, 90_000);

  it('the same load runs in the cluster as a Job of several pods of the suite image, merged into one report', async () => {
    const args = ['--import', 'tsx', 'suites/load/cli.ts', '--kubeconfig', config.kubeconfig ?? '', '-n', namespace, '--job', '2', '--users', '5', '--duration', '10', '--rate-per-user', '2', '--event-every', '3', '--report-dir', join(workDir, 'reports'), '--run-id', 'load-job'];
    await execFileAsync(process.execPath, args, { cwd: repoRoot, timeout: 150_000 }).catch(() => undefined);
    const report = (JSON.parse(await readFile(join(workDir, 'reports/load-job/report.json'), 'utf8')) as { detail: { load: LoadReport } }).detail.load;
    expect(report.generators).toBe(2);
    expect(report.users).toBe(10);
    for (const v of report.verdicts) expect(v.pass, `${v.name}: ${v.detail}`).toBe(true);
    const left = await kube.batch.listNamespacedJob({ namespace, labelSelector: 'app.kubernetes.io/name=todo-load' });
    expect(left.items.filter((job) => !job.metadata?.deletionTimestamp)).toEqual([]);
    figures.push(`load Job 2 pods x 5 users x 10 s: ${report.requests} requests, ${report.throughput} req/s, p95 ${report.latency.p95} ms`);
  }, 180_000);

  it('with the backend on the Recreate strategy the drill sees the outage', async () => {
    // A post-renderer switches the backend Deployment to Recreate; the rollback target is
    // a revision rendered that way too, so both the upgrade and the rollback stop it first.
    const renderer = join(workDir, 'recreate.mjs');
    await writeFile(renderer, `#!${process.execPath}
import { createRequire } from 'node:module';
const require = createRequire(${JSON.stringify(join(repoRoot, 'package.json'))});
const YAML = require('yaml');
let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const docs = YAML.parseAllDocuments(input).map((d) => d.toJSON()).filter((d) => d);
  for (const d of docs) if (d.kind === 'Deployment' && d.metadata && d.metadata.name === 'backend') d.spec.strategy = { type: 'Recreate' };
  process.stdout.write(docs.map((d) => YAML.stringify(d)).join('---\\n'));
});
`);
    await chmod(renderer, 0o755);
    const switched = await runHelm(helm, ['upgrade', release, chart, '--reuse-values', '--post-renderer', renderer, '--wait', '--timeout', '3m'], 200_000);
    expect(switched.code, switched.stderr).toBe(0);
    const deployment = await kube.apps.readNamespacedDeployment({ name: 'backend', namespace });
    expect(deployment.spec?.strategy?.type).toBe('Recreate');
    const report = await runDrill(drillOptions({ helmArgs: ['--post-renderer', renderer] }));
    record('Recreate rollback', report);
    expect(report.longestOutageMs).toBeGreaterThan(0);
    expect(report.failedProbes.length).toBeGreaterThan(0);
    expect(report.failedProbes.some((p) => p.target === 'api' && (p.status ?? 0) >= 500)).toBe(true);
    expect(verdict(report, 'no downtime')?.pass).toBe(false);
    expect(report.pass).toBe(false);
    expect(verdict(report, 'release at the recorded revision')?.pass).toBe(true);
  }, 300_000);
});
