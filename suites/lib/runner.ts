// Runs checks concurrently, each as soon as the checks it waits for have finished, each
// under its own deadline; a failing check never stops the others.
import { CheckFailure, CheckSkip, Recorder, type Check, type CheckContext, type CheckResult } from './check.js';
import type { SuiteConfig } from './config.js';
import { InputError, oneLine } from './errors.js';
import { withTimeout } from './wait.js';

/**
 * The checks --only and --skip leave. A name that is neither a check id nor a group is a
 * typo, refused before anything runs, even when the other names match.
 */
export function selectChecks(checks: Check[], only: string[], skip: string[]): Check[] {
  const known = new Set(checks.flatMap((check) => [check.id, check.group]));
  for (const [flag, names] of [['--only', only], ['--skip', skip]] as const) {
    const unknown = names.filter((name) => !known.has(name));
    if (unknown.length > 0) {
      throw new InputError('usage', `${flag}: no check or group named ${unknown.map((name) => `"${name}"`).join(', ')} (npm test -- --list shows them)`);
    }
  }
  const matches = (check: Check, names: readonly string[]) => names.includes(check.id) || names.includes(check.group);
  return checks.filter((check) => (only.length === 0 || matches(check, only)) && !matches(check, skip));
}

/**
 * A check's `after` must name checks that exist, and never lead back to it: a cycle would
 * wait forever. Thrown as a programming error of the check set, before anything runs.
 */
export function validateOrder(checks: Check[]): void {
  const byId = new Map(checks.map((check) => [check.id, check]));
  for (const check of checks) {
    for (const id of check.after ?? []) {
      if (!byId.has(id)) throw new Error(`check ${check.id} waits for "${id}", which is not a check`);
    }
  }
  const done = new Set<string>();
  const visit = (check: Check, path: string[]): void => {
    if (done.has(check.id)) return;
    if (path.includes(check.id)) throw new Error(`checks wait for each other in a cycle: ${[...path.slice(path.indexOf(check.id)), check.id].join(' -> ')}`);
    for (const id of check.after ?? []) visit(byId.get(id) as Check, [...path, check.id]);
    done.add(check.id);
  };
  for (const check of checks) visit(check, []);
}

export async function runOne(check: Check, ctx: CheckContext, timeoutMs: number): Promise<CheckResult> {
  const rec = new Recorder();
  const startedAt = new Date();
  const started = performance.now();
  let verdict: CheckResult['verdict'] = 'pass';
  let reason = '';
  let expected: string | undefined;
  let actual: string | undefined;
  try {
    await withTimeout(`check ${check.id}`, timeoutMs, () => check.run(ctx, rec));
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

export async function runChecks(
  checks: Check[],
  ctx: CheckContext,
  onResult: (result: CheckResult) => void = () => undefined,
): Promise<CheckResult[]> {
  const timeoutMs = ctx.config.limits.checkSeconds * 1000;
  const running = new Map<string, Promise<CheckResult>>();
  const ids = new Set(checks.map((check) => check.id));
  const start = (check: Check): Promise<CheckResult> => {
    const existing = running.get(check.id);
    if (existing) return existing;
    const promise = (async () => {
      const before = (check.after ?? []).filter((id) => ids.has(id) && id !== check.id);
      await Promise.allSettled(before.map((id) => start(checks.find((c) => c.id === id) as Check)));
      const result = strictVerdict(await runOne(check, ctx, timeoutMs), ctx.config);
      onResult(result);
      return result;
    })();
    running.set(check.id, promise);
    return promise;
  };
  const results = await Promise.all(checks.map((check) => start(check)));
  return results;
}
