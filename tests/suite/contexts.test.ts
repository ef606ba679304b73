// `--contexts a,b,c`: options, directory names, the combined exit code, the combined report
// (one section per context, JUnit valid against the XSD), and a run over two clusters that
// cannot be reached, which still writes every context's report and the combined one.
import { mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import { allChecks } from '../../suites/checks/index.js';
import type { CheckResult } from '../../suites/lib/check.js';
import { configForContext, resolveConfig, type ConfigSources } from '../../suites/lib/config.js';
import { contextDirs, runContexts } from '../../suites/lib/contexts.js';
import { InputError } from '../../suites/lib/errors.js';
import { contextsHeadline, renderContextsHtml, renderContextsJUnit, renderContextsMarkdown } from '../../suites/lib/report/contexts.js';
import { combinedExitCode, totals, type ContextsReport, type RunReport } from '../../suites/lib/report/model.js';

const base = (over: Partial<ConfigSources> = {}): ConfigSources => ({ argv: [], env: {}, cwd: '/work', home: '/home/u', ...over });

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'contexts-'));
  dirs.push(dir);
  return dir;
}

/** Two clusters that answer nothing (port 1 on 127.0.0.1), each context with its namespace. */
function twoClusters(): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'current-context: east',
    'clusters: [{name: c-east, cluster: {server: "https://127.0.0.1:1"}}, {name: c-west, cluster: {server: "https://127.0.0.1:1"}}]',
    'users: [{name: u, user: {token: t}}]',
    'contexts:',
    '- {name: east, context: {cluster: c-east, user: u, namespace: shop}}',
    '- {name: "arn:aws:eks:eu-west-1:1:cluster/west", context: {cluster: c-west, user: u}}',
  ].join('\n');
}

function result(over: Partial<CheckResult>): CheckResult {
  return {
    id: 'pods-ready', title: 'Pods ready', group: 'pods', criterion: '1', verdict: 'pass', reason: 'ok',
    measurements: [], series: [], evidence: [], startedAt: '2026-01-01T00:00:00.000Z', durationMs: 1000, pods: [], ...over,
  };
}

function runReport(context: string, runId: string, results: CheckResult[], exitCode: number): RunReport {
  return {
    runId, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:05.000Z', durationMs: 5000,
    target: { context, server: 'https://127.0.0.1:6443', serverVersion: 'v1.34.4', namespace: 'todo-app', release: 'todo-app', revision: 3, releaseStatus: 'deployed', access: 'port-forward' },
    results, totals: totals(results), exitCode, notes: [], testUsers: [],
  };
}

function sample(): ContextsReport {
  const green = runReport('east', 'run-9/east', [result({}), result({ id: 'kafka-topics', group: 'kafka' })], 0);
  const red = runReport('west', 'run-9/west', [result({}), result({ id: 'kafka-topics', group: 'kafka', verdict: 'fail', reason: 'topic reminders is missing', diagnostics: 'diagnostics/checks/kafka-topics.html' })], 1);
  const contexts = [{ context: 'east', dir: 'east', report: green }, { context: 'west', dir: 'west', report: red }];
  return {
    runId: 'run-9', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:10.000Z', durationMs: 10_000,
    exitCode: 1, totals: totals([...green.results, ...red.results]), contexts,
  };
}

describe('--contexts options', () => {
  it('takes a comma list from the flag, the variable or the config file, without repeats', () => {
    expect(resolveConfig(base({ argv: ['--contexts', 'a, b,a'] })).contexts).toEqual(['a', 'b']);
    expect(resolveConfig(base({ env: { TODO_SUITE_CONTEXTS: 'x,y' } })).contexts).toEqual(['x', 'y']);
    expect(resolveConfig(base()).contexts).toEqual([]);
  });

  it('refuses what cannot mean several clusters, in one line', () => {
    const refused = (argv: string[], env: Record<string, string> = {}) => {
      try {
        resolveConfig(base({ argv, env }));
      } catch (error) {
        expect(error).toBeInstanceOf(InputError);
        expect((error as InputError).exitCode).toBe(2);
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refused(['--contexts', 'a,b', '--context', 'a'])).toMatch(/--contexts and --context both name the cluster/);
    expect(refused(['--contexts', 'a,b', '--frontend-url', 'http://127.0.0.1:3000'])).toMatch(/one cluster's addresses/);
    expect(refused(['--contexts', 'a,b', '--access', 'in-cluster'])).toMatch(/inside a pod the suite validates its own cluster only/);
  });

  it('gives each context its own namespace unless -n names one for all', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'kubeconfig'), twoClusters());
    const config = resolveConfig(base({ argv: ['--kubeconfig', join(dir, 'kubeconfig'), '--contexts', 'east,arn:aws:eks:eu-west-1:1:cluster/west'] }));
    expect([configForContext(config, 'east').namespace, configForContext(config, 'east').context]).toEqual(['shop', 'east']);
    expect(configForContext(config, 'arn:aws:eks:eu-west-1:1:cluster/west').namespaceSource).toBe('default');
    const given = resolveConfig(base({ argv: ['--kubeconfig', join(dir, 'kubeconfig'), '--contexts', 'east,arn:aws:eks:eu-west-1:1:cluster/west', '-n', 'mine'] }));
    expect(configForContext(given, 'east').namespace).toBe('mine');
    expect(configForContext(given, 'east').contexts).toEqual([]);
  });

  it('names a directory for each context, unique and safe', () => {
    expect(contextDirs(['east', 'arn:aws:eks:eu-west-1:1:cluster/west', 'a/b', 'a:b', '..'])).toEqual(['east', 'arn-aws-eks-eu-west-1-1-cluster-west', 'a-b', 'a-b-2', 'context']);
  });

  it('exits with the first context that could not be validated, else 1 when a check failed', () => {
    expect(combinedExitCode([0, 0])).toBe(0);
    expect(combinedExitCode([0, 1])).toBe(1);
    expect(combinedExitCode([1, 5, 7])).toBe(5);
  });
});

describe('the combined report', () => {
  it('puts one section per context on the page, with links into each context\'s directory', () => {
    const html = renderContextsHtml(sample());
    expect(html).toContain('FAILED</span> Todo stack validation: 1 of 2 contexts failed');
    expect(html).toContain('<section id="context-east">');
    expect(html).toContain('<section id="context-west">');
    expect(html).toContain('href="west/diagnostics/checks/kafka-topics.html"');
    expect(html).toContain('href="#west-kafka-topics"');
    expect(html).toContain('id="west-kafka-topics"');
    expect(html).toContain('href="east/report.html"');
    expect(html.indexOf('context-east')).toBeLessThan(html.indexOf('context-west'));
  });

  it('writes JUnit with each context\'s suites named after it, valid against the XSD', async () => {
    const xml = renderContextsJUnit(sample());
    const schema = await readFile(new URL('./fixtures/junit.xsd', import.meta.url), 'utf8');
    const validation = await validateXML({ xml: [{ fileName: 'junit.xml', contents: xml }], schema: [{ fileName: 'junit.xsd', contents: schema }] });
    expect(validation.errors).toEqual([]);
    expect(xml).toContain('<testsuite name="east: pods" id="0"');
    expect(xml).toContain('<testsuite name="west: kafka" id="3"');
    expect(xml).toMatch(/<testsuites name="todo-validation" tests="4" failures="1"/);
  });

  it('summarises every context in Markdown, failures with their diagnostics', () => {
    const markdown = renderContextsMarkdown(sample());
    expect(markdown).toContain('## Todo stack validation: ❌ 1 of 2 contexts failed');
    expect(markdown).toContain('| `west` | ❌ 1 of 2 checks failed |');
    expect(markdown).toContain('### Context `east`: ✅ all 2 checks passed');
    expect(markdown).toContain('<details><summary>the 2 checks</summary>');
    expect(markdown.match(/<details>/g)).toHaveLength(1);
    expect(markdown).toContain('- **kafka-topics**: topic reminders is missing ([diagnostics](west/diagnostics/checks/kafka-topics.html))');
    const artifact = renderContextsMarkdown(sample(), { kind: 'artifact', artifact: 'todo-reports' });
    expect(artifact).toContain('(diagnostics: `run-9/west/diagnostics/checks/kafka-topics.html`)');
    expect(artifact).toContain('The whole report is `run-9/report.html` in the artifact `todo-reports`.');
    expect(contextsHeadline({ ...sample(), contexts: sample().contexts.map((c) => ({ ...c, report: { ...c.report, exitCode: 0 } })) })).toBe('all 2 contexts passed');
  });
});

describe('a run over several contexts', () => {
  it('stops before any cluster when a context is not in the kubeconfig', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'kubeconfig'), twoClusters());
    const config = resolveConfig(base({ argv: ['--kubeconfig', join(dir, 'kubeconfig'), '--contexts', 'east,wset', '--report-dir', join(dir, 'reports')], cwd: dir }));
    await expect(runContexts(config, { checks: allChecks, env: {} })).rejects.toThrow(/context "wset" is not in kubeconfig/);
  });

  it('reports each context, those that cannot be reached too, and the combined verdict', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'kubeconfig'), twoClusters());
    const config = resolveConfig(base({ argv: ['--kubeconfig', join(dir, 'kubeconfig'), '--contexts', 'east,arn:aws:eks:eu-west-1:1:cluster/west', '--report-dir', join(dir, 'reports'), '--run-id', 'both'], cwd: dir }));
    const seen: string[] = [];
    const { report, files } = await runContexts(config, { checks: allChecks, env: {}, onContext: (own) => seen.push(`${own.context} ${own.namespace}`) });
    expect(seen).toEqual(['east shop', 'arn:aws:eks:eu-west-1:1:cluster/west todo-app']);
    expect(report.exitCode).toBe(5);
    expect(report.contexts.map((c) => [c.dir, c.report.exitCode, c.report.runId])).toEqual([
      ['east', 5, 'both/east'],
      ['arn-aws-eks-eu-west-1-1-cluster-west', 5, 'both/arn-aws-eks-eu-west-1-1-cluster-west'],
    ]);
    expect(await readlink(join(dir, 'reports/latest'))).toBe('both');
    const own = JSON.parse(await readFile(join(dir, 'reports/both/east/report.json'), 'utf8')) as RunReport;
    expect(own.results[0]?.reason).toMatch(/cannot reach/);
    const html = await readFile(files.html, 'utf8');
    expect(html).toContain('2 of 2 could not be validated');
    expect(JSON.parse(await readFile(files.json, 'utf8'))).toMatchObject({ runId: 'both', exitCode: 5 });
  }, 60_000);
});
