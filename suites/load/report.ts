// The load test's HTML section: throughput, percentiles over time, the latency
// histogram, errors by kind, pod usage, and throttling, restarts and peak memory per container.
import { htmlEscape } from '../lib/report/html.js';
import { histogramChart, overTimeChart } from '../drills/report.js';
import type { LoadReport } from './load.js';
import type { ContainerRun } from './containers.js';
import type { MixOp } from './mix.js';

/** The container's CPU time over the run per request sent, in milliseconds. */
export const cpuPerRequest = (run: Pick<ContainerRun, 'cpuSeconds'>, requests: number): string =>
  run.cpuSeconds === undefined || requests === 0 ? 'n/a' : `${((run.cpuSeconds * 1000) / requests).toFixed(2)} ms`;

const percentOrNa = (value: number | undefined): string => (value === undefined ? 'n/a' : `${value} %`);

export function loadSection(report: LoadReport, p95LimitMs = 2000): string {
  const l = report.latency;
  const errors = Object.entries(report.errors).map(([kind, n]) => `<tr><td>${htmlEscape(kind)}</td><td>${n}</td></tr>`).join('');
  const sent = Object.values(report.byOp).reduce((sum, n) => sum + n, 0);
  const asked = Object.values(report.mix).reduce((sum, n) => sum + n, 0);
  const kinds = [...new Set([...Object.keys(report.mix), ...Object.keys(report.byOp)])];
  const percent = (n: number, of: number) => (of > 0 ? `${((n / of) * 100).toFixed(1)} %` : 'n/a');
  const ms = (value: number | undefined) => (value === undefined || Number.isNaN(value) ? 'n/a' : `${value}`);
  const mix = kinds
    .map((kind) => {
      const latency = report.latencyByOp[kind as MixOp];
      return `<tr><td>${htmlEscape(kind)}</td><td>${percent(report.mix[kind as MixOp] ?? 0, asked)}</td><td>${report.byOp[kind] ?? 0}</td><td>${percent(report.byOp[kind] ?? 0, sent)}</td><td>${ms(latency?.p50)}</td><td>${ms(latency?.p95)}</td><td>${ms(latency?.p99)}</td><td>${ms(latency?.max)}</td></tr>`;
    })
    .join('');
  const usage = report.usage.top.map((u) => `<tr><td>${htmlEscape(u.pod)}/${htmlEscape(u.container)}</td><td>${u.cpuMillis} m</td><td>${percentOrNa(u.cpuPercent)}</td><td>${(u.memoryBytes / 1048576).toFixed(0)} MiB</td><td>${percentOrNa(u.memoryPercent)}</td></tr>`).join('');
  const mib = (value: number | undefined) => (value === undefined ? 'n/a' : `${(value / 1048576).toFixed(0)} MiB`);
  const containers = report.containers.runs
    .map((c) => `<tr><td>${htmlEscape(c.pod)}/${htmlEscape(c.container)}</td><td>${c.cpuSeconds === undefined ? 'n/a' : `${c.cpuSeconds} s`}</td><td>${cpuPerRequest(c, report.requests)}</td><td>${c.throttledPercent === undefined ? 'not reported' : `${c.throttledPercent} % of ${c.periods}`}</td><td>${c.throttledSeconds} s</td><td>${c.restarts}</td><td>${c.oomKills}</td><td>${mib(c.peakMemoryBytes)}</td><td>${percentOrNa(c.peakMemoryPercent)}</td></tr>`)
    .join('');
  return `<section><h2>The run</h2>
<p>${report.users} users from ${report.generators} generator(s) for ${report.durationSeconds} s against ${htmlEscape(report.base)}: ${report.requests} requests, <b>${report.throughput} req/s</b>, error rate ${report.errorRatePercent} %.</p>
<table><tr><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th><th>mean</th></tr><tr><td>${l.p50}</td><td>${l.p90}</td><td>${l.p95}</td><td>${l.p99}</td><td>${l.max}</td><td>${l.mean}</td></tr></table>
<h3>What the users did</h3><p>Each user repeats a cycle with each kind of request in the proportion asked for (<code>--mix</code>); a write with no task at hand is sent as a list. Latencies in ms, of the responses of each kind.</p><table><tr><th>kind</th><th>asked</th><th>sent</th><th>of all sent</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>${mix}</table>
<h3>Latency and throughput over time</h3>${overTimeChart(report.perSecond, p95LimitMs)}
<h3>Latency histogram</h3>${histogramChart(report.histogram)}
<h3>Errors by kind</h3>${errors ? `<table><tr><th>kind</th><th>count</th></tr>${errors}</table>` : '<p>None.</p>'}
<h3>Event flow under load</h3><p>${report.eventFlow.count} flows: p50 ${report.eventFlow.p50} ms, p95 ${report.eventFlow.p95} ms, max ${report.eventFlow.max} ms; ${report.eventFlow.failures.length} failed.</p>
<h3>Pod CPU and memory (peak, metrics.k8s.io)</h3><p>${htmlEscape(report.usage.note)}</p>${usage ? `<table><tr><th>container</th><th>CPU</th><th>of limit</th><th>memory</th><th>of limit</th></tr>${usage}</table>` : ''}
<h3>Throttling, restarts and peak memory (the kubelet's counters over the run)</h3><p>${containers ? `CPU per request is the container's CPU time over the run divided by every request the users sent. A container throttled in more than ${report.containers.throttleSharePercent} % of its CPU periods fails the run. Peak memory is the highest the kernel recorded since the container started.` : htmlEscape(report.containers.note || 'No container was read.')}</p>${containers ? `<table><tr><th>container</th><th>CPU used</th><th>CPU per request</th><th>CPU periods throttled</th><th>time throttled</th><th>restarts</th><th>OOM kills</th><th>peak memory</th><th>of limit</th></tr>${containers}</table>` : ''}
</section>`;
}
