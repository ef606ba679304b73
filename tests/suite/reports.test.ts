import { lstat, mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import type { CheckResult } from '../../suites/lib/check.js';
import { Redactor } from '../../suites/lib/redact.js';
import { latencyChart, renderHtml, timelineChart } from '../../suites/lib/report/html.js';
import { groupFailures } from '../../suites/lib/report/failures.js';
import { writeReports } from '../../suites/lib/report/index.js';
import { renderJUnit } from '../../suites/lib/report/junit.js';
import { renderMarkdown } from '../../suites/lib/report/markdown.js';
import { totals, type RunReport } from '../../suites/lib/report/model.js';

const xsdPath = new URL('./fixtures/junit.xsd', import.meta.url);
const canary = 'canary-secret-9b1e7d';

function result(over: Partial<CheckResult>): CheckResult {
  return {
    id: 'x',
    title: 'X',
    group: 'pods',
    criterion: '1',
    verdict: 'pass',
    reason: 'ok',
    measurements: [],
    series: [],
    evidence: [],
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1234,
    pods: [],
    ...over,
  };
}

function sampleReport(): RunReport {
  const results = [
    result({ id: 'pods-ready', reason: '3 pods Running and Ready', evidence: ['a: Ready'] }),
    result({
      id: 'api-crud-latency',
      group: 'performance',
      verdict: 'fail',
      reason: `p95 2500 ms is over 2000 ms <&> "quoted" with ${canary}`,
      expected: 'p95 < 2000 ms',
      actual: '2500 ms',
      measurements: [{ name: 'p95', value: 2500, unit: 'ms', limit: 2000, comparator: '<=' }],
      series: [{ name: 'CRUD call latency', unit: 'ms', values: [100, 2500, 300], limit: 2000 }],
      evidence: [`control char \u0001 and secret ${canary}`],
      diagnostics: 'diagnostics/checks/api-crud-latency.md',
    }),
    result({ id: 'frontend-public', group: 'frontend', verdict: 'skip', reason: 'skipped: no load balancer' }),
  ];
  return {
    runId: 'run-1',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:05.000Z',
    durationMs: 5000,
    target: { context: 'ctx', server: 'https://127.0.0.1:6443', serverVersion: 'v1.34.4', namespace: 'todo-app', release: 'todo-app', revision: 2, releaseStatus: 'deployed', access: 'port-forward' },
    results,
    totals: totals(results),
    exitCode: 1,
    notes: [],
    testUsers: ['suite-run-1-abc-rec'],
  };
}

async function validateJUnit(xml: string) {
  const schema = await readFile(xsdPath, 'utf8');
  return validateXML({ xml: [{ fileName: 'junit.xml', contents: xml }], schema: [{ fileName: 'junit.xsd', contents: schema }] });
}

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('JUnit writer', () => {
  it('writes one testcase per check and validates against the XSD', async () => {
    const xml = renderJUnit(sampleReport());
    const validation = await validateJUnit(xml);
    expect(validation.errors).toEqual([]);
    expect(validation.valid).toBe(true);
    expect(xml.match(/<testcase /g)).toHaveLength(3);
    expect(xml).toContain('<failure message="p95 2500 ms is over 2000 ms &lt;&amp;&gt; &quot;quoted&quot;');
    expect(xml).toContain('expected: p95 &lt; 2000 ms\nactual: 2500 ms');
    expect(xml).toContain('<skipped message="skipped: no load balancer"/>');
    expect(xml).not.toContain('\u0001');
  });

  it('is a real validation: the XSD rejects a testcase without a name', async () => {
    const broken = renderJUnit(sampleReport()).replace(/<testcase name="[^"]*"/, '<testcase');
    const validation = await validateJUnit(broken);
    expect(validation.valid).toBe(false);
  });
});

describe('HTML, Markdown and the report directory', () => {
  it('renders a self-contained HTML report with inline SVG charts', () => {
    const html = renderHtml(sampleReport());
    expect(html).toContain('<svg');
    expect(html).toContain('limit 2000 ms');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<script|<link /);
    expect(html).toContain('href="diagnostics/checks/api-crud-latency.md"');
    expect(html.indexOf('id="api-crud-latency"')).toBeLessThan(html.indexOf('id="pods-ready"'));
    expect(latencyChart({ name: 'n', unit: 'ms', values: [] })).toContain('0 samples');
  });

  it('summarises in Markdown with the failures first, expected and actual', () => {
    const md = renderMarkdown(sampleReport());
    expect(md).toContain('❌ 1 of 3 checks failed');
    expect(md).toContain('- expected: p95 < 2000 ms');
    expect(md).toContain('| `frontend-public` X | ⏭️ skip |');
    expect(md.indexOf('### Failures')).toBeLessThan(md.indexOf('| check |'));
    const rows = md.split('\n').filter((line) => line.startsWith('| `'));
    expect(rows.map((row) => /`([^`]+)`/.exec(row)?.[1])).toEqual(['api-crud-latency', 'frontend-public', 'pods-ready']);
    expect(md).toContain('([diagnostics](diagnostics/checks/api-crud-latency.md))');
  });

  it('names the release revision and server version it read, and leaves out what a run did not read', () => {
    const read = sampleReport();
    expect(renderMarkdown(read)).toContain('Release `todo-app` revision 2 (deployed) in namespace `todo-app`, context `ctx` (v1.34.4), access port-forward.');
    const unread = { ...read, target: { ...read.target, revision: 0, releaseStatus: 'unknown', serverVersion: 'unknown' } };
    expect(renderMarkdown(unread)).toContain('Release `todo-app` in namespace `todo-app`, context `ctx`, access port-forward.');
    expect(renderHtml(unread)).toContain('Release <code>todo-app</code> in <code>todo-app</code>; context <code>ctx</code>; access port-forward.');
  });

  it('names files by their place in the artifact in a CI step summary, where relative links lead nowhere', () => {
    const md = renderMarkdown(sampleReport(), { kind: 'artifact', artifact: 'validation-report-prod-42', runUrl: 'https://github.example/o/r/actions/runs/42' });
    expect(md).not.toMatch(/\]\((?!https:)/);
    expect(md).toContain('(diagnostics: `run-1/diagnostics/checks/api-crud-latency.md`)');
    expect(md).toContain("`run-1/report.html` in the artifact `validation-report-prod-42` ([the run's artifacts](https://github.example/o/r/actions/runs/42#artifacts))");
  });

  it('groups failures that name the same pod under it, and puts the rest after', () => {
    const pod = 'backend-5f8b776ffd-856j7';
    const results = [
      result({ id: 'pods-ready', verdict: 'fail', reason: `pod ${pod} is CrashLoopBackOff`, pods: [pod, 'frontend-1'] }),
      result({ id: 'health-backend', verdict: 'fail', reason: 'GET /health timed out' }),
      result({ id: 'dapr-sidecar-backend', verdict: 'fail', reason: `pod ${pod} has no ready daprd`, pods: [pod] }),
      result({ id: 'pod-restarts', verdict: 'fail', reason: `${pod}/backend restarted 4 times`, pods: [] }),
      result({ id: 'frontend-public', reason: 'ok' }),
    ];
    expect(groupFailures(results).map((g) => [g.pod, g.results.map((r) => r.id)])).toEqual([
      [pod, ['pods-ready', 'dapr-sidecar-backend', 'pod-restarts']],
      [undefined, ['health-backend']],
    ]);
    // One pod named once is no shared cause; a longer name that contains it is another pod.
    expect(groupFailures([results[0]!, result({ id: 'b', verdict: 'fail', reason: `pod ${pod}x down`, pods: [`${pod}x`] })]).map((g) => g.pod)).toEqual([undefined]);
    const html = renderHtml({ ...sampleReport(), results, totals: totals(results) });
    expect(html).toContain(`<h3>pod ${pod}: named by 3 failing checks</h3>`);
    expect(html.indexOf('<h2>Failures</h2>')).toBeLessThan(html.indexOf('<h2>Checks</h2>'));
    // With the pod's state as the run ended, the group says what the pod is going through.
    const withState = { ...sampleReport(), results, totals: totals(results), podStates: { [pod]: 'CrashLoopBackOff in container backend' } };
    expect(renderHtml(withState)).toContain(`<h3>pod ${pod} (CrashLoopBackOff in container backend): named by 3 failing checks</h3>`);
    expect(renderMarkdown(withState)).toContain(`**pod \`${pod}\` (CrashLoopBackOff in container backend): named by 3 failing checks**`);
  });

  it('draws a sample that never made it as over the limit, whatever its value', () => {
    const chart = latencyChart({ name: 'completion to next occurrence', unit: 'ms', values: [40, 5000], limit: 5000, late: [1] });
    const bars = [...chart.matchAll(/<rect [^>]*fill="(#[0-9a-f]+)"><title>([^<]*)<\/title>/g)].map((m) => [m[1], m[2]]);
    expect(bars).toEqual([['#2e86c1', '#1: 40 ms'], ['#c0392b', '#2: none within 5000 ms']]);
  });

  it('draws the timeline with whole labels and a time axis', () => {
    const results = [
      result({ id: 'dapr-sidecar-recurring-task-service', startedAt: '2026-01-01T00:00:00.000Z', durationMs: 1000 }),
      result({ id: 'frontend-load', startedAt: '2026-01-01T00:00:01.000Z', durationMs: 40_000 }),
    ];
    const svg = timelineChart({ ...sampleReport(), durationMs: 41_000, results, totals: totals(results) });
    expect(svg).toContain('>dapr-sidecar-recurring-task-service</text>');
    const labelEnd = Number(/<text x="([\d.]+)"[^>]*>dapr-sidecar-recurring-task-service</.exec(svg)?.[1]);
    expect(labelEnd).toBeGreaterThan('dapr-sidecar-recurring-task-service'.length * 6);
    expect(svg).toContain('>0 s</text>');
    expect(svg).toContain('>40 s</text>');
  });

  it('writes every report into reports/<run-id>/, points latest at it, appends to the step summary, and redacts secrets from all of them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'suite-reports-'));
    dirs.push(dir);
    const summary = join(dir, 'step-summary.md');
    const redactor = new Redactor();
    redactor.add(canary);
    const files = await writeReports(sampleReport(), dir, redactor, { GITHUB_STEP_SUMMARY: summary });
    expect(files.dir).toBe(join(dir, 'run-1'));
    expect((await lstat(join(dir, 'latest'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(dir, 'latest'))).toBe('run-1');
    const names = (await readdir(files.dir)).sort();
    expect(names).toEqual(['junit.xml', 'report.html', 'report.json', 'summary.md']);
    for (const name of names) expect(await readFile(join(files.dir, name), 'utf8')).not.toContain(canary);
    const json = JSON.parse(await readFile(files.json, 'utf8')) as RunReport;
    expect(json.results[1]?.reason).toContain('[REDACTED]');
    expect(await readFile(summary, 'utf8')).toContain('Todo stack validation');
    expect((await validateJUnit(await readFile(files.junit, 'utf8'))).valid).toBe(true);
    // A second run moves latest.
    await writeReports({ ...sampleReport(), runId: 'run-2' }, dir, redactor, {});
    expect(await readlink(join(dir, 'latest'))).toBe('run-2');
  });
});

describe('the report bundle a validation Pod prints to its log', () => {
  it('carries the whole run directory through a log with prefixes, and unpacks it into reports/<run-id>/ with latest pointing at it', async () => {
    const { bundleLines, unpackBundle } = await import('../../suites/lib/report/bundle.js');
    const { mkdir, writeFile: write } = await import('node:fs/promises');
    const source = await mkdtemp(join(tmpdir(), 'bundle-src-'));
    const target = await mkdtemp(join(tmpdir(), 'bundle-dst-'));
    dirs.push(source, target);
    await mkdir(join(source, 'diagnostics/checks'), { recursive: true });
    await write(join(source, 'junit.xml'), '<testsuites/>');
    await write(join(source, 'diagnostics/checks/pods-ready.html'), '<p>pod</p>');
    const lines = await bundleLines(source, 'run-7');
    // As `kubectl logs --timestamps` or a CI runner would show them.
    const log = ['PASS pods-ready', ...lines.map((line) => `2026-12-02T04:00:00Z ${line}`), 'done'].join('\n');
    const dir = await unpackBundle(log, target);
    expect(dir).toBe(join(target, 'run-7'));
    expect(await readFile(join(target, 'latest/junit.xml'), 'utf8')).toBe('<testsuites/>');
    expect(await readFile(join(target, 'run-7/diagnostics/checks/pods-ready.html'), 'utf8')).toBe('<p>pod</p>');
    expect(await unpackBundle('no bundle here', target)).toBeUndefined();
  });
});

