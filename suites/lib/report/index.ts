// Writes every report of a run into reports/<run-id>/ and points reports/latest at it.
import { appendFile, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redactor } from '../redact.js';
import { renderHtml, type HtmlOptions } from './html.js';
import { renderJUnit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import type { RunReport } from './model.js';

export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z')}-${Math.random().toString(36).slice(2, 6)}`;
}

/** Points reportDir/latest at runId, replacing the link atomically so a reader never sees it missing. */
export async function pointLatest(reportDir: string, runId: string): Promise<void> {
  const temp = join(reportDir, `.latest-${runId}`);
  await rm(temp, { force: true });
  await symlink(runId, temp);
  await rename(temp, join(reportDir, 'latest'));
}

export function runDir(reportDir: string, runId: string): string {
  return join(reportDir, runId);
}

/** The link a CI step summary gives to the run's page, when the CI names it. */
export function ciRunUrl(env: Record<string, string | undefined>): string | undefined {
  return env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : undefined;
}

export interface WrittenReports {
  dir: string;
  junit: string;
  json: string;
  html: string;
  markdown: string;
}

export function reportFiles(dir: string): WrittenReports {
  return { dir, junit: join(dir, 'junit.xml'), json: join(dir, 'report.json'), html: join(dir, 'report.html'), markdown: join(dir, 'summary.md') };
}

export interface WriteOptions {
  html?: HtmlOptions;
  /** Point reportDir/latest at the run (default); not for one context of a `--contexts` run. */
  linkLatest?: boolean;
}

export async function writeReports(
  report: RunReport,
  reportDir: string,
  redactor: Redactor,
  env: Record<string, string | undefined> = process.env,
  options: WriteOptions = {},
): Promise<WrittenReports> {
  const files = reportFiles(runDir(reportDir, report.runId));
  await mkdir(files.dir, { recursive: true });
  const safe = redactor.scrubDeep(report);
  const markdown = redactor.scrub(renderMarkdown(safe));
  await Promise.all([
    writeFile(files.junit, redactor.scrub(renderJUnit(safe))),
    writeFile(files.json, redactor.scrub(`${JSON.stringify(safe, null, 2)}\n`)),
    writeFile(files.html, redactor.scrub(renderHtml(safe, options.html))),
    writeFile(files.markdown, markdown),
  ]);
  if (options.linkLatest !== false) await pointLatest(reportDir, report.runId);
  if (env.GITHUB_STEP_SUMMARY) {
    const summary = renderMarkdown(safe, { kind: 'artifact', artifact: env.TODO_REPORT_ARTIFACT || undefined, runUrl: ciRunUrl(env) });
    await appendFile(env.GITHUB_STEP_SUMMARY, `${redactor.scrub(summary)}\n`);
  }
  return files;
}
