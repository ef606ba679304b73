// Drill and load runs write the suite's report set: verdicts become testcases (validated
// against the suite's XSD), every written file is scrubbed, reports/latest follows the run.
import { mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultMix } from '../../suites/load/mix.js';
import { validateXML } from 'xmllint-wasm';
import { Redactor } from '../../suites/lib/redact.js';
import type { DrillReport } from '../../suites/drills/drill.js';
import { drillSection } from '../../suites/drills/report.js';
import { verdictResults, writeRunReports } from '../../suites/drills/runreport.js';
import { buildReport, usageVerdict, type LoadResponse, type LoadSamples, type UsageSample } from '../../suites/load/load.js';
import { loadSection } from '../../suites/load/report.js';

const noContainers = { runs: [], note: 'no cluster (generator only)' };

const xsdPath = new URL('../suite/fixtures/junit.xsd', import.meta.url);
const canary = 'canary-drill-secret-4f2a91';
const target = { context: 'ctx', server: 'https://127.0.0.1:6443', serverVersion: 'n/a', namespace: 'todo-app', release: 'todo-app', revision: 3, releaseStatus: 'deployed', access: 'frontend public address' };

async function validateJUnit(xml: string) {
  const schema = await readFile(xsdPath, 'utf8');
  return validateXML({ xml: [{ fileName: 'junit.xml', contents: xml }], schema: [{ fileName: 'junit.xsd', contents: schema }] });
}

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'drill-report-'));
  dirs.push(dir);
  return dir;
}

async function expectScrubbed(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  for (const name of names) {
    const text = await readFile(join(dir, name), 'utf8');
    expect(text, name).not.toContain(canary);
    expect(text, name).not.toContain(Buffer.from(canary).toString('base64'));
  }
  return names;
}

function loadSamples(slowMs: number): LoadSamples {
  return {
    startMs: 1_000, endMs: 11_000, users: 10,
    responses: Array.from({ length: 100 }, (_, i) => [1_000 + i * 100, i < 90 ? 20 : slowMs, 1, i % 2 ? 'list' : 'create'] as LoadResponse),
    errors: {}, eventFlowMs: [800], eventFailures: [], byOp: { list: 50, create: 50 },
  };
}

const usage = (cpuPercent: number, memoryPercent: number): UsageSample => ({ pod: 'backend-0', container: 'backend', cpuMillis: 10, memoryBytes: 1, cpuPercent, memoryPercent });

function drillReport(): DrillReport {
  const startMs = Date.parse('2026-01-01T00:00:00.000Z');
  return {
    kind: 'rollback', candidate: 'bad-image', candidateOutcome: 'did not roll out', namespace: 'todo-app', release: 'todo-app',
    frontendUrl: `http://127.0.0.1:3000/?token=${canary}`, startedAt: new Date(startMs).toISOString(), startMs, durationMs: 60_000,
    recorded: { revision: 3, status: 'deployed', chart: 'todo-app-0.1.0', images: { backend: ['backend:1'] } },
    final: { revision: 5, status: 'deployed', images: { backend: ['backend:1'] }, manifestMatchesRecorded: true },
    phases: [{ name: 'rollback command', startMs: 10_000, ms: 2_000, ok: true, detail: 'helm rollback' }],
    helm: [{ args: 'rollback todo-app 3', code: 0, ms: 2_000, stderr: `password ${canary}` }],
    probes: [{ target: 'api', at: startMs + 1_000, ok: true, ms: 5 }, { target: 'api', at: startMs + 1_200, ok: false, ms: 5, error: `HTTP 502 ${canary}` }, { target: 'api', at: startMs + 1_400, ok: true, ms: 5 }],
    probeCounts: { api: { total: 3, failed: 1 } },
    failedProbes: [{ target: 'api', at: startMs + 1_200, ok: false, ms: 5, error: `HTTP 502 ${canary}` }],
    outages: [{ target: 'api', from: startMs + 1_200, to: startMs + 1_400, ms: 200, failures: 1 }],
    longestOutageMs: 200,
    seededTasks: { created: 3, foundAfter: 3 },
    verdicts: [
      { id: 'rollback-time', name: 'rollback time', pass: true, detail: '12 s (limit 300 s)' },
      { id: 'no-downtime', name: 'no downtime', pass: false, detail: `1 failed of 3 probes; ${canary}`, expected: '0 failed probes', actual: '1 failed probes, longest outage 200 ms' },
      { id: 'images-restored', name: 'previous images restored', pass: true, detail: '{}' },
      { id: 'data-kept', name: 'no data lost', pass: true, detail: '3 of 3' },
      { id: 'release-restored', name: 'release at the recorded revision', pass: true, detail: 'revision 5' },
    ],
    pass: false,
    problems: [],
  };
}

describe('verdicts as testcases', () => {
  it('maps pass, fail and skip, with expected and actual on failures', () => {
    const results = verdictResults(
      [
        { id: 'p95', name: 'p95 latency', pass: false, detail: '2500 ms (limit 2000 ms)', expected: '<= 2000 ms', actual: '2500 ms' },
        { name: 'error rate', pass: true, detail: '0 %' },
        { id: 'resource-usage', name: 'usage', pass: true, skip: true, detail: 'skipped: no metrics.k8s.io' },
        { id: 'data-kept', name: 'no data lost', pass: false, detail: '2 of 3 tasks' },
      ],
      'load', 'load targets', '2026-01-01T00:00:00.000Z', 1000,
    );
    expect(results.map((r) => [r.id, r.verdict])).toEqual([['p95', 'fail'], ['error-rate', 'pass'], ['resource-usage', 'skip'], ['data-kept', 'fail']]);
    expect(results[0]).toMatchObject({ expected: '<= 2000 ms', actual: '2500 ms' });
    expect(results[2]?.reason).toBe('skipped: no metrics.k8s.io');
    expect(results[3]).toMatchObject({ expected: 'no data lost holds', actual: '2 of 3 tasks' });
  });
});

describe('resource-usage verdict', () => {
  it('fails over the target, passes under it, skips without the metrics API', () => {
    expect(usageVerdict([usage(85, 10)], '', 85, 10, 80)).toMatchObject({ id: 'resource-usage', pass: false, expected: '<= 80 % of CPU and memory limits' });
    expect(usageVerdict([usage(50, 81)], '', 50, 81, 80).pass).toBe(false);
    expect(usageVerdict([usage(50, 60)], '', 50, 60, 80)).toMatchObject({ pass: true });
    expect(usageVerdict([usage(85, 60)], '', 85, 60, 90).pass).toBe(true);
    expect(usageVerdict([], 'metrics.k8s.io not readable: 404', undefined, undefined, 80)).toMatchObject({ pass: true, skip: true, detail: 'skipped: metrics.k8s.io not readable: 404' });
    const limits = { base: 'http://x', durationSeconds: 10, p95LimitMs: 2000, errorRatePercent: 1, eventLimitMs: 5000, usagePercent: 80, throttleSharePercent: 25, mix: defaultMix };
    const hot = buildReport([loadSamples(30)], limits, [usage(95, 20)], '', noContainers);
    expect(hot.verdicts.find((v) => v.id === 'resource-usage')?.pass).toBe(false);
    expect(hot.pass).toBe(false);
  });
});

describe('the report set of a load run', () => {
  it('writes junit.xml, report.json, report.html, summary.md, scrubbed, and moves latest', async () => {
    const dir = await tempDir();
    const summary = join(dir, 'step-summary.md');
    const limits = { base: `http://127.0.0.1:3000/${canary}`, durationSeconds: 10, p95LimitMs: 2000, errorRatePercent: 1, eventLimitMs: 5000, usagePercent: 80, throttleSharePercent: 25, mix: defaultMix };
    const load = buildReport([loadSamples(3000)], limits, [], 'metrics.k8s.io not readable: 404', noContainers);
    const redactor = new Redactor();
    redactor.add(canary);
    const results = verdictResults(load.verdicts, 'load', 'load targets', load.startedAt, 10_000);
    const { report, files } = await writeRunReports({
      title: 'Load test', reportDir: dir, runId: 'load-1', startedAt: load.startedAt, finishedAt: new Date(Date.parse(load.startedAt) + 10_000).toISOString(),
      target, results, notes: [`planted ${canary}`], detail: { kind: 'load', load }, extraHtml: loadSection(load, 2000), redactor,
      env: { GITHUB_STEP_SUMMARY: summary },
    });
    expect(report.exitCode).toBe(1);
    expect(results.map((r) => [r.id, r.verdict])).toEqual([
      ['requests-made', 'pass'], ['p95', 'fail'], ['error-rate', 'pass'], ['resource-usage', 'skip'], ['cpu-throttling', 'skip'], ['restarts', 'skip'], ['event-flow', 'pass'],
    ]);
    expect((await expectScrubbed(files.dir)).sort()).toEqual(['junit.xml', 'report.html', 'report.json', 'summary.md']);
    expect(await readFile(summary, 'utf8')).not.toContain(canary);
    expect(await readlink(join(dir, 'latest'))).toBe('load-1');

    const xml = await readFile(files.junit, 'utf8');
    const validation = await validateJUnit(xml);
    expect(validation.errors).toEqual([]);
    expect(validation.valid).toBe(true);
    expect(xml).toContain('name="p95: p95 latency"');
    expect(xml).toMatch(/<failure[^>]*>[^<]*expected: &lt;= 2000 ms\nactual: 3000 ms/);
    expect(xml).toContain('<skipped message="skipped: metrics.k8s.io not readable: 404"/>');

    const json = JSON.parse(await readFile(files.json, 'utf8')) as { results: { id: string }[]; totals: { failed: number }; detail: { kind: string; load: { requests: number } } };
    expect(json.totals.failed).toBe(1);
    expect(json.detail.kind).toBe('load');
    expect(json.detail.load.requests).toBe(100);
    const html = await readFile(files.html, 'utf8');
    expect(html).toContain('Latency and throughput over time');
    expect(html).toContain('id="resource-usage"');
    expect(await readFile(files.markdown, 'utf8')).toContain('**p95**');
  });

  it('exits 0 when every verdict passed or was skipped', async () => {
    const dir = await tempDir();
    const load = buildReport([loadSamples(30)], { base: 'http://x', durationSeconds: 10, p95LimitMs: 2000, errorRatePercent: 1, eventLimitMs: 5000, usagePercent: 80, throttleSharePercent: 25, mix: defaultMix }, [], '', noContainers);
    const results = verdictResults(load.verdicts, 'load', 'load targets', load.startedAt, 1);
    const { report } = await writeRunReports({ title: 'Load test', reportDir: dir, runId: 'load-2', startedAt: load.startedAt, finishedAt: load.startedAt, target, results, notes: [], detail: { load }, extraHtml: '', redactor: new Redactor(), env: {} });
    expect(report.exitCode).toBe(0);
    expect(report.totals).toMatchObject({ failed: 0, skipped: 3 });
  });
});

describe('the report set of a drill', () => {
  it('has one testcase per drill verdict, the timeline in report.html, nothing secret anywhere', async () => {
    const dir = await tempDir();
    const drill = drillReport();
    const redactor = new Redactor();
    redactor.add(canary);
    const results = verdictResults(drill.verdicts, 'drill-rollback', 'rollback', drill.startedAt, drill.durationMs);
    const first = await writeRunReports({ title: 'Rollback drill', reportDir: dir, runId: 'drill-0', startedAt: drill.startedAt, finishedAt: drill.startedAt, target, results, notes: [], detail: { kind: 'drill-rollback', drill }, extraHtml: drillSection(drill), redactor, env: {} });
    expect(await readlink(join(dir, 'latest'))).toBe('drill-0');
    const { report, files } = await writeRunReports({ title: 'Rollback drill', reportDir: dir, runId: 'drill-1', startedAt: drill.startedAt, finishedAt: new Date(drill.startMs + drill.durationMs).toISOString(), target, results, notes: [], detail: { kind: 'drill-rollback', drill }, extraHtml: drillSection(drill), redactor, env: {} });
    expect(first.files.dir).not.toBe(files.dir);
    expect(await readlink(join(dir, 'latest'))).toBe('drill-1');
    expect(report.exitCode).toBe(1);
    await expectScrubbed(first.files.dir);
    await expectScrubbed(files.dir);

    const xml = await readFile(files.junit, 'utf8');
    expect((await validateJUnit(xml)).valid).toBe(true);
    for (const id of ['rollback-time', 'no-downtime', 'images-restored', 'data-kept', 'release-restored']) expect(xml).toContain(`name="${id}: `);
    expect(xml.match(/<testcase /g)?.length).toBe(5);
    expect(xml).toContain('expected: 0 failed probes\nactual: 1 failed probes, longest outage 200 ms');
    const html = await readFile(files.html, 'utf8');
    expect(html).toContain('aria-label="drill timeline"');
    expect(html).toContain('Rollback drill: 1 of 5 verdicts failed');
    expect(html).toContain('candidate <code>bad-image</code>');
    expect(html).not.toContain('<h2>Timeline</h2>');
    const json = JSON.parse(await readFile(files.json, 'utf8')) as { detail: { drill: { longestOutageMs: number } } };
    expect(json.detail.drill.longestOutageMs).toBe(200);
  });
});
