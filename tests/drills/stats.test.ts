// The pure parts of the drills and the load test: outage windows, percentiles, buckets,
// verdicts, quantities, the Job's result lines.
import { describe, expect, it } from 'vitest';
import { defaultMix } from '../../suites/load/mix.js';
import { allPass, atMost, eventLatencyText, histogram, longestOutageMs, outageWindows, percentile, perSecond, summarize, type ProbeResult } from '../../suites/drills/stats.js';
import { buildReport, goDurationMs, latencyByOp, progressLine, windowStartMs, type LoadResponse, type LoadSamples } from '../../suites/load/load.js';
import { bytes, cpuMillis } from '../../suites/lib/quantity.js';
import { loadJob, parseResultLines, resultMarker } from '../../suites/load/job.js';
import { candidateArgs, isPending } from '../../suites/drills/helm.js';
import { defaultAuthRoutes } from '../../suites/lib/config.js';

const noContainers = { runs: [], note: 'no cluster (generator only)' };

const probe = (target: string, at: number, ok: boolean, ms = 10): ProbeResult => ({ target, at, ok, ms, error: ok ? undefined : 'HTTP 502' });

describe('outage windows', () => {
  it('is empty when every probe passed', () => {
    expect(outageWindows([probe('api', 0, true), probe('api', 200, true)])).toEqual([]);
    expect(longestOutageMs([])).toBe(0);
  });

  it('runs from the first failure to the next success, per target', () => {
    const windows = outageWindows([
      probe('api', 0, true), probe('api', 200, false), probe('api', 400, false), probe('api', 600, true),
      probe('frontend', 100, false), probe('frontend', 300, true),
      probe('api', 800, false), probe('api', 1000, true),
    ]);
    expect(windows).toEqual([
      { target: 'frontend', from: 100, to: 300, ms: 200, failures: 1 },
      { target: 'api', from: 200, to: 600, ms: 400, failures: 2 },
      { target: 'api', from: 800, to: 1000, ms: 200, failures: 1 },
    ]);
    expect(longestOutageMs(windows)).toBe(400);
  });

  it('closes a trailing outage at the end of the last failed probe, and sorts input by time', () => {
    const windows = outageWindows([probe('api', 500, false, 50), probe('api', 0, true), probe('api', 300, false, 20)]);
    expect(windows).toEqual([{ target: 'api', from: 300, to: 550, ms: 250, failures: 2 }]);
  });
});

describe('event latency during a drill', () => {
  const event = (latencyMs: number | undefined, ok = true): ProbeResult => ({ target: 'event-flow', at: 0, ms: 100, ok, latencyMs });
  it('names how many events were processed and the slowest, and those over the target', () => {
    expect(eventLatencyText([event(800), event(1200), event(5400), event(undefined, false), { target: 'api', at: 0, ms: 9000, ok: true }]))
      .toBe('3 events processed, median 1200 ms, slowest 5400 ms (1 over the 5000 ms target)');
    expect(eventLatencyText([event(800)])).toBe('1 event processed, median 800 ms, slowest 800 ms');
    expect(eventLatencyText([event(undefined, false)])).toBe('no event processed');
  });
});

describe('percentiles and buckets', () => {
  it('uses the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 95)).toBe(95);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(summarize([1, 2, 3, 4])).toMatchObject({ count: 4, min: 1, max: 4, p50: 2, mean: 2.5 });
  });

  it('buckets per second with errors and percentiles', () => {
    const buckets = perSecond([{ at: 1000, ms: 10, ok: true }, { at: 1500, ms: 30, ok: false }, { at: 2100, ms: 5, ok: true }], 1000);
    expect(buckets).toEqual([
      { second: 0, requests: 2, errors: 1, p50: 10, p95: 30, max: 30 },
      { second: 1, requests: 1, errors: 0, p50: 5, p95: 5, max: 5 },
    ]);
  });

  it('fills histogram bins by upper bound', () => {
    const bins = histogram([1, 5, 6, 3000, 99999]);
    expect(bins[0]).toEqual({ le: 5, count: 2 });
    expect(bins[1]).toEqual({ le: 10, count: 1 });
    expect(bins.at(-2)).toEqual({ le: 5000, count: 1 });
    expect(bins.at(-1)).toEqual({ le: 'inf', count: 1 });
  });
});

describe('verdicts', () => {
  it('passes at the limit, fails above it and when nothing was measured', () => {
    expect(atMost('p95', 2000, 2000, 'ms').pass).toBe(true);
    expect(atMost('p95', 2001, 2000, 'ms').pass).toBe(false);
    expect(atMost('p95', Number.NaN, 2000, 'ms')).toMatchObject({ pass: false, detail: 'not measured ms (limit 2000 ms)' });
    expect(allPass([atMost('a', 1, 2, 's'), atMost('b', 3, 2, 's')])).toBe(false);
  });

  it('merges generators and applies the load thresholds', () => {
    const sample = (offset: number, ok: number): LoadSamples => ({
      startMs: 1000 + offset, endMs: 11_000 + offset, users: 10,
      responses: Array.from({ length: 100 }, (_, i) => [1000 + offset + i * 100, i < 95 ? 20 : 900, i === 0 ? ok : 1, 'list'] as LoadResponse),
      errors: ok ? {} : { 'HTTP 502': 1 }, eventFlowMs: [800], eventFailures: [], byOp: { list: 50, create: 50 },
    });
    const limits = { base: 'http://x', durationSeconds: 10, p95LimitMs: 2000, errorRatePercent: 1, eventLimitMs: 5000, usagePercent: 80, throttleSharePercent: 25, mix: defaultMix };
    const green = buildReport([sample(0, 1), sample(50, 1)], limits, [], '', noContainers);
    expect(green).toMatchObject({ generators: 2, users: 20, requests: 200, errorRatePercent: 0, pass: true });
    expect(green.byOp).toEqual({ list: 100, create: 100 });
    const red = buildReport([sample(0, 0)], limits, [], '', noContainers);
    expect(red.errorRatePercent).toBe(1);
    expect(red.pass).toBe(true);
    const redder = buildReport([sample(0, 0)], { ...limits, errorRatePercent: 0.5 }, [], '', noContainers);
    expect(redder.verdicts.find((v) => v.name === 'error rate')?.pass).toBe(false);
  });

  it('gives the latency of each kind of request, and a progress line on the last ten seconds', () => {
    // In the order they arrived, as the generator records them.
    const responses = Array.from({ length: 20 }, (_, i): LoadResponse[] => [
      [500 + i * 1000, 10 + i, 1, 'list'],
      [500 + i * 1000, 100 + i, 1, 'create'],
    ]).flat();
    const byOp = latencyByOp(responses);
    expect(Object.keys(byOp)).toEqual(['list', 'create']);
    expect(byOp.list).toMatchObject({ count: 20, p50: 19, p95: 28, max: 29 });
    expect(byOp.create).toMatchObject({ count: 20, p95: 118 });
    expect(progressLine(responses, { 'HTTP 502': 2 }, 0, 20_000)).toBe('20 s: 2.0 req/s, p95 118 ms over the last 10 s; 40 responses, 2 errors so far');
    expect(progressLine([], {}, 0, 10_000)).toBe('10 s: 0.0 req/s, no responses over the last 10 s; 0 responses, 0 errors so far');
  });
});

describe('quantities, helm candidates, the Job', () => {
  it('parses CPU and memory quantities', () => {
    expect(cpuMillis('250m')).toBe(250);
    expect(cpuMillis('1')).toBe(1000);
    expect(cpuMillis('5000000n')).toBe(5);
    expect(bytes('128Mi')).toBe(128 * 1024 * 1024);
    expect(bytes('1G')).toBe(1e9);
    expect(bytes('12345')).toBe(12345);
  });

  it('names its candidates and spots pending releases', () => {
    expect(candidateArgs('bad-image', 'x').join(' ')).toContain('backend.image.repository=todo-drill-missing-image');
    expect(candidateArgs('restart', 'x').join(' ')).toContain('podAnnotations');
    expect(() => candidateArgs('nope', 'x')).toThrow(/unknown candidate/);
    expect(isPending('pending-upgrade')).toBe(true);
    expect(isPending('deployed')).toBe(false);
  });

  it('builds a Job of N pods that holds no secret, and reads their result lines', () => {
    const job = loadJob('todo-load-x', { pods: 3, image: 'todo-suite', argv: ['--worker'], durationSeconds: 10, authRoutes: { ...defaultAuthRoutes, signIn: '/login' } });
    expect(job.spec?.parallelism).toBe(3);
    const env = job.spec?.template.spec?.containers[0]?.env ?? [];
    expect(env.map((e) => e.name)).toEqual(['TODO_LOAD_AUTH_ROUTES']);
    expect(JSON.parse(env[0]?.value ?? '{}')).toMatchObject({ signIn: '/login', signUp: '/api/auth/sign-up/email' });
    expect(job.spec?.completions).toBe(3);
    expect(job.spec?.template.spec?.containers[0]?.command).toEqual(['node', '--import', 'tsx', 'suites/load/cli.ts', '--worker']);
    const line: LoadSamples = { startMs: 1, endMs: 2, users: 1, responses: [], errors: {}, eventFlowMs: [], eventFailures: [], byOp: {} };
    expect(parseResultLines(`noise\n${resultMarker}${JSON.stringify(line)}\nmore`)).toEqual([line]);
  });
});

describe('metrics.k8s.io windows', () => {
  it('reads Go durations and where a reading\'s window began', () => {
    expect(goDurationMs('10.5s')).toBe(10_500);
    expect(goDurationMs('1m0s')).toBe(60_000);
    expect(goDurationMs('150ms')).toBe(150);
    expect(goDurationMs('soon')).toBeUndefined();
    expect(goDurationMs(undefined)).toBeUndefined();
    expect(windowStartMs({ timestamp: '2026-01-01T00:00:20Z', window: '15s' })).toBe(Date.parse('2026-01-01T00:00:05Z'));
    expect(windowStartMs({ timestamp: '2026-01-01T00:00:20Z' })).toBeUndefined();
  });
});
