// The headroom sweep (npm run load -- --sweep): the load test run again and again with more
// users each time, until a step breaks a target (p95, error rate, CPU and memory against the
// limits, throttling, restarts, event flow, and the pace: a stack that answers too slowly
// for the users to send what they were to send is saturated, whatever its percentiles say)
// or the last step is reached. Its figure is the
// largest user count that held every target. Bounded: at most `maxSteps` steps of the
// stated duration each.
import { htmlEscape } from '../lib/report/html.js';
import type { Verdict } from '../drills/stats.js';
import { buildReport, generate, signUpUsers, withUsage, type LoadOptions, type LoadReport } from './load.js';
import type { ApiClient } from '../drills/probe.js';

export const maxSteps = 20;
/** Share of the requests the users were to send that a step must get answered to hold. */
export const pacePercent = 95;

export interface SweepStep {
  users: number;
  requests: number;
  throughput: number;
  p50: number;
  p95: number;
  p99: number;
  errorRatePercent: number;
  maxCpuPercent: number | undefined;
  maxMemoryPercent: number | undefined;
  maxThrottledPercent: number | undefined;
  eventP95: number;
  pass: boolean;
  /** The targets the step broke, in words. */
  broke: string[];
}

export interface SweepReport {
  steps: SweepStep[];
  /** The largest user count whose step held every target; 0 when none did. */
  headroomUsers: number;
  /** The user count that must hold (the plan's 100 users). */
  targetUsers: number;
  /** Why the sweep stopped. */
  stoppedBecause: string;
  startedAt: string;
}

/** The user counts of the sweep: from `step` up to `max` in steps of `step`, at most `maxSteps`. */
export function sweepUsers(step: number, max: number): number[] {
  const counts: number[] = [];
  for (let users = step; users <= max && counts.length < maxSteps; users += step) counts.push(users);
  return counts;
}

/** One step's figures from its load report; `planned` is users x rate x duration. */
export function sweepStep(report: LoadReport, planned: number): SweepStep {
  const kept = planned > 0 ? (report.requests / planned) * 100 : 100;
  const broke = report.verdicts.filter((v) => !v.pass).map((v) => `${v.name}: ${v.actual ?? v.detail}${v.expected ? ` (expected ${v.expected})` : ''}`);
  if (kept < pacePercent) broke.push(`pace: ${report.requests} of the ${planned} requests the users were to send (${kept.toFixed(1)} %, limit ${pacePercent} %)`);
  const throttled = report.containers.runs.map((run) => run.throttledPercent).filter((v): v is number => v !== undefined);
  return {
    users: report.users,
    requests: report.requests,
    throughput: report.throughput,
    p50: report.latency.p50,
    p95: report.latency.p95,
    p99: report.latency.p99,
    errorRatePercent: report.errorRatePercent,
    maxCpuPercent: report.usage.maxCpuPercent,
    maxMemoryPercent: report.usage.maxMemoryPercent,
    maxThrottledPercent: throttled.length > 0 ? Math.max(...throttled) : undefined,
    eventP95: report.eventFlow.p95,
    pass: broke.length === 0,
    broke,
  };
}

export function headroomVerdict(sweep: SweepReport): Verdict {
  const last = sweep.steps[sweep.steps.length - 1];
  const actual = `${sweep.headroomUsers} users held every target`;
  return {
    id: 'headroom',
    name: `headroom: ${sweep.targetUsers} users or more within every target`,
    pass: sweep.headroomUsers >= sweep.targetUsers,
    expected: `>= ${sweep.targetUsers} users`,
    actual,
    detail: `${actual}; ${sweep.stoppedBecause}${last && !last.pass ? ` (${last.broke.join('; ')})` : ''}`,
  };
}

/**
 * Run the steps in turn, signing up only the users a step adds to the ones before it; stop
 * at the first step that breaks a target.
 */
export async function runSweep(options: LoadOptions, counts: readonly number[], targetUsers: number): Promise<SweepReport> {
  const startedAt = new Date().toISOString();
  const steps: SweepStep[] = [];
  const signedUp: ApiClient[] = [];
  let stoppedBecause = `the last step (${counts[counts.length - 1] ?? 0} users) held every target`;
  for (const users of counts) {
    if (signedUp.length < users) signedUp.push(...(await signUpUsers({ ...options, users: users - signedUp.length, userPrefix: `${options.userPrefix}-s${steps.length}` })));
    options.log?.(`sweep: ${users} users for ${options.durationSeconds} s`);
    const { value: samples, usage, note, containers } = await withUsage(options.metrics, (loadStarts) => generate({ ...options, users, signedUp: signedUp.slice(0, users), onStart: loadStarts }));
    const step = sweepStep(buildReport([samples], options, usage, note, containers), Math.round(users * options.ratePerUser * options.durationSeconds));
    steps.push(step);
    options.log?.(`sweep: ${users} users: ${step.throughput} req/s, p95 ${step.p95} ms, errors ${step.errorRatePercent} %, CPU ${step.maxCpuPercent === undefined ? 'n/a' : `${step.maxCpuPercent} %`} of the limit at most: ${step.pass ? 'held' : `broke ${step.broke.join('; ')}`}`);
    if (!step.pass) {
      stoppedBecause = `${users} users broke a target`;
      break;
    }
  }
  const held = steps.filter((step) => step.pass);
  return { steps, headroomUsers: held.length > 0 ? Math.max(...held.map((step) => step.users)) : 0, targetUsers, stoppedBecause, startedAt };
}

export function sweepSection(sweep: SweepReport): string {
  const percent = (value: number | undefined) => (value === undefined ? 'n/a' : `${value} %`);
  const rows = sweep.steps
    .map((s) => `<tr><td>${s.users}</td><td>${s.requests}</td><td>${s.throughput}</td><td>${s.p50}</td><td>${s.p95}</td><td>${s.p99}</td><td>${s.errorRatePercent} %</td><td>${percent(s.maxCpuPercent)}</td><td>${percent(s.maxMemoryPercent)}</td><td>${percent(s.maxThrottledPercent)}</td><td>${Number.isFinite(s.eventP95) ? s.eventP95 : 'n/a'}</td><td>${s.pass ? '<span class="badge pass">held</span>' : `<span class="badge fail">broke</span> ${htmlEscape(s.broke.join('; '))}`}</td></tr>`)
    .join('');
  return `<section><h2>Headroom</h2>
<p><b>${sweep.headroomUsers} users</b> held every target (the plan asks for ${sweep.targetUsers}); ${htmlEscape(sweep.stoppedBecause)}.</p>
<table><tr><th>users</th><th>requests</th><th>req/s</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>errors</th><th>CPU of limit (max)</th><th>memory of limit (max)</th><th>throttled periods (max)</th><th>event flow p95 ms</th><th>targets</th></tr>${rows}</table>
</section>`;
}
