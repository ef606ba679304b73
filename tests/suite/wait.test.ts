import { describe, expect, it } from 'vitest';
import { Hopeless, waitUntil, WaitTimeout, withTimeout } from '../../suites/lib/wait.js';

describe('waitUntil', () => {
  it('returns the value once the probe is done', async () => {
    let calls = 0;
    const value = await waitUntil('three polls', async () => (++calls >= 3 ? { done: true, value: calls } : { done: false, seen: `poll ${calls}` }), { timeoutMs: 2000, intervalMs: 5 });
    expect(value).toBe(3);
  });

  it('gives up at the deadline and says what it waited for and last saw', async () => {
    let calls = 0;
    const started = Date.now();
    const error = await waitUntil('pods ready', async () => ({ done: false, seen: `pod a Pending (poll ${++calls})` }), { timeoutMs: 150, intervalMs: 20 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeout);
    expect((error as WaitTimeout).message).toMatch(/waiting for pods ready; last seen: pod a Pending \(poll \d+\)/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('stops at once on a hopeless state', async () => {
    const started = Date.now();
    const error = await waitUntil('pods ready', async () => {
      throw new Hopeless('pod x container y: ImagePullBackOff');
    }, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Hopeless);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('treats other probe errors as seen and keeps polling', async () => {
    let calls = 0;
    const value = await waitUntil('flaky', async () => {
      calls += 1;
      if (calls < 3) throw new Error('connection reset');
      return { done: true, value: 'ok' };
    }, { timeoutMs: 2000, intervalMs: 5 });
    expect(value).toBe('ok');
    const error = await waitUntil('never', async () => {
      throw new Error('connection refused');
    }, { timeoutMs: 50, intervalMs: 10 }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('last seen: error: connection refused');
  });

  it('uses injected time without sleeping for real', async () => {
    let now = 0;
    const error = await waitUntil('virtual', async () => ({ done: false, seen: `t=${now}` }), {
      timeoutMs: 10_000,
      intervalMs: 1000,
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    }).catch((e: unknown) => e);
    expect((error as WaitTimeout).lastSeen).toBe('t=10000');
  });
});

describe('withTimeout', () => {
  it('rejects with the name of what timed out and aborts the work', async () => {
    let aborted = false;
    const error = await withTimeout('slow thing', 30, (signal) => new Promise((resolve) => {
      signal.addEventListener('abort', () => {
        aborted = true;
        resolve(undefined);
      });
    })).catch((e: unknown) => e);
    expect((error as Error).message).toBe('slow thing did not finish within 0.0 s');
    expect(aborted).toBe(true);
  });
});
