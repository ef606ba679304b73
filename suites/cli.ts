// `npm test`: validate a deployed Todo stack and exit 0 only when every check passed.
import { readFile } from 'node:fs/promises';
import { allChecks } from './checks/index.js';
import { resolveConfig, usage } from './lib/config.js';
import { ExitCode, fatal } from './lib/errors.js';
import { loadCustomChecks } from './lib/custom-checks.js';
import { bundleLines } from './lib/report/bundle.js';
import { runSuite } from './lib/suite.js';

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
  const namespaceFrom = { given: '', context: ', the namespace of the context', default: ', the default (no -n, none in the context)' }[config.namespaceSource];
  say(`validating release ${config.release} in namespace ${config.namespace}${namespaceFrom}${config.context ? ` (context ${config.context})` : ''}\n`);
  const { report, files } = await runSuite(config, {
    checks,
    onResult: (result, redactor) => {
      say(redactor.scrub(`${mark[result.verdict]} ${result.id} (${(result.durationMs / 1000).toFixed(1)} s): ${result.reason}\n`));
    },
    onProgress: (running) => say(`  ... still running: ${running.map(({ id, ms }) => `${id} ${Math.round(ms / 1000)} s`).join(', ')}\n`),
  });
  const t = report.totals;
  say(`\n${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped in ${(report.durationMs / 1000).toFixed(1)} s\n`);
  for (const result of report.results.filter((r) => r.verdict === 'fail')) {
    say(`  ${result.id}: ${result.reason}${result.diagnostics ? `\n    diagnostics: ${files.dir}/${result.diagnostics}` : ''}\n`);
  }
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
