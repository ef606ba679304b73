// Bounded waits. Every wait has a deadline, names what it waited for, and says what it last
// saw when it gives up; a probe can also declare the state hopeless to stop at once.

export class WaitTimeout extends Error {
  constructor(
    readonly description: string,
    readonly timeoutMs: number,
    readonly lastSeen: string,
  ) {
    super(`timed out after ${(timeoutMs / 1000).toFixed(1)} s waiting for ${description}; last seen: ${lastSeen}`);
    this.name = 'WaitTimeout';
  }
}

/** Thrown by a probe when waiting longer cannot help (an image that cannot be pulled, a crash loop). */
export class Hopeless extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Hopeless';
  }
}

export type Probe<T> = () => Promise<{ done: true; value: T } | { done: false; seen: string }>;

export interface WaitOptions {
  timeoutMs: number;
  /** Pause between polls; the first poll runs at once. */
  intervalMs?: number;
  signal?: AbortSignal;
  /** Injected for tests. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((done, fail) => {
    if (signal?.aborted) {
      fail(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      done();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      fail(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Poll `probe` until it reports done, it throws Hopeless (rethrown at once), or the deadline
 * passes (WaitTimeout with the last thing seen). Other probe errors count as "seen" and are
 * retried: a transient API error must not end a wait.
 */
export async function waitUntil<T>(description: string, probe: Probe<T>, options: WaitOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const pause = options.sleep ?? sleep;
  const interval = options.intervalMs ?? 500;
  const deadline = now() + options.timeoutMs;
  let lastSeen = 'nothing yet';
  for (;;) {
    try {
      const result = await probe();
      if (result.done) return result.value;
      lastSeen = result.seen;
    } catch (error) {
      if (error instanceof Hopeless) throw error;
      lastSeen = `error: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
    }
    const left = deadline - now();
    if (left <= 0) throw new WaitTimeout(description, options.timeoutMs, lastSeen);
    await pause(Math.min(interval, left), options.signal);
  }
}

/** Run `work` with a deadline; rejects with a message naming what timed out. */
export async function withTimeout<T>(description: string, ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => {
      const error = new Error(`${description} did not finish within ${(ms / 1000).toFixed(1)} s`);
      // Reject first: aborting can settle the work synchronously, and the race must see the timeout.
      fail(error);
      controller.abort(error);
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
