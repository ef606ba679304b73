// A single HTML file that opens from disk: inline CSS and inline SVG charts, no scripts,
// fonts or images from anywhere else.
import { basename } from 'node:path';
import type { CheckResult, Series } from '../check.js';
import { failuresFirst, groupFailures, groupHeading } from './failures.js';
import { targetRead, type RunReport } from './model.js';

export const htmlEscape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** Bars per sample with the limit as a dashed line. */
export function latencyChart(series: Series, width = 560, height = 160): string {
  const pad = { left: 48, right: 8, top: 10, bottom: 22 };
  // Every sample is drawn, the slow ones too: a chart that hides its outliers misleads.
  const values = series.values.filter((v) => Number.isFinite(v));
  const top = Math.max(1, ...values, series.limit ?? 0) * 1.1;
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const barW = values.length > 0 ? plotW / values.length : plotW;
  const y = (v: number) => pad.top + plotH - (v / top) * plotH;
  const bars = values
    .map((v, i) => {
      const late = series.late?.includes(i) ?? false;
      const over = late || (series.limit !== undefined && v > series.limit);
      return `<rect x="${(pad.left + i * barW + barW * 0.1).toFixed(1)}" y="${y(v).toFixed(1)}" width="${Math.max(1, barW * 0.8).toFixed(1)}" height="${(pad.top + plotH - y(v)).toFixed(1)}" fill="${over ? '#c0392b' : '#2e86c1'}"><title>#${i + 1}: ${late ? `none within ${v}` : v} ${htmlEscape(series.unit)}</title></rect>`;
    })
    .join('');
  const ticks = [0, 0.5, 1]
    .map((f) => {
      const v = top * f;
      return `<text x="${pad.left - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="10">${v.toFixed(0)}</text><line x1="${pad.left}" x2="${width - pad.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`;
    })
    .join('');
  const limit =
    series.limit !== undefined
      ? `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(series.limit).toFixed(1)}" y2="${y(series.limit).toFixed(1)}" stroke="#c0392b" stroke-dasharray="4 3"/>`
      : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${htmlEscape(series.name)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${ticks}${bars}${limit}<text x="${pad.left}" y="${height - 6}" font-size="10">${htmlEscape(series.name)} (${htmlEscape(series.unit)}), ${values.length} samples${series.limit !== undefined ? `; dashed line: limit ${series.limit} ${htmlEscape(series.unit)}` : ''}</text></svg>`;
}

/** The style every page of a report shares (the report, diagnostics pages). */
export const pageStyle = `<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:6px;vertical-align:top;text-align:left}
.badge{display:inline-block;padding:2px 8px;border-radius:4px;color:#fff;font-weight:600;font-size:13px}
.badge.pass{background:#1e8449}.badge.fail{background:#c0392b}.badge.skip{background:#7f8c8d}
rect.pass{fill:#1e8449}rect.fail{fill:#c0392b}rect.skip{fill:#7f8c8d}
.num{text-align:right;white-space:nowrap}.ea{background:#fdecea;padding:4px}pre{white-space:pre-wrap;font-size:12px;background:#f7f7f7;padding:6px}
.failures{border-left:4px solid #c0392b;padding:4px 12px;margin:12px 0;background:#fdf2f1}
.failures h3{margin:8px 0 4px;font-size:15px}.failures ul{margin:4px 0 8px}
h1 .fail,h1 .pass{vertical-align:middle}
</style>`;

/**
 * Where a report's links and anchors live: `dir` before every relative link (a context's
 * directory, when several reports share one page) and `anchor` before every id.
 */
export interface PagePlace {
  dir: string;
  anchor: string;
}

const onItsOwn: PagePlace = { dir: '', anchor: '' };

function checkRow(r: CheckResult, ownRun: boolean, place: PagePlace): string {
  const measures = r.measurements
    .map((m) => `<li>${htmlEscape(m.name)}: <b>${m.value}</b> ${htmlEscape(m.unit)}${m.limit !== undefined ? ` (limit ${htmlEscape(m.comparator ?? '<=')} ${m.limit})` : ''}</li>`)
    .join('');
  const evidence = r.evidence.length ? `<details><summary>evidence (${r.evidence.length})</summary><pre>${htmlEscape(r.evidence.join('\n'))}</pre></details>` : '';
  const charts = r.series.map((s) => latencyChart(s)).join('');
  // The actual value is left out where it only repeats the reason.
  const actual = r.actual !== undefined && r.actual !== r.reason ? `<br>actual: ${htmlEscape(r.actual)}` : '';
  const ea = r.verdict === 'fail' && r.expected ? `<p class="ea">expected: ${htmlEscape(r.expected)}${actual}</p>` : '';
  const diag = r.diagnostics ? ` <a href="${htmlEscape(place.dir + r.diagnostics)}">diagnostics</a>` : '';
  const files = (r.artifacts ?? []).map((file) => ` <a href="${htmlEscape(place.dir + file)}">${htmlEscape(basename(file))}</a>`).join('');
  return `<tr class="${r.verdict}" id="${htmlEscape(place.anchor + r.id)}"><td><span class="badge ${r.verdict}">${r.verdict}</span></td><td><b>${htmlEscape(r.id)}</b><br>${htmlEscape(r.title)}${ownRun ? `<br><small>${htmlEscape(r.criterion)}</small>` : ''}</td>${ownRun ? `<td class="num">${(r.durationMs / 1000).toFixed(2)} s</td>` : ''}<td>${htmlEscape(r.reason)}${diag}${files}${ea}${measures ? `<ul>${measures}</ul>` : ''}${charts}${evidence}</td></tr>`;
}

/** Under the headline: each failure with its reason and diagnostics, grouped by the pod they share. */
function failureSection(report: RunReport, place: PagePlace, heading: string): string {
  const groups = groupFailures(report.results);
  if (groups.length === 0) return '';
  const item = (r: CheckResult) =>
    `<li><a href="#${htmlEscape(place.anchor + r.id)}"><b>${htmlEscape(r.id)}</b></a>: ${htmlEscape(r.reason)}${r.diagnostics ? ` (<a href="${htmlEscape(place.dir + r.diagnostics)}">diagnostics</a>)` : ''}</li>`;
  const shared = groups.some((g) => g.pod !== undefined);
  const sections = groups.map((g) =>
    g.pod !== undefined
      ? `<h3>${htmlEscape(groupHeading(g, report.podStates))}</h3><ul>${g.results.map(item).join('')}</ul>`
      : `${shared ? '<h3>other failures</h3>' : ''}<ul>${g.results.map(item).join('')}</ul>`,
  );
  return `<section class="failures"><${heading}>Failures</${heading}>${sections.join('')}</section>`;
}

/** A round step for a time axis of totalMs, giving about six ticks. */
function tickStepMs(totalMs: number): number {
  const rough = Math.max(1, totalMs / 6);
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  return ([1, 2, 5, 10].map((f) => f * magnitude).find((step) => step >= rough) ?? 10 * magnitude);
}

/** One bar per check from its start to its end, whole labels, and a time axis in seconds. */
export function timelineChart(report: RunReport): string {
  const charWidth = 6.6; // 11 px monospace
  const labelWidth = Math.ceil(12 + charWidth * Math.max(4, ...report.results.map((r) => r.id.length)));
  const plotWidth = 640;
  const rowHeight = 16;
  const runStart = Date.parse(report.startedAt);
  const totalMs = Math.max(1, report.durationMs, ...report.results.map((r) => Date.parse(r.startedAt) - runStart + r.durationMs));
  const x = (ms: number) => labelWidth + (Math.max(0, ms) / totalMs) * plotWidth;
  const plotHeight = report.results.length * rowHeight;
  const step = tickStepMs(totalMs);
  const ticks: string[] = [];
  for (let ms = 0; ms <= totalMs; ms += step) {
    ticks.push(
      `<line x1="${x(ms).toFixed(1)}" x2="${x(ms).toFixed(1)}" y1="0" y2="${plotHeight}" stroke="#e5e5e5"/><text x="${x(ms).toFixed(1)}" y="${plotHeight + 14}" text-anchor="middle" font-size="10">${ms / 1000} s</text>`,
    );
  }
  const rows = report.results.map((r, i) => {
    const start = Date.parse(r.startedAt) - runStart;
    const y = i * rowHeight;
    return `<rect x="${x(start).toFixed(1)}" y="${y + 3}" width="${Math.max(1.5, (r.durationMs / totalMs) * plotWidth).toFixed(1)}" height="10" class="${r.verdict}"><title>${htmlEscape(r.id)}: ${r.verdict}, ${(r.durationMs / 1000).toFixed(2)} s from ${(start / 1000).toFixed(1)} s</title></rect><text x="${labelWidth - 6}" y="${y + 12}" text-anchor="end" font-size="11" font-family="monospace">${htmlEscape(r.id)}</text>`;
  });
  const width = labelWidth + plotWidth + 24;
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="when each check ran" width="${width}" height="${plotHeight + 22}" viewBox="0 0 ${width} ${plotHeight + 22}">${ticks.join('')}${rows.join('')}</svg>`;
}

export interface HtmlOptions {
  /** An HTML section after the checks (the drill timeline, the load charts). */
  extra?: string;
  /** Leave out the per-check timeline (drill and load verdicts all span the whole run). */
  timeline?: boolean;
}

/** The verdict of a run in a few words: "3 of 25 checks failed", "could not validate (exit 5)". */
export function headline(report: RunReport): string {
  const t = report.totals;
  const noun = report.title ? 'verdicts' : 'checks';
  return report.exitCode >= 2
    ? `could not validate (exit ${report.exitCode})`
    : t.failed > 0
      ? `${t.failed} of ${t.total} ${noun} failed`
      : `all ${t.passed} ${noun} passed${t.skipped ? `, ${t.skipped} skipped` : ''}`;
}

/** What was validated: release, namespace, context, access. */
export function targetLine(report: RunReport): string {
  const t = report.target;
  const read = targetRead(t);
  const revision = read.revision ? ` ${htmlEscape(read.revision)}` : '';
  const version = read.serverVersion ? ` (${htmlEscape(read.serverVersion)})` : '';
  return `Release <code>${htmlEscape(t.release)}</code>${revision} in <code>${htmlEscape(t.namespace)}</code>; context <code>${htmlEscape(t.context)}</code>${version}; access ${htmlEscape(t.access)}.`;
}

/** A run's failures and its table of checks, for its own page or a section of a shared one. */
export function resultSections(report: RunReport, place: PagePlace = onItsOwn, level = 2): string {
  const heading = `h${level}`;
  return `${failureSection(report, place, heading)}
<${heading}>${report.title ? 'Verdicts' : 'Checks'}</${heading}>
<table><thead><tr><th>verdict</th><th>${report.title ? 'what' : 'check'}</th>${report.title ? '' : '<th>time</th>'}<th>reason, measurements, evidence</th></tr></thead><tbody>
${failuresFirst(report.results).map((r) => checkRow(r, !report.title, place)).join('\n')}
</tbody></table>`;
}

export function renderHtml(report: RunReport, options: HtmlOptions = {}): string {
  const title = report.title ?? 'Todo stack validation';
  const timeline = options.timeline === false ? '' : `<h2>Timeline</h2>\n${timelineChart(report)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${htmlEscape(title)} ${htmlEscape(report.runId)}</title>
${pageStyle}</head><body>
<h1><span class="badge ${report.exitCode !== 0 ? 'fail' : 'pass'}">${report.exitCode !== 0 ? 'FAILED' : 'PASSED'}</span> ${htmlEscape(title)}: ${htmlEscape(headline(report))}</h1>
<p>Run <code>${htmlEscape(report.runId)}</code>, ${(report.durationMs / 1000).toFixed(1)} s. ${targetLine(report)}</p>
${report.title ? [...new Set(report.results.map((r) => r.criterion))].map((c) => `<p>What it holds the stack to: ${htmlEscape(c)}.</p>`).join('') : ''}
${report.notes.map((n) => `<p><i>${htmlEscape(n)}</i></p>`).join('')}
${resultSections(report)}
${options.extra ?? ''}
${timeline}
</body></html>
`;
}
