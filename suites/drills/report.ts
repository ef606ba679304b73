// Drill and load HTML sections (inline SVG, no scripts) for the run's report.html, which
// opens from disk.
import { htmlEscape } from '../lib/report/html.js';
import type { DrainReport } from './drain.js';
import type { DrillReport } from './drill.js';
import type { SecondBucket } from './stats.js';

/** The drill's timeline: phases as bars, every probe as a tick (red when failed), outage windows shaded. */
export function drillTimeline(report: Pick<DrillReport, 'probes' | 'phases' | 'outages' | 'startMs' | 'durationMs'>, width = 900): string {
  const targets = [...new Set(report.probes.map((p) => p.target))];
  const left = 200;
  const plotW = width - left - 10;
  const total = Math.max(1, report.durationMs);
  const x = (ms: number) => left + (Math.max(0, ms) / total) * plotW;
  const rowH = 16;
  const phaseRows = report.phases.map((phase, i) => {
    const y = i * rowH + 4;
    return `<text x="${left - 4}" y="${y + 10}" text-anchor="end" font-size="10">${htmlEscape(phase.name)}</text><rect x="${x(phase.startMs).toFixed(1)}" y="${y}" width="${Math.max(1, (phase.ms / total) * plotW).toFixed(1)}" height="11" class="${phase.ok ? 'pass' : 'fail'}"><title>${htmlEscape(phase.name)}: ${phase.ms} ms; ${htmlEscape(phase.detail)}</title></rect>`;
  });
  const probeTop = report.phases.length * rowH + 10;
  const probeRows = targets.map((target, i) => {
    const y = probeTop + i * rowH;
    const ticks = report.probes
      .filter((p) => p.target === target)
      .map((p) => `<rect x="${x(p.at - report.startMs).toFixed(1)}" y="${y}" width="1.5" height="11" fill="${p.ok ? '#1e8449' : '#c0392b'}"><title>${htmlEscape(target)} ${p.ok ? 'ok' : `failed: ${htmlEscape(p.error ?? '')}`} ${p.ms} ms</title></rect>`)
      .join('');
    return `<text x="${left - 4}" y="${y + 10}" text-anchor="end" font-size="10">probes: ${htmlEscape(target)}</text>${ticks}`;
  });
  const height = probeTop + targets.length * rowH + 24;
  const outages = report.outages
    .map((o) => `<rect x="${x(o.from - report.startMs).toFixed(1)}" y="0" width="${Math.max(2, (o.ms / total) * plotW).toFixed(1)}" height="${height - 20}" fill="#c0392b" opacity="0.18"><title>outage of ${htmlEscape(o.target)}: ${o.ms} ms, ${o.failures} failed probes</title></rect>`)
    .join('');
  const axis = [0, 0.25, 0.5, 0.75, 1].map((f) => `<text x="${(left + f * plotW).toFixed(1)}" y="${height - 6}" font-size="10" text-anchor="middle">${((f * total) / 1000).toFixed(0)} s</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="drill timeline" width="${width}" height="${height}">${outages}${phaseRows.join('')}${probeRows.join('')}${axis}</svg>`;
}

export function drillSection(report: DrillReport): string {
  const phases = report.phases.map((p) => `<tr><td>${htmlEscape(p.name)}</td><td>${(p.ms / 1000).toFixed(1)} s</td><td>${p.ok ? 'ok' : 'failed'}</td><td>${htmlEscape(p.detail)}</td></tr>`).join('');
  return `<section><h2>What happened</h2>
${report.problems.map((p) => `<p class="loud">${htmlEscape(p)}</p>`).join('')}
<p>Release <code>${htmlEscape(report.release)}</code> in <code>${htmlEscape(report.namespace)}</code>: recorded revision ${report.recorded.revision} (${htmlEscape(report.recorded.status)}), candidate <code>${htmlEscape(report.candidate)}</code> ${htmlEscape(report.candidateOutcome)}, final revision ${report.final.revision} (${htmlEscape(report.final.status)}). Probed through ${htmlEscape(report.frontendUrl)}.</p>
<h3>Timeline</h3>${drillTimeline(report)}
<h3>Phases</h3><table><tr><th>phase</th><th>time</th><th></th><th>detail</th></tr>${phases}</table>
${probesHtml(report)}
</section>`;
}

/** The probes' summary, outage windows and failed probes, as both drill sections show them. */
function probesHtml(report: Pick<DrillReport, 'probeCounts' | 'longestOutageMs' | 'outages' | 'failedProbes'>): string {
  const outages = report.outages.map((o) => `<tr><td>${htmlEscape(o.target)}</td><td>${new Date(o.from).toISOString()}</td><td>${o.ms} ms</td><td>${o.failures}</td></tr>`).join('');
  const failed = report.failedProbes.slice(0, 200).map((p) => `${new Date(p.at).toISOString()} ${p.target} ${p.status ?? '-'} ${p.error ?? ''}`).join('\n');
  return `<h3>Probes</h3><p>${Object.entries(report.probeCounts).map(([t, c]) => `${htmlEscape(t)}: ${c.failed} failed of ${c.total}`).join('; ')}. Longest outage ${report.longestOutageMs} ms.</p>
${outages ? `<table><tr><th>target</th><th>from</th><th>length</th><th>failed probes</th></tr>${outages}</table>` : '<p>No outage window.</p>'}
${failed ? `<details><summary>failed probes (${report.failedProbes.length})</summary><pre>${htmlEscape(failed)}</pre></details>` : ''}`;
}

export function drainSection(report: DrainReport): string {
  const phases = report.phases.map((p) => `<tr><td>${htmlEscape(p.name)}</td><td>${(p.ms / 1000).toFixed(1)} s</td><td>${p.ok ? 'ok' : 'failed'}</td><td>${htmlEscape(p.detail)}</td></tr>`).join('');
  const nodes = report.nodes.map((n) => `<tr><td>${htmlEscape(n.name)}${n.name === report.node ? ' (drained)' : ''}</td><td>${htmlEscape(n.zone)}</td><td>${n.releasePods}</td></tr>`).join('');
  const evictions = report.evictions.map((e) => `<tr><td>${htmlEscape(e.pod)}</td><td>${e.acceptedMs === undefined ? 'never' : `${(e.acceptedMs / 1000).toFixed(1)} s`}</td><td>${e.blocked}</td><td>${htmlEscape(e.blockedBy ?? '')}</td></tr>`).join('');
  return `<section><h2>What happened</h2>
${report.problems.map((p) => `<p class="loud">${htmlEscape(p)}</p>`).join('')}
<p>Node <code>${htmlEscape(report.node)}</code> drained while release <code>${htmlEscape(report.release)}</code> in <code>${htmlEscape(report.namespace)}</code> was probed through ${htmlEscape(report.frontendUrl)}; ${report.fullStrengthMs === undefined ? 'the release never came back to full strength' : `full strength again ${(report.fullStrengthMs / 1000).toFixed(1)} s after the first eviction`}.</p>
<table><tr><th>node</th><th>zone</th><th>release pods before</th></tr>${nodes}</table>
<h3>Timeline</h3>${drillTimeline(report)}
<h3>Phases</h3><table><tr><th>phase</th><th>time</th><th></th><th>detail</th></tr>${phases}</table>
<h3>Evictions</h3>${evictions ? `<table><tr><th>pod</th><th>evicted at</th><th>held back by a budget</th><th>last refusal</th></tr>${evictions}</table>` : '<p>No pod to evict.</p>'}
${report.budgetGaps.map((gap) => `<p class="loud">${htmlEscape(gap)}</p>`).join('')}
${probesHtml(report)}
</section>`;
}

/** Percentiles per second as lines, throughput as bars. */
export function overTimeChart(buckets: readonly SecondBucket[], limitMs: number, width = 900, height = 200): string {
  const pad = { left: 48, right: 48, top: 10, bottom: 24 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const n = Math.max(1, buckets.length);
  const topMs = Math.max(1, limitMs, ...buckets.map((b) => b.p95)) * 1.1;
  const topRps = Math.max(1, ...buckets.map((b) => b.requests)) * 1.1;
  const x = (i: number) => pad.left + (i / n) * plotW;
  const yMs = (v: number) => pad.top + plotH - (v / topMs) * plotH;
  const bars = buckets.map((b, i) => `<rect x="${x(i).toFixed(1)}" y="${(pad.top + plotH - (b.requests / topRps) * plotH).toFixed(1)}" width="${Math.max(1, plotW / n - 1).toFixed(1)}" height="${((b.requests / topRps) * plotH).toFixed(1)}" fill="${b.errors > 0 ? '#f5b7b1' : '#d6eaf8'}"><title>second ${b.second}: ${b.requests} requests, ${b.errors} errors</title></rect>`).join('');
  const line = (key: 'p50' | 'p95', color: string) => `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${buckets.map((b, i) => `${(x(i) + plotW / n / 2).toFixed(1)},${yMs(b[key]).toFixed(1)}`).join(' ')}"/>`;
  const limit = `<line x1="${pad.left}" x2="${width - pad.right}" y1="${yMs(limitMs).toFixed(1)}" y2="${yMs(limitMs).toFixed(1)}" stroke="#c0392b" stroke-dasharray="4 3"/>`;
  const labels = `<text x="${pad.left - 4}" y="${pad.top + 8}" text-anchor="end" font-size="10">${topMs.toFixed(0)} ms</text><text x="${width - pad.right + 4}" y="${pad.top + 8}" font-size="10">${topRps.toFixed(0)} req/s</text><text x="${pad.left}" y="${height - 6}" font-size="10">per second: bars requests (red: with errors), blue p50, black p95, dashed limit ${limitMs} ms; ${buckets.length} s</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="latency over time" width="${width}" height="${height}">${bars}${line('p50', '#2e86c1')}${line('p95', '#222')}${limit}${labels}</svg>`;
}

export function histogramChart(bins: readonly { le: number | 'inf'; count: number }[], width = 560, height = 160): string {
  const pad = { left: 40, bottom: 28, top: 8 };
  const plotH = height - pad.top - pad.bottom;
  const top = Math.max(1, ...bins.map((b) => b.count));
  const barW = (width - pad.left - 8) / Math.max(1, bins.length);
  const bars = bins
    .map((b, i) => {
      const h = (b.count / top) * plotH;
      const xPos = pad.left + i * barW;
      return `<rect x="${xPos.toFixed(1)}" y="${(pad.top + plotH - h).toFixed(1)}" width="${(barW * 0.85).toFixed(1)}" height="${h.toFixed(1)}" fill="#2e86c1"><title>≤ ${b.le} ms: ${b.count}</title></rect><text x="${(xPos + barW * 0.42).toFixed(1)}" y="${height - 14}" font-size="9" text-anchor="middle">${b.le === 'inf' ? '>' : '≤'}${b.le === 'inf' ? '5000' : b.le}</text>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="latency histogram" width="${width}" height="${height}">${bars}<text x="${pad.left}" y="${height - 2}" font-size="10">latency histogram (ms), max bin ${top}</text></svg>`;
}

/** Styles the sections need beyond the suite's report.html. */
export const sectionStyle = '<style>.loud{background:#fdecea;padding:6px;font-weight:600}section table{width:auto}</style>';
