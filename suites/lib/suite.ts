// One run of the suite: target the cluster, seed the redactor, run the checks, collect
// diagnostics on failure, write the reports. The CLI and the cluster tests both call this.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { classifyPod, type PodState } from '../checks/pods.js';
import { ServiceAccess } from './access.js';
import { CheckFailure, type Check, type CheckContext, type CheckResult, type Shared } from './check.js';
import type { SuiteConfig } from './config.js';
import { ExitCode, InputError, isForbidden, isNotFound, oneLine } from './errors.js';
import { buildKube, preflight, type Kube, type Preflight } from './kube.js';
import { Redactor } from './redact.js';
import { writeDiagnostics } from './report/diagnostics.js';
import { groupFailures } from './report/failures.js';
import { newRunId, reportFiles, runDir, writeReports, type WrittenReports } from './report/index.js';
import { totals, type ContextsReport, type RunReport } from './report/model.js';
import { runChecks, selectChecks, validateOrder } from './runner.js';
import { mintedAuth, TodoApi, testUserId } from './todo-api.js';
import { withTimeout } from './wait.js';

/** Names of the Secrets a pod uses, in any of the ways a pod can. */
export function secretsUsedBy(pod: k8s.V1Pod): string[] {
  const names = new Set<string>();
  for (const container of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    for (const env of container.env ?? []) if (env.valueFrom?.secretKeyRef?.name) names.add(env.valueFrom.secretKeyRef.name);
    for (const from of container.envFrom ?? []) if (from.secretRef?.name) names.add(from.secretRef.name);
  }
  for (const volume of pod.spec?.volumes ?? []) {
    if (volume.secret?.secretName) names.add(volume.secret.secretName);
    for (const source of volume.projected?.sources ?? []) if (source.secret?.name) names.add(source.secret.name);
  }
  return [...names];
}

async function seedRedactor(kube: Kube, config: SuiteConfig, pods: k8s.V1Pod[], redactor: Redactor): Promise<Map<string, k8s.V1Secret>> {
  const names = new Set<string>([config.secretName, ...pods.flatMap(secretsUsedBy)]);
  const secrets = new Map<string, k8s.V1Secret>();
  for (const name of names) {
    try {
      const secret = await kube.core.readNamespacedSecret({ name, namespace: config.namespace });
      redactor.addSecretData(secret.data, secret.stringData);
      secrets.set(name, secret);
    } catch (error) {
      if (isNotFound(error)) continue;
      if (isForbidden(error)) throw new InputError('forbidden', `RBAC forbids get secrets/${name} in namespace ${config.namespace}, needed to redact secret values and sign test tokens`);
      throw error;
    }
  }
  return secrets;
}

const sweepRuns = 10;
const sweepTimeoutMs = 20_000;

/**
 * Delete tasks that earlier runs' test users still own. Work a consumer did after a run had
 * ended (an event it was down for, processed once it came back) lands after that run's own
 * cleanup; this catches it on the next run against the same release.
 */
async function sweepEarlierRuns(ctx: CheckContext, checks: Check[]): Promise<string | undefined> {
  if (!checks.some((check) => check.group === 'events' || check.group === 'performance')) return undefined;
  let entries: string[];
  try {
    entries = (await readdir(ctx.config.reportDir)).filter((name) => name !== 'latest' && !name.startsWith('.')).sort().slice(-sweepRuns);
  } catch {
    return undefined;
  }
  const users = new Set<string>();
  for (const entry of entries) {
    try {
      const earlier = JSON.parse(await readFile(join(ctx.config.reportDir, entry, 'report.json'), 'utf8')) as Partial<RunReport> & Partial<ContextsReport>;
      // A `--contexts` run keeps each context's report inside its own.
      for (const run of [earlier, ...(earlier.contexts ?? []).map((entry) => entry.report)]) {
        const target = run.target;
        if (target?.context !== ctx.kube.contextName || target.namespace !== ctx.config.namespace || target.release !== ctx.config.release) continue;
        for (const user of run.testUsers ?? []) users.add(user);
      }
    } catch {
      // A run that wrote no report left no users to sweep.
    }
  }
  if (users.size === 0) return undefined;
  try {
    return await withTimeout('sweeping earlier test users', sweepTimeoutMs, async () => {
      const endpoint = await ctx.access.service('backend', 8000);
      const secret = await ctx.shared.jwtSecret();
      let deleted = 0;
      for (const user of users) {
        const api = new TodoApi(endpoint, user, mintedAuth(user, secret), ctx.config.limits.httpTimeoutMs);
        await api.list();
        const before = api.created.size;
        const left = await api.cleanup();
        deleted += before - left.length;
      }
      return deleted > 0 ? `deleted ${deleted} task(s) that test users of earlier runs still owned (late work of a consumer)` : undefined;
    });
  } catch (error) {
    return `could not sweep earlier test users: ${oneLine(error)}`;
  }
}

export interface SuiteRun {
  report: RunReport;
  files: WrittenReports;
  /** Why the run could not validate, when `asContext` turned that into a report. */
  unvalidated?: InputError;
}

export interface SuiteOptions {
  checks: Check[];
  env?: Record<string, string | undefined>;
  /** Called as each check finishes, for live console output. */
  onResult?: (result: CheckResult, redactor: Redactor) => void;
  /** Every 10 s while checks run: the ones still running and for how long. */
  onProgress?: (running: { id: string; ms: number }[]) => void;
  /** One context of a `--contexts` run: no `latest` link, and a cluster that cannot be validated is a report, not an error. */
  asContext?: boolean;
}

export async function runSuite(config: SuiteConfig, options: SuiteOptions): Promise<SuiteRun> {
  const env = options.env ?? process.env;
  const startedAt = new Date();
  const runId = config.runId ?? newRunId(startedAt);
  // Names and order first: a typo or a cycle is found before the cluster is touched.
  validateOrder(options.checks);
  const checks = selectChecks(options.checks, config.only, config.skip, config.grep);
  if (checks.length === 0) throw new InputError('usage', `no checks match --only ${config.only.join(',')} / --skip ${config.skip.join(',')}${config.grep ? ` / --grep ${config.grep.source}` : ''} (see --list)`);
  let kube: Kube | undefined;
  const redactor = new Redactor();
  const labelSelector = `app.kubernetes.io/instance=${config.release}`;
  const releasePods = async (target: Kube) => (await target.core.listNamespacedPod({ namespace: config.namespace, labelSelector })).items;
  let pre: Preflight;
  let secrets: Map<string, k8s.V1Secret>;
  try {
    kube = buildKube(config);
    pre = await preflight(kube, config);
    secrets = await seedRedactor(kube, config, await releasePods(kube), redactor);
  } catch (error) {
    // A gate that could not validate still leaves a report saying why, so that CI never
    // reads an older run's verdict.
    if (!(error instanceof InputError)) throw error;
    const written = await writeUnvalidatedReport(config, { runId, startedAt, error, kube, env, asContext: options.asContext });
    if (options.asContext) return { ...written, unvalidated: error };
    throw error;
  }
  const target = kube;
  const access = new ServiceAccess(target, config, env);
  const controller = new AbortController();
  const shared: Shared = {
    releasePods: () => releasePods(target),
    testUser: testUserId(runId),
    users: new Set<string>(),
    async jwtSecret() {
      const secret = secrets.get(config.secretName);
      const encoded = secret?.data?.BETTER_AUTH_SECRET ?? secret?.data?.JWT_SECRET;
      const plain = secret?.stringData?.BETTER_AUTH_SECRET ?? secret?.stringData?.JWT_SECRET;
      const value = plain ?? (encoded ? Buffer.from(encoded, 'base64').toString('utf8') : undefined);
      if (!value) throw new CheckFailure(`Secret ${config.secretName} holds neither BETTER_AUTH_SECRET nor JWT_SECRET; test tokens cannot be signed`, 'a JWT signing secret', 'none');
      return value;
    },
  };
  const dir = runDir(config.reportDir, runId);
  const ctx: CheckContext = { config, kube: target, access, redactor, preflight: pre, shared, signal: controller.signal, runId, runDir: dir };
  const notes: string[] = [];
  let results: CheckResult[];
  try {
    const swept = await sweepEarlierRuns(ctx, checks);
    if (swept) notes.push(swept);
    results = await runChecks(checks, ctx, { onResult: (result) => options.onResult?.(result, redactor), onProgress: options.onProgress });
  } finally {
    controller.abort();
    await access.closeAll();
  }
  const failed = results.filter((r) => r.verdict === 'fail');
  if (redactor.tooShort > 0) notes.push(`${redactor.tooShort} secret value(s) shorter than 4 characters cannot be redacted safely; such values are weak anyway.`);
  if (failed.length > 0) {
    try {
      const pages = await writeDiagnostics(
        { kube: target, namespace: config.namespace, release: config.release, kubeconfig: config.kubeconfig, context: target.contextName, helmBinary: config.helmBinary, redactor, runDir: dir },
        failed,
      );
      for (const result of failed) result.diagnostics = pages.get(result.id);
    } catch (error) {
      notes.push(`diagnostics could not be collected: ${oneLine(error)}`);
    }
  }
  const podStates = failed.length > 0 ? await statesOfNamedPods(() => releasePods(target), results, config.limits.maxRestarts) : undefined;
  const finishedAt = new Date();
  const report: RunReport = {
    runId,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    target: {
      context: target.contextName,
      server: target.server,
      serverVersion: pre.serverVersion,
      namespace: config.namespace,
      release: config.release,
      revision: pre.release.revision,
      releaseStatus: pre.release.status,
      access: access.mode,
    },
    results,
    totals: totals(results),
    exitCode: failed.length > 0 ? ExitCode.checksFailed : ExitCode.ok,
    notes,
    testUsers: [...shared.users],
    ...(podStates ? { podStates } : {}),
  };
  const files = await writeReports(report, config.reportDir, redactor, env, { linkLatest: !options.asContext });
  return { report, files };
}

/**
 * The state of each pod that two or more failures name, as the run ends: the report heads
 * each group of failures with its pod and that state. Best effort: a pod that cannot be read
 * is left out, and one that is gone says so.
 */
async function statesOfNamedPods(listPods: () => Promise<k8s.V1Pod[]>, results: CheckResult[], maxRestarts: number): Promise<Record<string, string> | undefined> {
  const named = groupFailures(results).flatMap((group) => (group.pod !== undefined ? [group.pod] : []));
  if (named.length === 0) return undefined;
  let pods: k8s.V1Pod[];
  try {
    pods = await listPods();
  } catch {
    return undefined;
  }
  const states: Record<string, string> = {};
  for (const name of named) {
    const pod = pods.find((p) => p.metadata?.name === name);
    states[name] = pod ? podStateText(classifyPod(pod, maxRestarts)) : 'gone';
  }
  return states;
}

function podStateText(state: PodState): string {
  if (state.state === 'ready') return 'Running and Ready';
  if (state.state === 'succeeded') return 'Succeeded';
  if (state.state === 'progressing') return `not Ready: ${state.detail}`;
  return `${state.reason}${state.container ? ` in container ${state.container}` : ''}`;
}

/**
 * The report of a run that could not validate: one failing `preflight` entry that says why.
 * Drill and load runs pass their title.
 */
export interface UnvalidatedRun {
  runId: string;
  startedAt: Date;
  /** Why it could not validate. */
  error: InputError;
  /** The cluster, when it was reached at all. */
  kube: Kube | undefined;
  env: Record<string, string | undefined>;
  /** Drill and load runs name themselves. */
  title?: string;
  /** One context of a `--contexts` run: reports/latest is left alone. */
  asContext?: boolean;
  /** The stand-in report of a run that has just started (see `markRunStarted`). */
  unfinished?: boolean;
}

export async function writeUnvalidatedReport(config: SuiteConfig, run: UnvalidatedRun): Promise<SuiteRun> {
  const { runId, startedAt, error, kube, env, title, asContext = false, unfinished = false } = run;
  const finishedAt = new Date();
  const durationMs = finishedAt.getTime() - startedAt.getTime();
  const result: CheckResult = {
    ...(unfinished
      ? { id: 'run-finished', title: 'The run finished and wrote its verdict', group: 'preflight', expected: 'the verdict of this run' }
      : { id: 'preflight', title: 'The suite can reach the cluster and read the release', group: 'preflight', expected: 'a reachable cluster, and a namespace and release the suite may read' }),
    criterion: 'Before any check: the deployment can be validated at all',
    verdict: 'fail',
    reason: error.message,
    measurements: [],
    series: [],
    evidence: [unfinished ? 'no verdict yet' : `exit code ${error.exitCode}: no check ran`],
    startedAt: startedAt.toISOString(),
    durationMs,
    pods: [],
  };
  const report: RunReport = {
    ...(title ? { title } : {}),
    runId,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs,
    target: {
      context: kube?.contextName ?? config.context ?? 'unknown',
      server: kube?.server ?? 'unknown',
      serverVersion: 'unknown',
      namespace: config.namespace,
      release: config.release,
      revision: 0,
      releaseStatus: 'unknown',
      access: config.access,
    },
    results: [result],
    totals: totals([result]),
    exitCode: error.exitCode,
    notes: [unfinished ? 'This run has not written its verdict (yet).' : 'The suite could not validate this deployment; the failure above says why and what to do.'],
    testUsers: [],
  };
  // The stand-in adds nothing to a CI step summary: the run's verdict, or its failure, will.
  const summaryEnv = unfinished ? { ...env, GITHUB_STEP_SUMMARY: undefined } : env;
  const files = await writeReports(report, config.reportDir, new Redactor(), summaryEnv, { linkLatest: !asContext });
  reported.add(error);
  return { report, files };
}

/** Errors a report was already written for, so that the command's last resort does not write another. */
const reported = new WeakSet<Error>();

/**
 * Points reports/latest at a run as soon as it starts, with a stand-in report that says it
 * has not finished: a reader (CI, a person) never takes an older run's verdict for this
 * one's, even when this run is killed. The run's verdict, or its failure, replaces it.
 */
export async function markRunStarted(config: SuiteConfig, run: { runId: string; startedAt: Date; env: Record<string, string | undefined>; title?: string }): Promise<void> {
  const error = new InputError('internal', `this run started at ${run.startedAt.toISOString()} and has not written its verdict: if it is not running any more, it was stopped or crashed; run it again`);
  await writeUnvalidatedReport(config, { ...run, error, kube: undefined, unfinished: true });
  reported.delete(error);
}

/**
 * The last resort of a command whose run failed after it started: a report saying why (bad
 * usage found late, an internal error), unless one was written already. Never throws: the
 * command still exits with the error's own line and code.
 */
export async function reportFailedRun(config: SuiteConfig, run: { runId: string; startedAt: Date; env: Record<string, string | undefined>; title?: string }, error: unknown): Promise<SuiteRun | undefined> {
  if (error instanceof Error && reported.has(error)) return undefined;
  const why = error instanceof InputError ? error : new InputError('internal', `internal error: ${oneLine(error)}`);
  try {
    return await writeUnvalidatedReport(config, { ...run, error: why, kube: undefined });
  } catch {
    return undefined;
  }
}

/**
 * A command's work as one reported run: reports/latest points at the run from its start, and
 * whatever stops it is written there before the error reaches the command's exit.
 */
export async function asReportedRun<T>(
  config: SuiteConfig,
  options: { env: Record<string, string | undefined>; title?: string; onFailure?: (files: WrittenReports) => Promise<void> },
  work: (run: SuiteConfig & { runId: string }) => Promise<T>,
): Promise<T> {
  const startedAt = new Date();
  const run = { ...config, runId: config.runId ?? newRunId(startedAt) };
  const info = { runId: run.runId, startedAt, env: options.env, title: options.title };
  await markRunStarted(run, info);
  try {
    return await work(run);
  } catch (error) {
    const written = await reportFailedRun(run, info, error);
    await options.onFailure?.(written?.files ?? reportFiles(runDir(run.reportDir, run.runId))).catch(() => undefined);
    throw error;
  }
}
