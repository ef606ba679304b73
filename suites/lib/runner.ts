// Runs checks concurrently, each as soon as the checks it waits for have finished, each
// under its own deadline, which cancels it (its signal aborts); a failing check never stops
// the others, unless --fail-fast. Retries only for checks that declare themselves retryable.
import { CheckFailure, CheckSkip, Recorder, type Check, type CheckContext, type CheckResult } from './check.js';
import type { SuiteConfig } from './config.js';
import { InputError, oneLine } from './errors.js';
import { withTimeout } from './wait.js';

/**
 * The checks --only and --skip leave. A name that is neither a check id nor a group is a
 * typo, refused before anything runs, even when the other names match.
 */
export function selectChecks(checks: Check[], only: string[], skip: string[], grep?: RegExp): Check[] {
  const known = new Set(checks.flatMap((check) => [check.id, check.group]));
  for (const [flag, names] of [['--only', only], ['--skip', skip]] as const) {
    const unknown = names.filter((name) => !known.has(name));
    if (unknown.length > 0) {
      throw new InputError('usage', `${flag}: no check or group named ${unknown.map((name) => `"${name}"`).join(', ')} (npm test -- --list shows them)`);
    }
  }
  const matches = (check: Check, names: readonly string[]) => names.includes(check.id) || names.includes(check.group);
  const grepped = (check: Check) => !grep || grep.test(check.id) || grep.test(check.title);
  return checks.filter((check) => (only.length === 0 || matches(check, only)) && !matches(check, skip) && grepped(check));
}

/** What is wrong with the checks' order: a check waiting for an id that is no check, or a cycle. */
export type OrderProblem = { kind: 'unknown'; check: string; after: string; message: string } | { kind: 'cycle'; cycle: string[]; message: string };

/**
 * A check's `after` must name checks that exist, and never lead back to it: a cycle would
 * wait forever. The first problem found, or undefined.
 */
export function orderProblem(checks: readonly Check[]): OrderProblem | undefined {
  const byId = new Map(checks.map((check) => [check.id, check]));
  for (const check of checks) {
    for (const id of check.after ?? []) {
      if (!byId.has(id)) return { kind: 'unknown', check: check.id, after: id, message: `check ${check.id} waits for "${id}", which is not a check` };
    }
  }
  const done = new Set<string>();
  const visit = (check: Check, path: string[]): OrderProblem | undefined => {
    if (done.has(check.id)) return undefined;
    if (path.includes(check.id)) {
      const cycle = [...path.slice(path.indexOf(check.id)), check.id];
      return { kind: 'cycle', cycle, message: `checks wait for each other in a cycle: ${cycle.join(' -> ')}` };
    }
    for (const id of check.after ?? []) {
      const problem = visit(byId.get(id) as Check, [...path, check.id]);
      if (problem) return problem;
    }
    done.add(check.id);
    return undefined;
  };
  for (const check of checks) {
    const problem = visit(check, []);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * The built-in order is the suite's own: a problem there is a programming error, thrown
 * before anything runs. A team's checks are refused as bad usage when they are loaded.
 */
export function validateOrder(checks: readonly Check[]): void {
  const problem = orderProblem(checks);
  if (problem) throw new Error(problem.message);
}

/** A signal that aborts with the first of these that does (a context may come without one). */
const anySignal = (...signals: (AbortSignal | undefined)[]): AbortSignal => AbortSignal.any(signals.filter((signal): signal is AbortSignal => signal !== undefined));

export async function runOne(check: Check, ctx: CheckContext, timeoutMs: number): Promise<CheckResult> {
  const rec = new Recorder();
  const startedAt = new Date();
  const started = performance.now();
  let verdict: CheckResult['verdict'] = 'pass';
  let reason = '';
  let expected: string | undefined;
  let actual: string | undefined;
  try {
    // The check's own signal aborts at its deadline and when the run is cancelled, so a
    // timed-out check stops its work instead of running on unseen.
    await withTimeout(`check ${check.id}`, timeoutMs, (signal) => check.run({ ...ctx, signal: anySignal(ctx.signal, signal) }, rec));
    reason = rec.summary || 'passed';
  } catch (error) {
    if (error instanceof CheckSkip) {
      verdict = 'skip';
      reason = `skipped: ${error.message}`;
    } else {
      verdict = 'fail';
      reason = error instanceof CheckFailure ? error.message : oneLine(error);
      if (error instanceof CheckFailure) {
        expected = error.expected;
        actual = error.actual;
      }
    }
  }
  const scrub = (text: string | undefined) => (text === undefined ? undefined : ctx.redactor.scrub(text));
  return {
    id: check.id,
    title: check.title,
    group: check.group,
    criterion: check.criterion,
    verdict,
    reason: ctx.redactor.scrub(reason),
    expected: scrub(expected),
    actual: scrub(actual),
    measurements: rec.measurements,
    series: rec.series,
    evidence: rec.evidence.map((line) => ctx.redactor.scrub(line)),
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    pods: [...rec.pods],
    ...(rec.artifacts.length > 0 ? { artifacts: rec.artifacts } : {}),
  };
}

/**
 * Under --strict a gate must prove every criterion: a skip that is not allowed (by id or
 * group) becomes a failure that keeps the skip's reason.
 */
export function strictVerdict(result: CheckResult, config: Pick<SuiteConfig, 'strict' | 'allowSkips'>): CheckResult {
  if (!config.strict || result.verdict !== 'skip') return result;
  if (config.allowSkips.includes(result.id) || config.allowSkips.includes(result.group)) return result;
  const why = result.reason.replace(/^skipped: /, '');
  return { ...result, verdict: 'fail', reason: `skipped, which --strict does not allow (--allow-skip ${result.id} to allow it): ${why}` };
}

export interface RunHooks {
  onResult?: (result: CheckResult) => void;
  /** Called every `progressEveryMs` while checks run, with the ones still running. */
  onProgress?: (running: { id: string; ms: number }[]) => void;
  progressEveryMs?: number;
}

const skipped = (check: Check, reason: string): CheckResult => ({
  id: check.id,
  title: check.title,
  group: check.group,
  criterion: check.criterion,
  verdict: 'skip',
  reason: `skipped: ${reason}`,
  measurements: [],
  series: [],
  evidence: [],
  startedAt: new Date().toISOString(),
  durationMs: 0,
  pods: [],
});

export async function runChecks(checks: Check[], ctx: CheckContext, hooks: RunHooks = {}): Promise<CheckResult[]> {
  const { config } = ctx;
  const timeoutMs = config.limits.checkSeconds * 1000;
  // The whole run's deadline (--timeout) cancels the checks still running.
  const cancel = new AbortController();
  const runCtx: CheckContext = { ...ctx, signal: anySignal(ctx.signal, cancel.signal) };
  let timedOut: string | undefined;
  // --fail-fast: checks not started yet are skipped; those running finish.
  let stopped: string | undefined;
  const deadline =
    config.runTimeoutSeconds === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = `the run's --timeout of ${config.runTimeoutSeconds} s passed`;
          cancel.abort(new Error(timedOut));
        }, config.runTimeoutSeconds * 1000);
  const started = new Map<string, number>();
  const finished = new Set<string>();
  const progress = hooks.onProgress
    ? setInterval(() => {
        const now = performance.now();
        const running = [...started].filter(([id]) => !finished.has(id)).map(([id, at]) => ({ id, ms: Math.round(now - at) }));
        if (running.length > 0) hooks.onProgress?.(running);
      }, hooks.progressEveryMs ?? 10_000)
    : undefined;

  const attempt = async (check: Check): Promise<CheckResult> => {
    const result = strictVerdict(await runOne(check, runCtx, timeoutMs), config);
    if (timedOut && result.verdict !== 'pass') return { ...result, verdict: 'fail', reason: `${result.reason} (cancelled: ${timedOut})` };
    return result;
  };
  const running = new Map<string, Promise<CheckResult>>();
  const ids = new Set(checks.map((check) => check.id));
  const start = (check: Check): Promise<CheckResult> => {
    const existing = running.get(check.id);
    if (existing) return existing;
    const promise = (async () => {
      const before = (check.after ?? []).filter((id) => ids.has(id) && id !== check.id);
      await Promise.allSettled(before.map((id) => start(checks.find((c) => c.id === id) as Check)));
      let result: CheckResult;
      if (timedOut) {
        result = { ...skipped(check, ''), verdict: 'fail', reason: `not run: ${timedOut}` };
      } else if (stopped) {
        result = skipped(check, stopped);
      } else {
        started.set(check.id, performance.now());
        result = await attempt(check);
        const retries = check.retryable ? config.retries : 0;
        for (let retry = 1; retry <= retries && result.verdict === 'fail' && !timedOut; retry += 1) {
          const again = await attempt(check);
          result = { ...again, reason: `${again.reason} (attempt ${retry + 1} of ${retries + 1}; the first failed: ${result.reason})` };
        }
        finished.add(check.id);
        if (result.verdict === 'fail' && config.failFast) stopped ??= `--fail-fast after ${check.id} failed`;
      }
      hooks.onResult?.(result);
      return result;
    })();
    running.set(check.id, promise);
    return promise;
  };
  try {
    return await Promise.all(checks.map((check) => start(check)));
  } finally {
    clearTimeout(deadline);
    clearInterval(progress);
  }
}
