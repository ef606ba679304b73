// The report of a `--contexts` run: every context's section on one page, one summary, one
// JUnit file and one JSON file, next to each context's own full report in its directory.
// Built from the contexts' reports as written, whose secrets are already redacted.
import { appendFile, writeFile } from 'node:fs/promises';
import { headline, htmlEscape, pageStyle, resultSections, targetLine } from './html.js';
import { ciRunUrl, pointLatest, reportFiles, runDir, type WrittenReports } from './index.js';
import { junitDocument, junitSuites } from './junit.js';
import { renderMarkdown, wholeReportLine, type SummaryLinks } from './markdown.js';
import type { ContextsReport, RunReport } from './model.js';

const passed = (report: RunReport) => report.exitCode === 0;

/** "todo-app r3 in todo-app"; without a revision when the release was never read. */
const releaseText = (run: RunReport) => `${run.target.release}${run.target.revision > 0 ? ` r${run.target.revision}` : ''} in ${run.target.namespace}`;

/** "all 3 contexts passed", "1 of 3 contexts failed, 1 could not be validated". */
export function contextsHeadline(report: ContextsReport): string {
  const runs = report.contexts.map((entry) => entry.report);
  const unvalidated = runs.filter((run) => run.exitCode >= 2).length;
  const failed = runs.filter((run) => run.exitCode === 1).length;
  if (unvalidated + failed === 0) return `all ${runs.length} contexts passed`;
  const parts = [];
  if (failed > 0) parts.push(`${failed} of ${runs.length} contexts failed`);
  if (unvalidated > 0) parts.push(`${unvalidated}${failed > 0 ? '' : ` of ${runs.length}`} could not be validated`);
  return parts.join(', ');
}

export function renderContextsHtml(report: ContextsReport): string {
  const rows = report.contexts.map(({ context, dir, report: run }) =>
    `<tr><td><span class="badge ${passed(run) ? 'pass' : 'fail'}">${passed(run) ? 'pass' : 'fail'}</span></td><td><a href="#context-${htmlEscape(dir)}"><b>${htmlEscape(context)}</b></a></td><td>${htmlEscape(headline(run))}</td><td>${htmlEscape(releaseText(run))}</td><td class="num">${(run.durationMs / 1000).toFixed(1)} s</td></tr>`,
  );
  const sections = report.contexts.map(({ context, dir, report: run }) => `<section id="context-${htmlEscape(dir)}">
<h2><span class="badge ${passed(run) ? 'pass' : 'fail'}">${passed(run) ? 'PASSED' : 'FAILED'}</span> Context <code>${htmlEscape(context)}</code>: ${htmlEscape(headline(run))}</h2>
<p>${targetLine(run)} Its own page, with the timeline: <a href="${htmlEscape(dir)}/report.html">${htmlEscape(dir)}/report.html</a>.</p>
${run.notes.map((n) => `<p><i>${htmlEscape(n)}</i></p>`).join('')}
${passed(run) ? `<details><summary>the ${run.totals.total} checks</summary>${resultSections(run, { dir: `${dir}/`, anchor: `${dir}-` }, 3)}</details>` : resultSections(run, { dir: `${dir}/`, anchor: `${dir}-` }, 3)}
</section>`);
  const ok = report.exitCode === 0;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Todo stack validation ${htmlEscape(report.runId)}</title>
${pageStyle}<style>section{border-top:2px solid #ddd;margin-top:28px}</style></head><body>
<h1><span class="badge ${ok ? 'pass' : 'fail'}">${ok ? 'PASSED' : 'FAILED'}</span> Todo stack validation: ${htmlEscape(contextsHeadline(report))}</h1>
<p>Run <code>${htmlEscape(report.runId)}</code>, ${(report.durationMs / 1000).toFixed(1)} s, ${report.contexts.length} contexts one after the other; exit code ${report.exitCode}.</p>
<table><thead><tr><th>verdict</th><th>context</th><th>checks</th><th>release</th><th>time</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>
${sections.join('\n')}
</body></html>
`;
}

export function renderContextsJUnit(report: ContextsReport): string {
  let firstId = 0;
  const suites = report.contexts.flatMap(({ context, report: run }) => {
    const own = junitSuites(run, { namePrefix: `${context}: `, firstId });
    firstId += own.length;
    return own;
  });
  return junitDocument(suites, report);
}

export function renderContextsMarkdown(report: ContextsReport, links: SummaryLinks = { kind: 'files' }): string {
  const verdict = `${report.exitCode === 0 ? '✅' : '❌'} ${contextsHeadline(report)}`;
  const lines = [
    `## Todo stack validation: ${verdict}`,
    '',
    `Run \`${report.runId}\`, ${(report.durationMs / 1000).toFixed(1)} s, exit code ${report.exitCode}.`,
    '',
    '| context | verdict | release |',
    '|---|---|---|',
    ...report.contexts.map(({ context, report: run }) => `| \`${context}\` | ${passed(run) ? '✅' : '❌'} ${headline(run)} | ${releaseText(run)} |`),
    '',
  ];
  for (const { dir, report: run } of report.contexts) lines.push(renderMarkdown(run, links, { dir }));
  lines.push(wholeReportLine(report.runId, links), '');
  return lines.join('\n');
}

export async function writeContextsReports(report: ContextsReport, reportDir: string, env: Record<string, string | undefined> = process.env): Promise<WrittenReports> {
  const files = reportFiles(runDir(reportDir, report.runId));
  await Promise.all([
    writeFile(files.junit, renderContextsJUnit(report)),
    writeFile(files.json, `${JSON.stringify(report, null, 2)}\n`),
    writeFile(files.html, renderContextsHtml(report)),
    writeFile(files.markdown, renderContextsMarkdown(report)),
  ]);
  await pointLatest(reportDir, report.runId);
  if (env.GITHUB_STEP_SUMMARY) {
    const links: SummaryLinks = { kind: 'artifact', artifact: env.TODO_REPORT_ARTIFACT || undefined, runUrl: ciRunUrl(env) };
    await appendFile(env.GITHUB_STEP_SUMMARY, `${renderContextsMarkdown(report, links)}\n`);
  }
  return files;
}
