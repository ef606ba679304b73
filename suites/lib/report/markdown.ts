import { groupFailures, groupHeading, failuresFirst } from './failures.js';
import { targetRead, type RunReport } from './model.js';

const icon = { pass: '✅ pass', fail: '❌ fail', skip: '⏭️ skip' } as const;
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/**
 * Where the summary's reader finds the other files. `files`: summary.md beside them, so
 * links are relative. `artifact`: a CI step summary, read on the run's page where relative
 * links lead nowhere, so files are named by their path inside the uploaded artifact.
 */
export type SummaryLinks = { kind: 'files' } | { kind: 'artifact'; artifact?: string; runUrl?: string };

/**
 * `section`: the run is one context of several on one summary: headings a level lower, the
 * context named, and its files under `dir` (its directory in the shared run).
 */
export function renderMarkdown(report: RunReport, links: SummaryLinks = { kind: 'files' }, section?: { dir: string }): string {
  const t = report.totals;
  const title = report.title ?? 'Todo stack validation';
  const noun = report.title ? 'verdicts' : 'checks';
  const verdict =
    report.exitCode >= 2
      ? `❌ could not validate (exit ${report.exitCode})`
      : t.failed > 0
        ? `❌ ${t.failed} of ${t.total} ${noun} failed`
        : `✅ all ${t.passed} ${noun} passed${t.skipped ? ` (${t.skipped} skipped)` : ''}`;
  const dir = section ? `${section.dir}/` : '';
  const diagnostics = (path: string | undefined): string => {
    if (!path) return '';
    return links.kind === 'files' ? ` ([diagnostics](${dir}${path}))` : ` (diagnostics: \`${report.runId}/${path}\`)`;
  };
  const h = section ? '###' : '##';
  const read = targetRead(report.target);
  const lines = [
    section ? `${h} Context \`${report.target.context}\`: ${verdict}` : `${h} ${title}: ${verdict}`,
    '',
    `Release \`${report.target.release}\`${read.revision ? ` ${read.revision}` : ''} in namespace \`${report.target.namespace}\`, context \`${report.target.context}\`${read.serverVersion ? ` (${read.serverVersion})` : ''}, access ${report.target.access}. Run \`${report.runId}\`, ${(report.durationMs / 1000).toFixed(1)} s.`,
    '',
  ];
  const groups = groupFailures(report.results);
  if (groups.length > 0) {
    lines.push(`${h}# Failures`, '');
    const shared = groups.some((g) => g.pod !== undefined);
    for (const group of groups) {
      if (group.pod !== undefined) lines.push(`**${groupHeading(group, report.podStates).replace(group.pod, `\`${group.pod}\``)}**`, '');
      else if (shared) lines.push('**other failures**', '');
      for (const r of group.results) {
        lines.push(`- **${r.id}**: ${r.reason}${diagnostics(r.diagnostics)}`);
        if (r.expected !== undefined) lines.push(`  - expected: ${r.expected}`);
        if (r.actual !== undefined && r.actual !== r.reason) lines.push(`  - actual: ${r.actual}`);
      }
      lines.push('');
    }
  }
  // Among several contexts, a passing one's table is folded: the reader looks for failures.
  const folded = section !== undefined && report.exitCode === 0;
  if (folded) lines.push(`<details><summary>the ${report.totals.total} checks</summary>`, '');
  lines.push(
    `| ${report.title ? 'what' : 'check'} | verdict | time | reason |`,
    '|---|---|---:|---|',
    ...failuresFirst(report.results).map((r) => `| \`${r.id}\` ${cell(r.title)} | ${icon[r.verdict]} | ${(r.durationMs / 1000).toFixed(1)} s | ${cell(r.reason)} |`),
    '',
  );
  if (folded) lines.push('</details>', '');
  for (const note of report.notes) lines.push(`> ${note}`, '');
  if (section) {
    if (links.kind === 'files') lines.push(`This context's own report: [${dir}report.html](${dir}report.html), [${dir}summary.md](${dir}summary.md).`, '');
  } else {
    lines.push(wholeReportLine(report.runId, links), '');
  }
  return lines.join('\n');
}

/** Where the whole report is: beside the summary, or inside the CI run's artifact. */
export function wholeReportLine(runId: string, links: SummaryLinks): string {
  if (links.kind === 'files') return 'The whole report: [report.html](report.html) (opens from disk), [report.json](report.json), [junit.xml](junit.xml).';
  const where = links.artifact ? `the artifact \`${links.artifact}\`` : 'the reports directory the job uploads';
  const page = links.runUrl ? ` ([the run's artifacts](${links.runUrl}#artifacts))` : '';
  return `The whole report is \`${runId}/report.html\` in ${where}${page}.`;
}
