// npm run drill:rollback / drill:upgrade / drill:drain: opt-in drills against a live release.
// Exit 0 when every verdict passed, 1 when one failed; otherwise the suite's exit codes
// (2 bad usage, 3-8 the target, 9 internal), checked before anything is changed or seeded.
import * as k8s from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exitCodesHelp, resolveConfig } from '../lib/config.js';
import { endCommand, InputError } from '../lib/errors.js';
import { buildKube, checkRelease, checkTarget } from '../lib/kube.js';
import { asReportedRun } from '../lib/suite.js';
import { candidateArgs, locateHelm, runHelm } from './helm.js';
import { runDrill, type DrillKind } from './drill.js';
import { Redactor } from '../lib/redact.js';
import { drainSection, drillSection } from './report.js';
import { isSchedulable, runDrain } from './drain.js';
import { runTarget, seedFromSecret, verdictResults, writeRunReports } from './runreport.js';
import { numberFlag, parseFlags, targetOptions } from '../lib/cli-options.js';

const usage = `Usage: npm run drill:rollback -- [options]   |   npm run drill:upgrade -- [options]

Probes the frontend, the backend API (through the frontend's /api proxy) and the event
path continuously while the release is upgraded (and, for rollback, rolled back to the
revision recorded at the start), and times every phase.

  --candidate NAME       restart (default: a pod-annotation change), bad-image, bad-config
  --chart PATH           chart for the upgrade (default helm/todo-app)
  --values FILE          extra values file for the upgrade (repeatable)
  --helm-arg ARG         extra argument for helm upgrade (repeatable)
  --watch-seconds N      how long the candidate is watched before the rollback (default 30)
  --rollback-limit N     rollback time limit in seconds (default 300)
  --deploy-limit N       deploy time limit in seconds (default 900)
  --ready-seconds N      upper bound on waiting for Ready pods (default 300)
  --probe-rate N         probes per second for frontend and API (default 5)
  --event-rate N         event-flow probes per second (default 0.5)
  --settle-seconds N     steady-state probing before and after (default 3)
  --kubeconfig, --context, -n/--namespace, --release, --frontend-url, --report-dir, --run-id
                         as for npm test
  -h, --help

${exitCodesHelp}`;

const drainUsage = `Usage: npm run drill:drain -- [options]

Drains one node (cordon, then every pod but DaemonSets' evicted through the Eviction API,
PodDisruptionBudgets honoured: a refused eviction is retried) while probing the frontend,
the backend API (through the frontend's /api proxy) and the event path; then uncordons it
and times the release back to full strength. Needs at least two schedulable nodes.

  --node NAME            the node to drain (default: the one running most of the release's pods)
  --evict-seconds N      upper bound on evicting every pod of the node (default 300)
  --ready-seconds N      upper bound on each wait for Ready pods (default 300)
  --probe-rate N         probes per second for frontend and API (default 5)
  --event-rate N         event-flow probes per second (default 0.5)
  --settle-seconds N     steady-state probing before and after (default 3)
  --kubeconfig, --context, -n/--namespace, --release, --frontend-url, --report-dir, --run-id
                         as for npm test
  -h, --help

${exitCodesHelp}`;

function passOnTarget(values: Partial<Record<'kubeconfig' | 'context' | 'kube-context' | 'namespace' | 'release' | 'frontend-url' | 'report-dir' | 'run-id', string>>): string[] {
  const passOn: string[] = [];
  for (const key of ['kubeconfig', 'context', 'kube-context', 'namespace', 'release', 'frontend-url', 'report-dir', 'run-id'] as const) {
    const value = values[key];
    if (value !== undefined) passOn.push(`--${key}`, value);
  }
  return passOn;
}

async function drain(argv: string[]): Promise<number> {
  if (argv.some((arg) => arg === '--help' || arg === '-h')) {
    process.stdout.write(`${drainUsage}\n`);
    return 0;
  }
  const { values } = parseFlags(argv, {
    node: { type: 'string' },
    'evict-seconds': { type: 'string' },
    'ready-seconds': { type: 'string' },
    'probe-rate': { type: 'string' },
    'event-rate': { type: 'string' },
    'settle-seconds': { type: 'string' },
    ...targetOptions,
    help: { type: 'boolean', short: 'h' },
  });
  const resolved = resolveConfig({ argv: passOnTarget(values), env: process.env, cwd: process.cwd() });
  const limits = {
    evictSeconds: numberFlag(values['evict-seconds'], 300, 'evict-seconds'),
    readySeconds: numberFlag(values['ready-seconds'], 300, 'ready-seconds'),
    probeRate: numberFlag(values['probe-rate'], 5, 'probe-rate'),
    eventRate: numberFlag(values['event-rate'], 0.5, 'event-rate'),
    settleSeconds: numberFlag(values['settle-seconds'], 3, 'settle-seconds'),
  };
  const title = 'Node-drain drill';
  return asReportedRun(resolved, { env: process.env, title }, async (config) => {
    const kube = buildKube(config);
    const version = await checkTarget(kube, config.namespace);
    const release = await checkRelease(kube, config.namespace, config.release);
    const nodes = (await kube.core.listNode()).items;
    const schedulable = nodes.filter(isSchedulable).map((node) => node.metadata?.name ?? '?');
    if (schedulable.length < 2) {
      throw new InputError('usage', `the drain drill needs at least two schedulable nodes, and this cluster has ${schedulable.length} (${schedulable.join(', ') || 'none'}): draining the only node would take the whole release down; on the sandbox run npm run sandbox:down, then npm run demo -- --env prod (three nodes)`);
    }
    if (values.node !== undefined && !schedulable.includes(values.node)) {
      throw new InputError('usage', `--node ${values.node}: not a schedulable node of this cluster (schedulable: ${schedulable.join(', ')})`);
    }
    const redactor = new Redactor();
    const log = (line: string) => process.stdout.write(`${redactor.scrub(line)}\n`);
    // Interrupted mid-drill: the node is made schedulable again before leaving.
    let cordoned: string | undefined;
    const interrupted = (signal: NodeJS.Signals) => {
      if (cordoned === undefined) process.exit(130);
      log(`${signal}: uncordoning ${cordoned} before exiting`);
      void kube.core.patchNode({ name: cordoned, body: { spec: { unschedulable: false } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch))
        .then(() => log(`node ${cordoned} schedulable again`), (error: unknown) => log(`!!! NODE LEFT CORDONED: kubectl uncordon ${cordoned} (${String(error)})`))
        .finally(() => process.exit(130));
    };
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    const notes: string[] = [];
    await seedFromSecret(kube, config, redactor, notes);
    const report = await runDrain({ config, kube, node: values.node, redactor, log, onCordoned: (node) => { cordoned = node; }, ...limits });
    const criterion = 'Availability: a node drained for maintenance takes no request down; budgets hold; the release returns to full strength';
    const results = verdictResults(report.verdicts, 'drill-drain', criterion, report.startedAt, report.durationMs);
    if (report.problems.length > 0) {
      results.push(...verdictResults([{ id: 'no-problems', name: 'drill left no problems', pass: false, detail: report.problems.join('; '), expected: 'no problems', actual: report.problems.join('; ') }], 'drill-drain', criterion, report.startedAt, report.durationMs));
    }
    const { report: written, files } = await writeRunReports({
      title,
      reportDir: config.reportDir,
      runId: config.runId,
      startedAt: report.startedAt,
      finishedAt: new Date(report.startMs + report.durationMs).toISOString(),
      target: runTarget(kube, config, { version, release }, 'frontend public address'),
      results,
      notes: [...notes, ...report.problems],
      detail: { kind: 'drill-drain', drill: report },
      extraHtml: drainSection(report),
      redactor,
    });
    for (const result of written.results) log(`${result.verdict.toUpperCase()} ${result.id}: ${result.reason}`);
    for (const problem of report.problems) log(`!!! ${problem}`);
    log(`probes: ${Object.entries(report.probeCounts).map(([t, c]) => `${t} ${c.failed}/${c.total} failed`).join(', ')}; longest outage ${report.longestOutageMs} ms`);
    log(`reports: ${files.dir} (junit.xml, report.json, report.html, summary.md)`);
    return written.exitCode;
  });
}

async function main(argv: string[]): Promise<number> {
  const kind = argv[0] as DrillKind | 'drain';
  if (kind === 'drain') return drain(argv.slice(1));
  if (argv.some((arg) => arg === '--help' || arg === '-h')) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (kind !== 'rollback' && kind !== 'upgrade') {
    throw new InputError('usage', `the first argument names the drill: rollback, upgrade or drain, not "${argv[0] ?? ''}" (npm run drill:rollback, drill:upgrade or drill:drain; see --help)`);
  }
  const { values } = parseFlags(argv.slice(1), {
    candidate: { type: 'string' },
    chart: { type: 'string' },
    values: { type: 'string', multiple: true },
    'helm-arg': { type: 'string', multiple: true },
    'watch-seconds': { type: 'string' },
    'rollback-limit': { type: 'string' },
    'deploy-limit': { type: 'string' },
    'ready-seconds': { type: 'string' },
    'probe-rate': { type: 'string' },
    'event-rate': { type: 'string' },
    'settle-seconds': { type: 'string' },
    ...targetOptions,
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const resolved = resolveConfig({ argv: passOnTarget(values), env: process.env, cwd: process.cwd() });
  const candidate = values.candidate ?? (values.values?.length || values.chart ? 'values' : 'restart');
  // Every flag and the target are checked before any test data is seeded or the release changed.
  try {
    candidateArgs(candidate, 'check');
  } catch (error) {
    throw new InputError('usage', `--candidate: ${(error as Error).message}`);
  }
  const limits = {
    watchSeconds: numberFlag(values['watch-seconds'], 30, 'watch-seconds'),
    rollbackLimitSeconds: numberFlag(values['rollback-limit'], 300, 'rollback-limit'),
    deployLimitSeconds: numberFlag(values['deploy-limit'], 900, 'deploy-limit'),
    readySeconds: numberFlag(values['ready-seconds'], 300, 'ready-seconds'),
    probeRate: numberFlag(values['probe-rate'], 5, 'probe-rate'),
    eventRate: numberFlag(values['event-rate'], 0.5, 'event-rate'),
    settleSeconds: numberFlag(values['settle-seconds'], 3, 'settle-seconds'),
  };
  for (const file of values.values ?? []) {
    if (!existsSync(file)) throw new InputError('usage', `--values ${file}: no such file (give a values file of the release's chart)`);
  }
  if (values.chart !== undefined && !existsSync(join(values.chart, 'Chart.yaml'))) {
    throw new InputError('usage', `--chart ${values.chart}: no Chart.yaml there (give the directory of the release's chart, e.g. helm/todo-app)`);
  }
  const title = kind === 'rollback' ? 'Rollback drill' : 'Upgrade drill';
  // Stopped at any point, even before anything changed: the run's report says why.
  return asReportedRun(resolved, { env: process.env, title }, async (config) => {
    const kube = buildKube(config);
    const version = await checkTarget(kube, config.namespace);
    await checkRelease(kube, config.namespace, config.release);
    const helmBinary = locateHelm(config.helmBinary);
    const redactor = new Redactor();
    const log = (line: string) => process.stdout.write(`${redactor.scrub(line)}\n`);
    const helm = { binary: helmBinary, namespace: config.namespace, release: config.release, kubeconfig: config.kubeconfig, context: config.context };
    // Interrupted mid-drill: put the release back at the recorded revision before leaving.
    let recorded: number | undefined;
    const interrupted = (signal: NodeJS.Signals) => {
      if (kind !== 'rollback' || recorded === undefined) process.exit(130);
      log(`${signal}: rolling ${config.release} back to recorded revision ${recorded} before exiting`);
      void runHelm(helm, ['rollback', config.release, String(recorded)], 300_000).then((run) => {
        if (run.code === 0) log(`release ${config.release} rolled back to revision ${recorded}`);
        else log(`!!! RELEASE NOT RESTORED: helm rollback ${config.release} ${recorded} -n ${config.namespace} failed: ${run.stderr.trim().split('\n').slice(-1)[0] ?? ''}`);
        process.exit(130);
      });
    };
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    const notes: string[] = [];
    await seedFromSecret(kube, config, redactor, notes);
    log(`${kind} drill of release ${config.release} in ${config.namespace}, candidate ${candidate}`);
    const report = await runDrill({
      kind,
      redactor,
      config,
      kube,
      helm,
      onRecorded: (revision) => {
        recorded = revision;
      },
      chart: resolve(values.chart ?? 'helm/todo-app'),
      candidate,
      valuesFiles: (values.values ?? []).map((file) => resolve(file)),
      helmArgs: values['helm-arg'] ?? [],
      ...limits,
      log,
    });
    const criterion = kind === 'rollback' ? 'Rollback: helm rollback succeeds within 5 min, no downtime, no data lost' : 'Deploy: a new revision rolls out within 15 min without downtime or lost data';
    const results = verdictResults(report.verdicts, `drill-${kind}`, criterion, report.startedAt, report.durationMs);
    if (report.problems.length > 0) {
      results.push(...verdictResults([{ id: 'no-problems', name: 'drill left no problems', pass: false, detail: report.problems.join('; '), expected: 'no problems', actual: report.problems.join('; ') }], `drill-${kind}`, criterion, report.startedAt, report.durationMs));
    }
    const { report: written, files } = await writeRunReports({
      title,
      reportDir: config.reportDir,
      runId: config.runId,
      startedAt: report.startedAt,
      finishedAt: new Date(report.startMs + report.durationMs).toISOString(),
      target: runTarget(kube, config, { version, release: report.final }, 'frontend public address'),
      results,
      notes: [...notes, ...report.problems],
      detail: { kind: `drill-${kind}`, drill: report },
      extraHtml: drillSection(report),
      redactor,
    });
    log(`candidate ${report.candidate}: ${report.candidateOutcome}`);
    for (const result of written.results) log(`${result.verdict.toUpperCase()} ${result.id}: ${result.reason}`);
    for (const problem of report.problems) log(`!!! ${problem}`);
    log(`probes: ${Object.entries(report.probeCounts).map(([t, c]) => `${t} ${c.failed}/${c.total} failed`).join(', ')}; longest outage ${report.longestOutageMs} ms`);
    log(`reports: ${files.dir} (junit.xml, report.json, report.html, summary.md)`);
    return written.exitCode;
  });
}

endCommand(main(process.argv.slice(2)));
