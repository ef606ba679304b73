import { groupFailures, failuresFirst } from './failures.js';
import type { RunReport } from './model.js';

const icon = { pass: '✅ pass', fail: '❌ fail', skip: '⏭️ skip' } as const;
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/**
 * Where the summary's reader finds the other files. `files`: summary.md beside them, so
 * links are relative. `artifact`: a CI step summary, read on the run's page where relative
 * links lead nowhere, so files are named by their path inside the uploaded artifact.
 */
export type SummaryLinks = { kind: 'files' } | { kind: 'artifact'; artifact?: string; runUrl?: string };

export function renderMarkdown(report: RunReport, links: SummaryLinks = { kind: 'files' }): string {
  const t = report.totals;
  const title = report.title ?? 'Todo stack validation';
  const noun = report.title ? 'verdicts' : 'checks';
  const verdict =
    report.exitCode >= 2
      ? `❌ could not validate (exit ${report.exitCode})`
      : t.failed > 0
        ? `❌ ${t.failed} of ${t.total} ${noun} failed`
        : `✅ all ${t.passed} ${noun} passed${t.skipped ? ` (${t.skipped} skipped)` : ''}`;
  const diagnostics = (path: string | undefined): string => {
    if (!path) return '';
    return links.kind === 'files' ? ` ([diagnostics](${path}))` : ` (diagnostics: \`${report.runId}/${path}\`)`;
  };
  const lines = [
    `## ${title}: ${verdict}`,
    '',
    `Release \`${report.target.release}\` revision ${report.target.revision} (${report.target.releaseStatus}) in namespace \`${report.target.namespace}\`, context \`${report.target.context}\` (${report.target.serverVersion}), access ${report.target.access}. Run \`${report.runId}\`, ${(report.durationMs / 1000).toFixed(1)} s.`,
    '',
  ];
  const groups = groupFailures(report.results);
  if (groups.length > 0) {
    lines.push('### Failures', '');
    const shared = groups.some((g) => g.pod !== undefined);
    for (const group of groups) {
      if (group.pod !== undefined) lines.push(`**pod \`${group.pod}\`**: named by ${group.results.length} failing checks`, '');
      else if (shared) lines.push('**other failures**', '');
      for (const r of group.results) {
        lines.push(`- **${r.id}**: ${r.reason}${diagnostics(r.diagnostics)}`);
        if (r.expected !== undefined) lines.push(`  - expected: ${r.expected}`);
        if (r.actual !== undefined && r.actual !== r.reason) lines.push(`  - actual: ${r.actual}`);
      }
      lines.push('');
    }
  }
  lines.push(
    `| ${report.title ? 'what' : 'check'} | verdict | time | reason |`,
    '|---|---|---:|---|',
    ...failuresFirst(report.results).map((r) => `| \`${r.id}\` ${cell(r.title)} | ${icon[r.verdict]} | ${(r.durationMs / 1000).toFixed(1)} s | ${cell(r.reason)} |`),
    '',
  );
  for (const note of report.notes) lines.push(`> ${note}`, '');
  if (links.kind === 'files') {
    lines.push('The whole report: [report.html](report.html) (opens from disk), [report.json](report.json), [junit.xml](junit.xml).', '');
  } else {
    const where = links.artifact ? `the artifact \`${links.artifact}\`` : 'the reports directory the job uploads';
    const page = links.runUrl ? ` ([the run's artifacts](${links.runUrl}#artifacts))` : '';
    lines.push(`The whole report is \`${report.runId}/report.html\` in ${where}${page}.`, '');
  }
  return lines.join('\n');
}
