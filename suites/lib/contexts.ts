// `--contexts a,b,c`: several clusters in one run. Each context is validated in turn, as a
// run of its own written into its own directory under this run's; a cluster that cannot be
// validated gets its report and the others still run. Every context is looked up in the
// kubeconfig first, so a misspelt name stops the run before any cluster is touched.
import { readFile } from 'node:fs/promises';
import { configForContext, type SuiteConfig } from './config.js';
import { loadKubeConfig } from './kube.js';
import { writeContextsReports } from './report/contexts.js';
import { newRunId, type WrittenReports } from './report/index.js';
import { combinedExitCode, type ContextsReport, type RunReport } from './report/model.js';
import { runSuite, type SuiteOptions, type SuiteRun } from './suite.js';

/** A directory name for each context: EKS and GKE context names hold ':' and '/'. */
export function contextDirs(contexts: string[]): string[] {
  const used = new Set<string>();
  return contexts.map((context) => {
    const base = context.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'context';
    let dir = base;
    for (let n = 2; used.has(dir); n += 1) dir = `${base}-${n}`;
    used.add(dir);
    return dir;
  });
}

export interface ContextsRun {
  report: ContextsReport;
  files: WrittenReports;
  runs: { context: string; dir: string; run: SuiteRun }[];
}

export async function runContexts(
  config: SuiteConfig,
  options: SuiteOptions & {
    onContext?: (config: SuiteConfig, index: number) => void;
    onContextDone?: (config: SuiteConfig, run: SuiteRun) => void;
  },
): Promise<ContextsRun> {
  for (const context of config.contexts) loadKubeConfig({ kubeconfig: config.kubeconfig, context });
  const env = options.env ?? process.env;
  const startedAt = new Date();
  const runId = config.runId ?? newRunId(startedAt);
  const dirs = contextDirs(config.contexts);
  const runs: ContextsRun['runs'] = [];
  for (const [index, context] of config.contexts.entries()) {
    const dir = dirs[index] as string;
    const own = { ...configForContext(config, context), runId: `${runId}/${dir}` };
    options.onContext?.(own, index);
    // The step summary gets the combined one only.
    const run = await runSuite(own, { ...options, env: { ...env, GITHUB_STEP_SUMMARY: undefined }, asContext: true });
    runs.push({ context, dir, run });
    options.onContextDone?.(own, run);
  }
  // Each context's report as written: its secrets are redacted there.
  const written = await Promise.all(runs.map(async ({ run }) => JSON.parse(await readFile(run.files.json, 'utf8')) as RunReport));
  const finishedAt = new Date();
  const sum = (key: keyof RunReport['totals']) => written.reduce((total, report) => total + report.totals[key], 0);
  const report: ContextsReport = {
    runId,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    exitCode: combinedExitCode(written.map((entry) => entry.exitCode)),
    totals: { total: sum('total'), passed: sum('passed'), failed: sum('failed'), skipped: sum('skipped') },
    contexts: runs.map(({ context, dir }, index) => ({ context, dir, report: written[index] as RunReport })),
  };
  const files = await writeContextsReports(report, config.reportDir, env);
  return { report, files, runs };
}
