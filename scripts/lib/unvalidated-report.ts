/**
 * The "could not validate" report of a gate run that stopped before the suite wrote one
 * (scripts/validate-deployment.sh: its own bad usage, or a suite that exited without a
 * report): junit.xml with one failing `preflight` testcase saying why, report.json,
 * report.html, summary.md, the CI step summary, and reports/latest pointing at it. The same
 * writer as the suite's own (writeUnvalidatedReport), so the reports read the same.
 *
 * Usage: tsx scripts/lib/unvalidated-report.ts --report-dir DIR --run-id ID --exit-code 2..9
 *          --message TEXT [-- TARGET_ARGS]
 *   TARGET_ARGS  the suite's --kubeconfig/--context/--namespace/--release, as far as known,
 *                for the target the report names; left out when they are themselves wrong
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolveConfig } from '../../suites/lib/config.js';
import { ExitCode, InputError, type ExitCodeName } from '../../suites/lib/errors.js';
import { writeUnvalidatedReport } from '../../suites/lib/suite.js';

type InputErrorKind = InputError['kind'];

/** The kind of InputError whose exit code is CODE (2 to 9). */
export function kindOfExitCode(code: number): InputErrorKind | undefined {
  const name = (Object.keys(ExitCode) as ExitCodeName[]).find((key) => ExitCode[key] === code && key !== 'ok' && key !== 'checksFailed');
  return name as InputErrorKind | undefined;
}

/** The message of the suite's one error line ("error: X", "internal error: X"), the last one on STDERR. */
export function suiteErrorLine(stderr: string): string | undefined {
  const lines = stderr.split('\n').filter((line) => /^(internal )?error: /.test(line));
  return lines.at(-1)?.replace(/^(internal )?error: /, '');
}

export interface UnvalidatedArgs {
  reportDir: string;
  runId: string;
  exitCode: number;
  message: string;
  target: string[];
}

export async function writeReport(args: UnvalidatedArgs, env: Record<string, string | undefined>, cwd: string): Promise<string> {
  const kind = kindOfExitCode(args.exitCode);
  if (!kind) throw new InputError('usage', `--exit-code must be 2 to 9, got ${args.exitCode}`);
  const fixed = ['--report-dir', args.reportDir, '--run-id', args.runId];
  // Only what names the target comes from the environment: the report must be written even
  // when the rest of the suite's settings are what is wrong.
  const targetEnv = Object.fromEntries(
    ['KUBECONFIG', 'TODO_SUITE_KUBECONFIG', 'TODO_SUITE_CONTEXT', 'TODO_SUITE_NAMESPACE', 'TODO_SUITE_RELEASE'].map((key) => [key, env[key]]),
  );
  let config;
  try {
    config = resolveConfig({ argv: [...args.target, ...fixed], env: targetEnv, cwd });
  } catch {
    config = resolveConfig({ argv: fixed, env: {}, cwd });
  }
  const { files } = await writeUnvalidatedReport(config, { runId: args.runId, startedAt: new Date(), error: new InputError(kind, args.message), kube: undefined, env });
  return files.dir;
}

function parse(argv: string[]): UnvalidatedArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      'report-dir': { type: 'string' },
      'run-id': { type: 'string' },
      'exit-code': { type: 'string' },
      message: { type: 'string' },
    },
  });
  const { 'report-dir': reportDir, 'run-id': runId, 'exit-code': exitCode, message } = values;
  if (!reportDir || !runId || !exitCode || !message) throw new InputError('usage', 'needs --report-dir, --run-id, --exit-code and --message');
  return { reportDir, runId, exitCode: Number(exitCode), message, target: positionals };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const dir = await writeReport(parse(process.argv.slice(2)), process.env, process.cwd());
    process.stdout.write(`${dir}\n`);
  } catch (error) {
    process.stderr.write(`error: could not write the report: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}\n`);
    process.exit(9);
  }
}
