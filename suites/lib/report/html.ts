// A single HTML file that opens from disk: inline CSS and inline SVG charts, no scripts,
// fonts or images from anywhere else.
import type { CheckResult, Series } from '../check.js';
import type { RunReport } from './model.js';

export const htmlEscape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** Bars per sample with the limit as a dashed line. */
export function latencyChart(series: Series, width = 560, height = 160): string {
  const pad = { left: 48, right: 8, top: 10, bottom: 22 };
  const values = series.values.filter((v) => Number.isFinite(v));
  const top = Math.max(1, ...values, series.limit ?? 0) * 1.1;
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const barW = values.length > 0 ? plotW / values.length : plotW;
  const y = (v: number) => pad.top + plotH - (v / top) * plotH;
  const bars = values
    .map((v, i) => {
      const over = series.limit !== undefined && v > series.limit;
      return `<rect x="${(pad.left + i * barW + barW * 0.1).toFixed(1)}" y="${y(v).toFixed(1)}" width="${Math.max(1, barW * 0.8).toFixed(1)}" height="${(pad.top + plotH - y(v)).toFixed(1)}" fill="${over ? '#c0392b' : '#2e86c1'}"><title>#${i + 1}: ${v} ${htmlEscape(series.unit)}</title></rect>`;
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

function checkRow(r: CheckResult): string {
  const measures = r.measurements
    .map((m) => `<li>${htmlEscape(m.name)}: <b>${m.value}</b> ${htmlEscape(m.unit)}${m.limit !== undefined ? ` (limit ${htmlEscape(m.comparator ?? '<=')} ${m.limit})` : ''}</li>`)
    .join('');
  const evidence = r.evidence.length ? `<details><summary>evidence (${r.evidence.length})</summary><pre>${htmlEscape(r.evidence.join('\n'))}</pre></details>` : '';
  const charts = r.series.map((s) => latencyChart(s)).join('');
  const ea = r.verdict === 'fail' && (r.expected || r.actual) ? `<p class="ea">expected: ${htmlEscape(r.expected ?? '')}<br>actual: ${htmlEscape(r.actual ?? '')}</p>` : '';
  const diag = r.diagnostics ? ` <a href="${htmlEscape(r.diagnostics)}">diagnostics</a>` : '';
  return `<tr class="${r.verdict}" id="${htmlEscape(r.id)}"><td><span class="badge ${r.verdict}">${r.verdict}</span></td><td><b>${htmlEscape(r.id)}</b><br>${htmlEscape(r.title)}<br><small>${htmlEscape(r.criterion)}</small></td><td class="num">${(r.durationMs / 1000).toFixed(2)} s</td><td>${htmlEscape(r.reason)}${diag}${ea}${measures ? `<ul>${measures}</ul>` : ''}${charts}${evidence}</td></tr>`;
}

/** `extra` is an optional HTML section appended after the checks (drill timeline, load charts). */
export function renderHtml(report: RunReport, extra = ''): string {
  const t = report.totals;
  const headline = t.failed > 0 ? `${t.failed} of ${t.total} checks failed` : `all ${t.passed} checks passed${t.skipped ? `, ${t.skipped} skipped` : ''}`;
  const maxMs = Math.max(1, ...report.results.map((r) => r.durationMs));
  const timeline = report.results
    .map((r, i) => {
      const start = Date.parse(r.startedAt) - Date.parse(report.startedAt);
      const scale = 700 / Math.max(maxMs, report.durationMs);
      return `<rect x="${(140 + Math.max(0, start) * scale).toFixed(1)}" y="${i * 14 + 2}" width="${Math.max(1, r.durationMs * scale).toFixed(1)}" height="10" class="${r.verdict}"><title>${htmlEscape(r.id)}: ${r.durationMs} ms</title></rect><text x="136" y="${i * 14 + 11}" text-anchor="end" font-size="10">${htmlEscape(r.id)}</text>`;
    })
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Todo stack validation ${htmlEscape(report.runId)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:6px;vertical-align:top;text-align:left}
.badge{display:inline-block;padding:2px 8px;border-radius:4px;color:#fff;font-weight:600}
.badge.pass{background:#1e8449}.badge.fail{background:#c0392b}.badge.skip{background:#7f8c8d}
rect.pass{fill:#1e8449}rect.fail{fill:#c0392b}rect.skip{fill:#7f8c8d}
.num{text-align:right;white-space:nowrap}.ea{background:#fdecea;padding:4px}pre{white-space:pre-wrap;font-size:12px}
</style></head><body>
<h1>Todo stack validation: ${htmlEscape(headline)}</h1>
<p>Run <code>${htmlEscape(report.runId)}</code>, ${(report.durationMs / 1000).toFixed(1)} s. Release <code>${htmlEscape(report.target.release)}</code> revision ${report.target.revision} (${htmlEscape(report.target.releaseStatus)}) in <code>${htmlEscape(report.target.namespace)}</code>; context <code>${htmlEscape(report.target.context)}</code> (${htmlEscape(report.target.serverVersion)}); access ${htmlEscape(report.target.access)}.</p>
${report.notes.map((n) => `<p><i>${htmlEscape(n)}</i></p>`).join('')}
<h2>Timeline</h2>
<svg xmlns="http://www.w3.org/2000/svg" width="860" height="${report.results.length * 14 + 6}">${timeline}</svg>
<h2>Checks</h2>
<table><thead><tr><th>verdict</th><th>check</th><th>time</th><th>reason, measurements, evidence</th></tr></thead><tbody>
${report.results.map(checkRow).join('\n')}
</tbody></table>
${extra}
</body></html>
`;
}
