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
import type { WrittenReports } from './lib/report/index.js';
import { asReportedRun, runSuite, type SuiteOptions } from './lib/suite.js';

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
  if (config.list) {
    const checks = [...allChecks, ...(await loadCustomChecks(config.checkDirs, allChecks))];
    for (const check of checks) process.stdout.write(`${check.id.padEnd(38)} ${check.group.padEnd(12)} ${check.title}\n`);
    return ExitCode.ok;
  }
  // From here on the run has an id, and every exit leaves its report: reports/latest points
  // at this run at once, and whatever stops it (a cluster it cannot validate, a bad check
  // file, a crash) is written there before the command ends.
  return asReportedRun(config, { env: process.env, onFailure: (files) => deliverReport(config, files, (text) => process.stderr.write(text)) }, validate);
}

/** The run itself, one cluster or several. */
async function validate(config: SuiteConfig): Promise<number> {
  const checks = [...allChecks, ...(await loadCustomChecks(config.checkDirs, allChecks))];
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
    await deliverReport(config, files, say);
    return report.exitCode;
  }
  say(`validating ${targetText(config)}\n`);
  const { report, files } = await runSuite(config, options);
  say(`\n${totalsText(report)}\n`);
  sayFailures(say, report, files.dir);
  say(`reports: ${files.dir} (junit.xml, report.json, report.html, summary.md)\n`);
  await deliverReport(config, files, say);
  return report.exitCode;
}

/**
 * The written report where it is asked for beyond the report directory: on stdout as JSON
 * (--reporter json; report.json is already scrubbed of every secret), and in a pod, whose
 * report directory goes with it, the summary and the whole directory bundled into the log,
 * which `helm test --logs` and `kubectl logs` bring back (`npm run report:unpack` writes the
 * directory back).
 */
async function deliverReport(config: SuiteConfig, files: WrittenReports, say: (text: string) => void): Promise<void> {
  if (config.access === 'in-cluster') {
    say(`\n${await readFile(files.markdown, 'utf8')}`);
    say(`\nthe whole report follows; unpack it with: helm test <release> --logs | npm run report:unpack\n${(await bundleLines(files.dir, config.runId ?? '')).join('\n')}\n`);
  }
  if (config.reporter === 'json') process.stdout.write(await readFile(files.json, 'utf8'));
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
