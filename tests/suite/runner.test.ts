// The runner's controls, on checks that only wait: --fail-fast, --retries for retryable
// checks only, a check's deadline cancelling it, the run's --timeout, --grep, progress.
import { describe, expect, it } from 'vitest';
import { CheckFailure, type Check, type CheckContext } from '../../suites/lib/check.js';
import type { SuiteConfig } from '../../suites/lib/config.js';
import { Redactor } from '../../suites/lib/redact.js';
import { runChecks, selectChecks } from '../../suites/lib/runner.js';
import { sleep } from '../../suites/lib/wait.js';

function context(over: Partial<SuiteConfig> = {}, checkSeconds = 5): CheckContext {
  const config = { strict: false, allowSkips: [], retries: 0, failFast: false, runTimeoutSeconds: undefined, limits: { checkSeconds }, ...over } as unknown as SuiteConfig;
  return { config, redactor: new Redactor(), signal: new AbortController().signal } as unknown as CheckContext;
}

const check = (id: string, run: Check['run'], more: Partial<Check> = {}): Check => ({ id, title: `title of ${id}`, group: 'g', criterion: 'c', run, ...more });
const pass = (ms: number) => async (ctx: CheckContext) => sleep(ms, ctx.signal);
const fail = (ms: number) => async (ctx: CheckContext) => {
  await sleep(ms, ctx.signal);
  throw new CheckFailure('broken');
};

describe('the runner', () => {
  it('--fail-fast skips the checks that have not started after the first failure; running ones finish', async () => {
    const checks = [check('a', fail(10)), check('b', pass(200)), check('c', pass(10), { after: ['a'] })];
    const results = await runChecks(checks, context({ failFast: true }));
    expect(results.map((r) => [r.id, r.verdict, r.reason])).toEqual([
      ['a', 'fail', 'broken'],
      ['b', 'pass', 'passed'],
      ['c', 'skip', 'skipped: --fail-fast after a failed'],
    ]);
  });

  it('--retries runs a failing retryable check again, and never a state check', async () => {
    let latencyRuns = 0;
    let stateRuns = 0;
    const latency = check('latency', async () => {
      latencyRuns += 1;
      if (latencyRuns < 3) throw new CheckFailure(`slow ${latencyRuns}`);
    }, { retryable: true });
    const state = check('state', async () => {
      stateRuns += 1;
      throw new CheckFailure('pod down');
    });
    const results = await runChecks([latency, state], context({ retries: 2 }));
    expect(latencyRuns).toBe(3);
    expect(stateRuns).toBe(1);
    expect(results[0]?.verdict).toBe('pass');
    expect(results[0]?.reason).toBe('passed (attempt 3 of 3; the first failed: slow 2 (attempt 2 of 3; the first failed: slow 1))');
    expect(results[1]?.verdict).toBe('fail');
  });

  it("a check's deadline cancels it: its signal aborts, and its work stops", async () => {
    let reachedTheEnd = false;
    const slow = check('slow', async (ctx) => {
      await sleep(2_000, ctx.signal);
      reachedTheEnd = true;
    });
    const results = await runChecks([slow], context({}, 0.2));
    expect(results[0]?.verdict).toBe('fail');
    expect(results[0]?.reason).toMatch(/did not finish within 0\.2 s/);
    await sleep(2_100);
    expect(reachedTheEnd).toBe(false);
  });

  it("the run's --timeout fails what is still running and what has not started", async () => {
    const checks = [check('quick', pass(10)), check('long', pass(5_000)), check('later', pass(10), { after: ['long'] })];
    const started = performance.now();
    const results = await runChecks(checks, context({ runTimeoutSeconds: 1 }, 30));
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(results.map((r) => r.verdict)).toEqual(['pass', 'fail', 'fail']);
    expect(results[1]?.reason).toMatch(/cancelled: the run's --timeout of 1 s passed/);
    expect(results[2]?.reason).toBe("not run: the run's --timeout of 1 s passed");
  });

  it('reports the checks still running while they wait', async () => {
    const seen: string[][] = [];
    await runChecks([check('waits', pass(350))], context(), { onProgress: (running) => seen.push(running.map((r) => r.id)), progressEveryMs: 100 });
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen[0]).toEqual(['waits']);
  });

  it('--grep selects by id or title, with --only and --skip', () => {
    const checks = [check('pods-ready', pass(0)), check('api-crud-latency', pass(0), { title: 'API CRUD p95' }), check('frontend-load', pass(0))];
    expect(selectChecks(checks, [], [], /latency|frontend/i).map((c) => c.id)).toEqual(['api-crud-latency', 'frontend-load']);
    expect(selectChecks(checks, [], ['frontend-load'], /crud p95|load/i).map((c) => c.id)).toEqual(['api-crud-latency']);
  });
});
