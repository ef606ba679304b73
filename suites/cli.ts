// `npm test`: validate a deployed Todo stack and exit 0 only when every check passed.
import { readFile } from 'node:fs/promises';
import { allChecks } from './checks/index.js';
import { resolveConfig, usage, type SuiteConfig } from './lib/config.js';
import { runContexts } from './lib/contexts.js';
import { contextsHeadline } from './lib/report/contexts.js';
import { ExitCode, fatal } from './lib/errors.js';
import { loadCustomChecks } from './lib/custom-checks.js';
import { bundleLines } from './lib/report/bundle.js';
import type { RunReport } from './lib/report/model.js';
import { runSuite, type SuiteOptions } from './lib/suite.js';

const mark = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' } as const;

/** --help prints help whatever else is on the line, and whatever the config file holds. */
const wantsHelp = (argv: string[]) => argv.some((arg) => arg === '--help' || arg === '-h');

async function main(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(`${usage}\n`);
    return ExitCode.ok;
  }
  const config = resolveConfig({ argv, env: process.env, cwd: process.cwd() });
  if (config.help) {
    process.stdout.write(`${usage}\n`);
    return ExitCode.ok;
  }
  const checks = [...allChecks, ...(await loadCustomChecks(config.checkDirs, allChecks))];
  if (config.list) {
    for (const check of checks) process.stdout.write(`${check.id.padEnd(38)} ${check.group.padEnd(12)} ${check.title}\n`);
    return ExitCode.ok;
  }
  // With --reporter json, stdout carries only the report; the lines a person reads go to stderr.
  const say = (text: string) => (config.reporter === 'json' ? process.stderr : process.stdout).write(text);
  const options: SuiteOptions = {
    checks,
    onResult: (result, redactor) => {
      say(redactor.scrub(`${mark[result.verdict]} ${result.id} (${(result.durationMs / 1000).toFixed(1)} s): ${result.reason}\n`));
    },
    onProgress: (running) => say(`  ... still running: ${running.map(({ id, ms }) => `${id} ${Math.round(ms / 1000)} s`).join(', ')}\n`),
  };
  if (config.contexts.length > 0) {
    say(`validating ${config.contexts.length} contexts one after the other: ${config.contexts.join(', ')}\n`);
    const { report, files } = await runContexts(config, {
      ...options,
      onContext: (own, index) => say(`\n== context ${own.context ?? ''} (${index + 1} of ${config.contexts.length}): ${targetText(own, { withContext: false })}\n`),
      onContextDone: (own, run) => {
        say(`${own.context ?? ''}: ${run.unvalidated ? `could not validate (exit ${run.unvalidated.exitCode}): ${run.unvalidated.message}` : totalsText(run.report)}\n`);
        sayFailures(say, run.report, run.files.dir);
      },
    });
    say(`\n${contextsHeadline(report)} in ${(report.durationMs / 1000).toFixed(1)} s\nreports: ${files.dir} (junit.xml, report.json, report.html, summary.md; each context's own in its directory)\n`);
    if (config.reporter === 'json') process.stdout.write(await readFile(files.json, 'utf8'));
    return report.exitCode;
  }
  say(`validating ${targetText(config)}\n`);
  const { report, files } = await runSuite(config, options);
  say(`\n${totalsText(report)}\n`);
  sayFailures(say, report, files.dir);
  say(`reports: ${files.dir} (junit.xml, report.json, report.html, summary.md)\n`);
  if (config.access === 'in-cluster') {
    // In a pod the report directory goes with the pod; the summary and the whole directory,
    // bundled, go to its log, which `helm test --logs` and `kubectl logs` bring back
    // (`npm run report:unpack` writes the directory back).
    say(`\n${await readFile(files.markdown, 'utf8')}`);
    say(`\nthe whole report follows; unpack it with: helm test <release> --logs | npm run report:unpack\n${(await bundleLines(files.dir, report.runId)).join('\n')}\n`);
  }
  // The written report.json: already scrubbed of every secret.
  if (config.reporter === 'json') process.stdout.write(await readFile(files.json, 'utf8'));
  return report.exitCode;
}

/** The release, namespace and where the namespace came from; the context too unless the line names it already. */
function targetText(config: SuiteConfig, { withContext = true } = {}): string {
  const namespaceFrom = { given: '', context: ', the namespace of the context', default: ', the default (no -n, none in the context)' }[config.namespaceSource];
  return `release ${config.release} in namespace ${config.namespace}${namespaceFrom}${withContext && config.context ? ` (context ${config.context})` : ''}`;
}

function totalsText(report: RunReport): string {
  const t = report.totals;
  return `${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped in ${(report.durationMs / 1000).toFixed(1)} s`;
}

function sayFailures(say: (text: string) => void, report: RunReport, dir: string): void {
  if (report.exitCode >= 2) return;
  for (const result of report.results.filter((r) => r.verdict === 'fail')) {
    say(`  ${result.id}: ${result.reason}${result.diagnostics ? `\n    diagnostics: ${dir}/${result.diagnostics}` : ''}\n`);
  }
}

// Exit explicitly once the output is flushed: a client library's keep-alive timer must not
// hold a CI job open after the verdict.
function exit(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

main(process.argv.slice(2)).then(exit, (error: unknown) => {
  const { line, code } = fatal(error);
  process.stderr.write(`${line}\n`);
  exit(code);
});
