// Pure computations shared by the drills and the load test: outage windows from probe
// results, percentiles, per-second buckets and verdicts. No I/O, so they are unit-tested.

export interface ProbeResult {
  target: string;
  /** Start of the probe, ms since the epoch. */
  at: number;
  ms: number;
  ok: boolean;
  status?: number;
  error?: string;
  /** What the probe measures beyond its own duration (the event flow: completion to next occurrence). */
  latencyMs?: number;
}

export interface OutageWindow {
  target: string;
  /** Start of the first failed probe. */
  from: number;
  /** Start of the next successful probe, or the end of the last failed one when none followed. */
  to: number;
  ms: number;
  failures: number;
}

/**
 * Consecutive failed probes of one target form one window: from the start of the first
 * failure to the start of the next success (the service was seen down for that long).
 */
export function outageWindows(results: readonly ProbeResult[]): OutageWindow[] {
  const byTarget = new Map<string, ProbeResult[]>();
  for (const result of results) {
    const list = byTarget.get(result.target) ?? [];
    list.push(result);
    byTarget.set(result.target, list);
  }
  const windows: OutageWindow[] = [];
  for (const [target, list] of byTarget) {
    const sorted = [...list].sort((a, b) => a.at - b.at);
    let open: { from: number; lastEnd: number; failures: number } | undefined;
    for (const probe of sorted) {
      if (!probe.ok) {
        if (open) {
          open.failures += 1;
          open.lastEnd = Math.max(open.lastEnd, probe.at + probe.ms);
        } else {
          open = { from: probe.at, lastEnd: probe.at + probe.ms, failures: 1 };
        }
      } else if (open) {
        windows.push({ target, from: open.from, to: probe.at, ms: probe.at - open.from, failures: open.failures });
        open = undefined;
      }
    }
    if (open) windows.push({ target, from: open.from, to: open.lastEnd, ms: open.lastEnd - open.from, failures: open.failures });
  }
  return windows.sort((a, b) => a.from - b.from);
}

/**
 * The event flow during a drill, in words: how many events were processed and how fast. An
 * event slower than the steady-state target (5 s, which the suite's event-flow check holds
 * the release to) during a rollout is named here, not counted as downtime.
 */
export function eventLatencyText(results: readonly ProbeResult[], targetMs = 5000): string {
  const latencies = results.filter((r) => r.target === 'event-flow' && r.ok && r.latencyMs !== undefined).map((r) => r.latencyMs ?? 0);
  if (latencies.length === 0) return 'no event processed';
  const slowest = Math.max(...latencies);
  const over = latencies.filter((ms) => ms > targetMs).length;
  return `${latencies.length} event${latencies.length === 1 ? '' : 's'} processed, median ${percentile(latencies, 50)} ms, slowest ${slowest} ms${over > 0 ? ` (${over} over the ${targetMs} ms target)` : ''}`;
}

export function longestOutageMs(windows: readonly OutageWindow[]): number {
  return windows.reduce((max, window) => Math.max(max, window.ms), 0);
}

/** Nearest-rank percentile; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number;
}

export interface Summary {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: readonly number[]): Summary {
  const round = (v: number) => (Number.isFinite(v) ? Math.round(v * 10) / 10 : Number.NaN);
  const mean = values.length ? values.reduce((sum, v) => sum + v, 0) / values.length : Number.NaN;
  return {
    count: values.length,
    min: round(values.length ? Math.min(...values) : Number.NaN),
    p50: round(percentile(values, 50)),
    p90: round(percentile(values, 90)),
    p95: round(percentile(values, 95)),
    p99: round(percentile(values, 99)),
    max: round(values.length ? Math.max(...values) : Number.NaN),
    mean: round(mean),
  };
}

export interface SecondBucket {
  /** Seconds since the start. */
  second: number;
  requests: number;
  errors: number;
  p50: number;
  p95: number;
  max: number;
}

/** Latency percentiles and throughput per second of a run. */
export function perSecond(samples: readonly { at: number; ms: number; ok: boolean }[], start: number): SecondBucket[] {
  const buckets = new Map<number, { ms: number[]; errors: number }>();
  for (const sample of samples) {
    const second = Math.max(0, Math.floor((sample.at - start) / 1000));
    const bucket = buckets.get(second) ?? { ms: [], errors: 0 };
    bucket.ms.push(sample.ms);
    if (!sample.ok) bucket.errors += 1;
    buckets.set(second, bucket);
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([second, bucket]) => ({
      second,
      requests: bucket.ms.length,
      errors: bucket.errors,
      p50: Math.round(percentile(bucket.ms, 50)),
      p95: Math.round(percentile(bucket.ms, 95)),
      max: Math.round(Math.max(...bucket.ms)),
    }));
}

/** Fixed latency histogram bins (upper bounds in ms); the last bin takes everything above. */
export const histogramBounds = [5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000] as const;

export function histogram(values: readonly number[]): { le: number | 'inf'; count: number }[] {
  const counts: number[] = new Array<number>(histogramBounds.length + 1).fill(0);
  for (const value of values) {
    const index = histogramBounds.findIndex((bound) => value <= bound);
    const at = index === -1 ? histogramBounds.length : index;
    counts[at] = (counts[at] ?? 0) + 1;
  }
  return counts.map((count, i) => ({ le: i < histogramBounds.length ? (histogramBounds[i] as number) : 'inf', count }));
}

export interface Verdict {
  /** Stable id, the testcase name in junit.xml (e.g. rollback-time, p95). */
  id?: string;
  name: string;
  pass: boolean;
  /** Could not be measured here; `detail` says why. Not a failure. */
  skip?: boolean;
  expected?: string;
  actual?: string;
  /** What was measured, in words, next to the limit. */
  detail: string;
}

export function atMost(name: string, value: number, limit: number, unit: string, id?: string): Verdict {
  const pass = Number.isFinite(value) && value <= limit;
  const actual = `${Number.isFinite(value) ? Math.round(value * 10) / 10 : 'not measured'} ${unit}`;
  return { id, name, pass, detail: `${actual} (limit ${limit} ${unit})`, expected: `<= ${limit} ${unit}`, actual };
}

export const allPass = (verdicts: readonly Verdict[]): boolean => verdicts.every((v) => v.pass);
