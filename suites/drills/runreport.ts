// Drill and load runs write the suite's report set: their verdicts become CheckResults, the
// suite's writers render junit.xml, report.json, report.html and summary.md into
// reports/<run-id>/, point reports/latest at it, and scrub everything through the Redactor.
import type { CheckResult } from '../lib/check.js';
import type { SuiteConfig } from '../lib/config.js';
import { ExitCode } from '../lib/errors.js';
import type { VersionInfo } from '@kubernetes/client-node';
import type { Kube } from '../lib/kube.js';
import type { Redactor } from '../lib/redact.js';
import { newRunId, writeReports, type WrittenReports } from '../lib/report/index.js';
import { totals, type RunReport } from '../lib/report/model.js';
import { sectionStyle } from './report.js';
import type { Verdict } from './stats.js';

export const verdictId = (verdict: Verdict): string =>
  verdict.id ?? verdict.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** One CheckResult per verdict, in the suite's shape, so the suite's writers can render them. */
export function verdictResults(verdicts: readonly Verdict[], group: string, criterion: string, startedAt: string, durationMs: number): CheckResult[] {
  return verdicts.map((v) => {
    const verdict: CheckResult['verdict'] = v.skip ? 'skip' : v.pass ? 'pass' : 'fail';
    const result: CheckResult = {
      id: verdictId(v),
      title: v.name,
      group,
      criterion,
      verdict,
      reason: verdict === 'skip' && !v.detail.startsWith('skipped') ? `skipped: ${v.detail}` : v.detail,
      measurements: [],
      series: [],
      evidence: [],
      startedAt,
      durationMs,
      pods: [],
    };
    if (verdict === 'fail') {
      result.expected = v.expected ?? `${v.name} holds`;
      result.actual = v.actual ?? v.detail;
    }
    return result;
  });
}

/** Seed the redactor with every value of the app Secret; a note when it cannot be read. */
export async function seedFromSecret(kube: Kube, config: Pick<SuiteConfig, 'secretName' | 'namespace'>, redactor: Redactor, notes: string[]): Promise<void> {
  try {
    const secret = await kube.core.readNamespacedSecret({ name: config.secretName, namespace: config.namespace });
    redactor.addSecretData(secret.data, secret.stringData);
  } catch {
    notes.push(`Secret ${config.secretName} could not be read for redaction; only the values the run used are scrubbed.`);
  }
}

/** What a drill or load run read of its target: the server's version, the release where it could read it. */
export interface TargetRead {
  version: VersionInfo;
  release: { revision: number; status: string } | undefined;
}

/** The target a drill or load run names in its report: the cluster, the release and how it was reached. */
export function runTarget(kube: Kube, config: Pick<SuiteConfig, 'namespace' | 'release'>, read: TargetRead, access: string): RunReport['target'] {
  return { context: kube.contextName, server: kube.server, serverVersion: read.version.gitVersion, namespace: config.namespace, release: config.release, revision: read.release?.revision ?? 0, releaseStatus: read.release?.status ?? 'unknown', access };
}

export interface RunReportInput {
  /** The page's headline: "Rollback drill", "Load test". */
  title: string;
  reportDir: string;
  runId: string | undefined;
  startedAt: string;
  finishedAt: string;
  target: RunReport['target'];
  results: CheckResult[];
  notes: string[];
  detail: Record<string, unknown>;
  /** HTML section of the drill timeline or the load charts. */
  extraHtml: string;
  redactor: Redactor;
  env?: Record<string, string | undefined>;
}

export async function writeRunReports(input: RunReportInput): Promise<{ report: RunReport; files: WrittenReports }> {
  const notes = [...input.notes];
  if (input.redactor.tooShort > 0) notes.push(`${input.redactor.tooShort} secret value(s) shorter than 4 characters cannot be redacted safely; such values are weak anyway.`);
  const failed = input.results.some((r) => r.verdict === 'fail');
  const report: RunReport = {
    title: input.title,
    runId: input.runId ?? newRunId(),
    startedAt: input.startedAt,
    finishedAt: input.finishedAt,
    durationMs: Math.max(0, Date.parse(input.finishedAt) - Date.parse(input.startedAt)),
    target: input.target,
    results: input.results,
    totals: totals(input.results),
    exitCode: failed ? ExitCode.checksFailed : ExitCode.ok,
    notes,
    testUsers: [],
    detail: input.detail,
  };
  const files = await writeReports(report, input.reportDir, input.redactor, input.env ?? process.env, { html: { extra: `${sectionStyle}\n${input.extraHtml}`, timeline: false } });
  return { report, files };
}
