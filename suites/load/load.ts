// The load test: N virtual users (users.ts; one connection each, each a user signed
// up through the frontend's own routes beforehand, with the session it issued) go through a
// mix of task reads and writes against the frontend's public address (through its /api
// proxy), paced by a per-user request rate (the think time). Next to it, a low-rate
// event-flow probe measures the recurring-task latency under load, and the metrics API is
// sampled for pod CPU and memory against their limits.
import type * as k8s from '@kubernetes/client-node';
import { oneLine } from '../lib/errors.js';
import { bytes, cpuMillis } from '../lib/quantity.js';
import { compareCounters, readContainerCounters, restartsVerdict, throttlingVerdict, type ContainerCounters, type ContainerRun } from './containers.js';
import type { Kube } from '../lib/kube.js';
import type { Redactor } from '../lib/redact.js';
import type { AuthRoutes } from '../lib/config.js';
import { eventFlowOnce, freshRequest, signedInClient, type ApiClient } from '../drills/probe.js';
import { mixOps, mixRequests, mixSequence, pageAssets, type Mix, type MixOp } from './mix.js';
import { runUsers } from './users.js';
import { atMost, histogram, perSecond, summarize, type SecondBucket, type Summary, type Verdict } from '../drills/stats.js';

export interface LoadOptions {
  base: string;
  /** The frontend's sign-in routes: every user signs up through them before the load starts. */
  authRoutes: AuthRoutes;
  users: number;
  durationSeconds: number;
  /** Requests per second of one user: 1 / think time. */
  ratePerUser: number;
  /** Prefix of the user ids, unique per run (and per pod in the Job). */
  userPrefix: string;
  p95LimitMs: number;
  errorRatePercent: number;
  eventLimitMs: number;
  usagePercent: number;
  /** Share of a container's CPU periods it may spend throttled before the run fails. */
  throttleSharePercent: number;
  /** What each user does, in requests per 100 of each kind. */
  mix: Mix;
  /** Interval between event-flow probes; 0 turns them off. */
  eventEverySeconds: number;
  /** Users signed up beforehand (the sweep's, kept from step to step); the rest are signed up here. */
  signedUp?: readonly ApiClient[];
  /** Called once the users are signed up, just before the load begins. */
  onStart?: () => Promise<void>;
  /** Pod metrics, when a cluster is at hand. */
  metrics?: { kube: Kube; namespace: string };
  /** Takes the users' passwords, so that no log line or report can show them. */
  redactor: Redactor;
  log?: (line: string) => void;
}

/** What one generator measured; several (Job pods) merge into one report. */
export interface LoadSamples {
  startMs: number;
  endMs: number;
  users: number;
  /** [at ms since epoch, latency ms, 1 ok / 0 error, kind of request] per response. */
  responses: LoadResponse[];
  errors: Record<string, number>;
  eventFlowMs: number[];
  eventFailures: string[];
  byOp: Record<string, number>;
}

export type LoadResponse = [at: number, ms: number, ok: number, op: MixOp];

export interface UsageSample {
  pod: string;
  container: string;
  cpuMillis: number;
  memoryBytes: number;
  cpuPercent?: number;
  memoryPercent?: number;
}

export interface LoadReport {
  base: string;
  generators: number;
  users: number;
  durationSeconds: number;
  startedAt: string;
  requests: number;
  throughput: number;
  errorRatePercent: number;
  latency: Summary;
  /** Latency of each kind of request (the mix's kinds that got a response). */
  latencyByOp: Partial<Record<MixOp, Summary>>;
  histogram: { le: number | 'inf'; count: number }[];
  perSecond: SecondBucket[];
  errors: Record<string, number>;
  /** The mix asked for (requests per 100 of each kind), and what was sent of each kind. */
  mix: Mix;
  byOp: Record<string, number>;
  eventFlow: Summary & { failures: string[] };
  usage: { maxCpuPercent: number | undefined; maxMemoryPercent: number | undefined; top: UsageSample[]; note: string };
  /** Throttling, OOM kills, restarts and peak memory per container over the run (the kubelet's counters). */
  containers: { runs: ContainerRun[]; note: string; throttleSharePercent: number };
  verdicts: Verdict[];
  pass: boolean;
}

/** Sign up the users, a few at a time (the frontend hashes each password), before any load. */
export async function signUpUsers(options: Pick<LoadOptions, 'base' | 'authRoutes' | 'users' | 'userPrefix' | 'redactor' | 'log'>): Promise<ApiClient[]> {
  const started = performance.now();
  const clients: ApiClient[] = [];
  for (let i = 0; i < options.users; i += 10) {
    const batch = Array.from({ length: Math.min(10, options.users - i) }, (_, j) => signedInClient(options.base, options.authRoutes, `${options.userPrefix}-u${i + j}`, options.redactor, 10_000));
    clients.push(...(await Promise.all(batch)));
  }
  options.log?.(`signed up ${clients.length} users through the frontend in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return clients;
}

/** The static assets the frontend's page names, read once before the load as a browser would. */
async function assetsOfPage(base: string): Promise<string[]> {
  try {
    const page = await freshRequest(`${base.replace(/\/$/, '')}/`, { signal: AbortSignal.timeout(10_000) });
    return page.status === 200 ? pageAssets(page.text) : [];
  } catch {
    return [];
  }
}

/** Run the generator once; resolves with its raw samples. Bounded by the duration. */
export async function generate(options: LoadOptions): Promise<LoadSamples> {
  const url = new URL(options.base);
  const clients = options.signedUp && options.signedUp.length >= options.users ? options.signedUp.slice(0, options.users) : await signUpUsers(options);
  const assets = await assetsOfPage(options.base);
  const sequence = mixSequence(options.mix);
  const eventClient = options.eventEverySeconds > 0 ? await signedInClient(options.base, options.authRoutes, `${options.userPrefix}-event`, options.redactor, 10_000) : undefined;
  await options.onStart?.();
  const byOp: Record<string, number> = {};
  const responses: LoadResponse[] = [];
  const errors: Record<string, number> = {};
  // One request at a time per user: the kind a user sent last is the kind of its next answer.
  const lastSent: MixOp[] = [];
  const cycles = clients.map((user, index) => {
    // Each user starts at its own point of the cycle, as people do: in step, a hundred users
    // would all sign in (one password hash each) in the same second.
    const offset = Math.floor((index * sequence.length) / options.users) % sequence.length;
    const own = [...sequence.slice(offset), ...sequence.slice(0, offset)];
    const onSend = (op: MixOp) => {
      byOp[op] = (byOp[op] ?? 0) + 1;
      lastSent[index] = op;
    };
    return mixRequests({ user: user.user, headers: user.headers, credentials: user.credentials }, own, assets, options.authRoutes.signIn, onSend);
  });
  const startMs = Date.now();
  const eventFlowMs: number[] = [];
  const eventFailures: string[] = [];
  const eventLoop = (async () => {
    const client = eventClient;
    if (!client) return;
    const endAt = startMs + options.durationSeconds * 1000 - options.eventLimitMs;
    for (let i = 0; i < 1000 && Date.now() < endAt; i += 1) {
      try {
        const result = await eventFlowOnce(client, options.eventLimitMs);
        if (result.ok) eventFlowMs.push(Math.round(result.ms));
        else eventFailures.push(result.error ?? 'failed');
      } catch (error) {
        eventFailures.push(oneLine(error));
      }
      await new Promise((done) => setTimeout(done, options.eventEverySeconds * 1000));
    }
  })();

  const progress = setInterval(() => options.log?.(progressLine(responses, errors, startMs, Date.now())), progressEverySeconds * 1000);
  try {
    await runUsers(
      { origin: url.origin, cycles, intervalMs: 1000 / options.ratePerUser, durationMs: options.durationSeconds * 1000, timeoutMs: 10_000 },
      ({ user, status, ms }) => {
        const ok = status >= 200 && status < 400;
        responses.push([Date.now(), Math.round(ms * 10) / 10, ok ? 1 : 0, lastSent[user] ?? 'list']);
        if (!ok) errors[`HTTP ${status}`] = (errors[`HTTP ${status}`] ?? 0) + 1;
      },
      ({ code }) => {
        errors[code] = (errors[code] ?? 0) + 1;
      },
    );
  } finally {
    clearInterval(progress);
  }
  await eventLoop;
  return { startMs, endMs: Date.now(), users: options.users, responses, errors, eventFlowMs, eventFailures, byOp };
}

const progressEverySeconds = 10;

/** One line on the last interval of the run: so a person watching sees it live. */
export function progressLine(responses: readonly LoadResponse[], errors: Record<string, number>, startMs: number, nowMs: number): string {
  const since = nowMs - progressEverySeconds * 1000;
  const recent: number[] = [];
  for (let i = responses.length - 1; i >= 0; i -= 1) {
    const response = responses[i] as LoadResponse;
    if (response[0] < since) break;
    recent.push(response[1]);
  }
  const latency = summarize(recent);
  const failed = Object.values(errors).reduce((sum, n) => sum + n, 0);
  const p95 = recent.length > 0 ? `p95 ${latency.p95} ms` : 'no responses';
  return `${Math.round((nowMs - startMs) / 1000)} s: ${(recent.length / progressEverySeconds).toFixed(1)} req/s, ${p95} over the last ${progressEverySeconds} s; ${responses.length} responses, ${failed} errors so far`;
}

/** Latency percentiles of each kind of request. */
export function latencyByOp(responses: readonly LoadResponse[]): Partial<Record<MixOp, Summary>> {
  const byOp = new Map<MixOp, number[]>();
  for (const [, ms, , op] of responses) {
    const list = byOp.get(op) ?? [];
    list.push(ms);
    byOp.set(op, list);
  }
  const out: Partial<Record<MixOp, Summary>> = {};
  for (const op of mixOps) {
    const list = byOp.get(op);
    if (list) out[op] = summarize(list);
  }
  return out;
}

interface PodMetrics {
  items?: { metadata?: { name?: string }; timestamp?: string; window?: string; containers?: { name?: string; usage?: { cpu?: string; memory?: string } }[] }[];
}

const durationUnits: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, 'µs': 0.001, ns: 0.000001 };

/** Milliseconds of a Go duration as the API writes it (`10.5s`, `1m0s`); undefined when it is not one. */
export function goDurationMs(text: string | undefined): number | undefined {
  if (!text || !/^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, value, unit] of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) total += Number(value) * (durationUnits[unit as string] ?? 0);
  return total;
}

/**
 * When the window of a PodMetrics item began: its CPU is the average over
 * [timestamp - window, timestamp], so a reading whose window began before the load describes
 * (part of) what came before it.
 */
export function windowStartMs(item: { timestamp?: string; window?: string }): number | undefined {
  const at = item.timestamp ? Date.parse(item.timestamp) : Number.NaN;
  const window = goDurationMs(item.window);
  return Number.isFinite(at) && window !== undefined ? at - window : undefined;
}

/**
 * One reading of metrics.k8s.io for the namespace, against each container's limits; with
 * `notBeforeMs`, only pods whose reading's window began at or after it (`early` counts the others).
 */
export async function readUsage(kube: Kube, namespace: string, notBeforeMs?: number): Promise<{ samples: UsageSample[]; early: number }> {
  const metrics = (await kube.custom.listNamespacedCustomObject({ group: 'metrics.k8s.io', version: 'v1beta1', namespace, plural: 'pods' })) as PodMetrics;
  const pods = await kube.core.listNamespacedPod({ namespace });
  const limits = new Map<string, k8s.V1ResourceRequirements['limits']>();
  for (const pod of pods.items) for (const c of pod.spec?.containers ?? []) limits.set(`${pod.metadata?.name}/${c.name}`, c.resources?.limits);
  const out: UsageSample[] = [];
  let early = 0;
  for (const item of metrics.items ?? []) {
    // The generator's own Job pods are not the stack under test.
    if (item.metadata?.name?.startsWith('todo-load-')) continue;
    // A reading without a readable window is kept: nothing says it began early.
    if (notBeforeMs !== undefined && (windowStartMs(item) ?? notBeforeMs) < notBeforeMs) {
      early += 1;
      continue;
    }
    for (const c of item.containers ?? []) {
      const key = `${item.metadata?.name}/${c.name}`;
      const limit = limits.get(key);
      const cpu = cpuMillis(c.usage?.cpu);
      const mem = bytes(c.usage?.memory);
      const cpuLimit = cpuMillis(limit?.cpu);
      const memLimit = bytes(limit?.memory);
      out.push({
        pod: item.metadata?.name ?? '?',
        container: c.name ?? '?',
        cpuMillis: Math.round(cpu),
        memoryBytes: Math.round(mem),
        cpuPercent: Number.isFinite(cpuLimit) && cpuLimit > 0 ? Math.round((cpu / cpuLimit) * 1000) / 10 : undefined,
        memoryPercent: Number.isFinite(memLimit) && memLimit > 0 ? Math.round((mem / memLimit) * 1000) / 10 : undefined,
      });
    }
  }
  return { samples: out, early };
}

/** Merge the samples of every generator into one report with verdicts. */
export function buildReport(
  all: LoadSamples[],
  options: Pick<LoadOptions, 'base' | 'durationSeconds' | 'p95LimitMs' | 'errorRatePercent' | 'eventLimitMs' | 'usagePercent' | 'throttleSharePercent' | 'mix'>,
  usage: UsageSample[],
  usageNote: string,
  containers: { runs: ContainerRun[]; note: string },
): LoadReport {
  const startMs = Math.min(...all.map((s) => s.startMs));
  const endMs = Math.max(...all.map((s) => s.endMs));
  const responses = all.flatMap((s) => s.responses);
  const latencies = responses.map((r) => r[1]);
  const errors: Record<string, number> = {};
  const byOp: Record<string, number> = {};
  for (const s of all) {
    for (const [k, v] of Object.entries(s.errors)) errors[k] = (errors[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.byOp)) byOp[k] = (byOp[k] ?? 0) + v;
  }
  const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
  const attempted = responses.length + Object.entries(errors).filter(([k]) => !k.startsWith('HTTP ')).reduce((a, [, v]) => a + v, 0);
  const errorRate = attempted > 0 ? (errorCount / attempted) * 100 : 100;
  const latency = summarize(latencies);
  const eventMs = all.flatMap((s) => s.eventFlowMs);
  const eventFailures = all.flatMap((s) => s.eventFailures);
  const event = summarize(eventMs);
  const cpu = usage.map((u) => u.cpuPercent).filter((v): v is number => v !== undefined);
  const mem = usage.map((u) => u.memoryPercent).filter((v): v is number => v !== undefined);
  const maxCpu = cpu.length ? Math.max(...cpu) : undefined;
  const maxMem = mem.length ? Math.max(...mem) : undefined;
  const verdicts: Verdict[] = [
    { id: 'requests-made', name: 'requests made', pass: responses.length > 0, expected: 'at least 1 response', actual: `${responses.length} responses`, detail: `${responses.length} responses` },
    atMost('p95 latency', latency.p95, options.p95LimitMs, 'ms', 'p95'),
    atMost('error rate', errorRate, options.errorRatePercent, '%', 'error-rate'),
    usageVerdict(usage, usageNote, maxCpu, maxMem, options.usagePercent),
    throttlingVerdict(containers.runs, containers.note, options.throttleSharePercent),
    restartsVerdict(containers.runs, containers.note),
    eventMs.length === 0 && eventFailures.length === 0
      ? { id: 'event-flow', name: 'event-flow latency under load', pass: true, skip: true, detail: 'skipped: event probes off (--event-every 0)' }
      : { ...atMost('event-flow latency under load (max)', eventFailures.length > 0 ? Number.POSITIVE_INFINITY : event.max, options.eventLimitMs, 'ms', 'event-flow'), actual: `max ${event.max} ms, ${eventFailures.length} failed`, detail: `${eventMs.length} flows, p95 ${event.p95} ms, max ${event.max} ms, ${eventFailures.length} failed (limit ${options.eventLimitMs} ms)` },
  ];
  return {
    base: options.base,
    generators: all.length,
    users: all.reduce((a, s) => a + s.users, 0),
    durationSeconds: options.durationSeconds,
    startedAt: new Date(startMs).toISOString(),
    requests: responses.length,
    throughput: Math.round((responses.length / Math.max(0.001, (endMs - startMs) / 1000)) * 10) / 10,
    errorRatePercent: Math.round(errorRate * 1000) / 1000,
    latency,
    latencyByOp: latencyByOp(responses),
    histogram: histogram(latencies),
    perSecond: perSecond(responses.map(([at, ms, ok]) => ({ at, ms, ok: ok === 1 })), startMs),
    errors,
    mix: options.mix,
    byOp,
    eventFlow: { ...event, failures: eventFailures.slice(0, 50) },
    usage: {
      maxCpuPercent: maxCpu,
      maxMemoryPercent: maxMem,
      top: [...usage].sort((a, b) => (b.cpuPercent ?? 0) - (a.cpuPercent ?? 0)).slice(0, 20),
      note: usageNote || `against the ${options.usagePercent} % target: CPU ${maxCpu ?? 'n/a'} %, memory ${maxMem ?? 'n/a'} % of the limit at most${maxCpu !== undefined && maxCpu > options.usagePercent ? ' (CPU over the target)' : ''}${maxMem !== undefined && maxMem > options.usagePercent ? ' (memory over the target)' : ''}`,
    },
    containers: { ...containers, throttleSharePercent: options.throttleSharePercent },
    verdicts,
    pass: verdicts.every((v) => v.pass),
  };
}

/** Pod CPU and memory peaks against `usagePercent` of the limits; skipped when metrics.k8s.io gave nothing. */
export function usageVerdict(usage: readonly UsageSample[], usageNote: string, maxCpu: number | undefined, maxMem: number | undefined, usagePercent: number): Verdict {
  const base = { id: 'resource-usage', name: 'pod CPU and memory under the usage target' };
  if (usageNote || usage.length === 0 || (maxCpu === undefined && maxMem === undefined)) {
    const why = usageNote || (usage.length === 0 ? 'metrics.k8s.io reported no pod usage' : 'no container has CPU or memory limits');
    return { ...base, pass: true, skip: true, detail: `skipped: ${why}` };
  }
  const over = usage.filter((u) => (u.cpuPercent ?? 0) > usagePercent || (u.memoryPercent ?? 0) > usagePercent);
  const actual = `CPU ${maxCpu ?? 'n/a'} %, memory ${maxMem ?? 'n/a'} % of the limit at most`;
  return {
    ...base,
    pass: over.length === 0,
    expected: `<= ${usagePercent} % of CPU and memory limits`,
    actual: over.length === 0 ? actual : `${actual}; over: ${over.map((u) => `${u.pod}/${u.container} CPU ${u.cpuPercent ?? 'n/a'} % memory ${u.memoryPercent ?? 'n/a'} %`).join(', ')}`,
    detail: `${actual} (limit ${usagePercent} %)`,
  };
}

/** The higher of two readings; undefined (no limit) only when both are. */
const higher = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined ? b : b === undefined ? a : Math.max(a, b));

/**
 * Sample pod usage every few seconds once the load starts, keeping each container's highest
 * reading; and the kubelet's counters of each container from then until `work` ends. `work`
 * calls `loadStarts` when its users are signed up and the load begins (sign-up hashes every
 * password at once: a burst of its own, not the load), or at once when it cannot tell.
 */
export async function withUsage<T>(
  metrics: LoadOptions['metrics'],
  work: (loadStarts: () => Promise<void>) => Promise<T>,
): Promise<{ value: T; usage: UsageSample[]; note: string; containers: { runs: ContainerRun[]; note: string } }> {
  if (!metrics) return { value: await work(async () => undefined), usage: [], note: 'no cluster metrics (generator only)', containers: { runs: [], note: 'no cluster (generator only)' } };
  const counters = (notBeforeMs: number) => readContainerCounters(metrics.kube, metrics.namespace, notBeforeMs).catch((error: unknown) => ({ counters: new Map<string, ContainerCounters>(), note: `pods not readable: ${oneLine(error)}` }));
  const peak = new Map<string, UsageSample>();
  let note = '';
  let running = true;
  let started: { before: Awaited<ReturnType<typeof counters>>; startMs: number; sampler: Promise<void> } | undefined;
  let loadStartMs = 0;
  // True while every reading so far began before the load.
  let earlyOnly = true;
  const sample = async () => {
    for (let i = 0; i < 1000 && running; i += 1) {
      try {
        // Readings whose window began before the load would count the sign-up burst as load.
        const { samples, early } = await readUsage(metrics.kube, metrics.namespace, loadStartMs);
        earlyOnly = earlyOnly && samples.length === 0 && early > 0;
        for (const reading of samples) {
          const key = `${reading.pod}/${reading.container}`;
          const old = peak.get(key);
          if (!old || (reading.cpuPercent ?? 0) > (old.cpuPercent ?? 0) || (reading.memoryPercent ?? 0) > (old.memoryPercent ?? 0)) {
            peak.set(key, {
              ...reading,
              cpuMillis: Math.max(reading.cpuMillis, old?.cpuMillis ?? 0),
              memoryBytes: Math.max(reading.memoryBytes, old?.memoryBytes ?? 0),
              cpuPercent: higher(reading.cpuPercent, old?.cpuPercent),
              memoryPercent: higher(reading.memoryPercent, old?.memoryPercent),
            });
          }
        }
      } catch (error) {
        note = `metrics.k8s.io not readable: ${oneLine(error)}`;
        return;
      }
      await new Promise((done) => setTimeout(done, 5000));
    }
  };
  const loadStarts = async () => {
    if (started) return;
    const before = await counters(Date.now());
    loadStartMs = Date.now();
    started = { before, startMs: loadStartMs, sampler: sample() };
  };
  let value: T;
  try {
    value = await work(loadStarts);
  } finally {
    running = false;
    await started?.sampler;
  }
  if (!started) return { value, usage: [], note: 'the load never started', containers: { runs: [], note: 'the load never started' } };
  const after = await counters(Date.now());
  const runs = compareCounters(started.before.counters, after.counters, started.startMs);
  if (!note && peak.size === 0 && earlyOnly) note = 'no metrics.k8s.io reading covered the load alone: each averages the last 15 s or so, and the run was shorter than that';
  return { value, usage: [...peak.values()], note, containers: { runs, note: after.note || started.before.note } };
}
