import type { CheckResult } from '../check.js';

export interface RunReport {
  /** Drill and load runs name themselves ("Rollback drill"); the suite's runs have none. */
  title?: string;
  runId: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  target: {
    context: string;
    server: string;
    serverVersion: string;
    namespace: string;
    release: string;
    revision: number;
    releaseStatus: string;
    access: string;
  };
  results: CheckResult[];
  totals: { total: number; passed: number; failed: number; skipped: number };
  exitCode: number;
  /** Notes on what the run could not do, e.g. secret values too short to redact. */
  notes: string[];
  /** The test users of the run, so a later run can delete what arrived after this one ended. */
  testUsers: string[];
  /** Drill or load runs: their own detail block (timeline, probes, percentiles), kept whole. */
  detail?: Record<string, unknown>;
  /** The state of each pod that failures name, read as the run ended ("CrashLoopBackOff in container backend"). */
  podStates?: Record<string, string>;
}

/**
 * What a run read of its target: the release's revision and status, the server's version.
 * A run that could not validate read neither; a load run may not read the release.
 */
export function targetRead(target: RunReport['target']): { revision?: string; serverVersion?: string } {
  return {
    revision: target.revision > 0 ? `revision ${target.revision} (${target.releaseStatus})` : undefined,
    serverVersion: target.serverVersion !== 'unknown' ? target.serverVersion : undefined,
  };
}

export function totals(results: CheckResult[]): RunReport['totals'] {
  return {
    total: results.length,
    passed: results.filter((r) => r.verdict === 'pass').length,
    failed: results.filter((r) => r.verdict === 'fail').length,
    skipped: results.filter((r) => r.verdict === 'skip').length,
  };
}

/**
 * A `--contexts` run: each context validated as a run of its own, written into `dir` under
 * this run's directory; `report` is that run's report as written (secrets already redacted).
 */
export interface ContextsReport {
  runId: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** The first code of a context that could not be validated, else 1 when a check failed, else 0. */
  exitCode: number;
  totals: RunReport['totals'];
  contexts: { context: string; dir: string; report: RunReport }[];
}

/** The exit code of several runs: the first that could not validate, else 1 when one failed, else 0. */
export function combinedExitCode(codes: number[]): number {
  return codes.find((code) => code >= 2) ?? (codes.some((code) => code !== 0) ? 1 : 0);
}
