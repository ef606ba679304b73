import type { RunReport } from './model.js';

const icon = { pass: '✅ pass', fail: '❌ fail', skip: '⏭️ skip' } as const;
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

export function renderMarkdown(report: RunReport, reportPath?: string): string {
  const t = report.totals;
  const verdict = t.failed > 0 ? `❌ ${t.failed} of ${t.total} checks failed` : `✅ all ${t.passed} checks passed${t.skipped ? ` (${t.skipped} skipped)` : ''}`;
  const lines = [
    `## Todo stack validation: ${verdict}`,
    '',
    `Release \`${report.target.release}\` revision ${report.target.revision} (${report.target.releaseStatus}) in namespace \`${report.target.namespace}\`, context \`${report.target.context}\` (${report.target.serverVersion}), access ${report.target.access}. Run \`${report.runId}\`, ${(report.durationMs / 1000).toFixed(1)} s.`,
    '',
    '| check | verdict | time | reason |',
    '|---|---|---:|---|',
    ...report.results.map((r) => `| \`${r.id}\` ${cell(r.title)} | ${icon[r.verdict]} | ${(r.durationMs / 1000).toFixed(1)} s | ${cell(r.reason)}${r.diagnostics ? ` ([diagnostics](${r.diagnostics}))` : ''} |`),
    '',
  ];
  const failed = report.results.filter((r) => r.verdict === 'fail');
  if (failed.length > 0) {
    lines.push('### Failures', '');
    for (const r of failed) {
      lines.push(`- **${r.id}**: ${r.reason}`);
      if (r.expected !== undefined) lines.push(`  - expected: ${r.expected}`);
      if (r.actual !== undefined) lines.push(`  - actual: ${r.actual}`);
    }
    lines.push('');
  }
  for (const note of report.notes) lines.push(`> ${note}`, '');
  if (reportPath) lines.push(`Reports: \`${reportPath}\``, '');
  return lines.join('\n');
}
