// npm run load: the load test against the frontend's public address, from this machine or
// (--job N) from N pods of a Kubernetes Job running the suite's image (todo-validation);
// each Job pod prints one result line and the driver merges them into one report.
// Exit 0 when every threshold held, 1 when one did not; otherwise the suite's exit codes
// (2 bad usage, 3-8 the target, 9 internal), checked before any load is sent.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { defaultAuthRoutes, exitCodesHelp, resolveConfig, type AuthRoutes, type SuiteConfig } from '../lib/config.js';
import { endCommand, InputError } from '../lib/errors.js';
import { buildKube, checkTarget, findRelease, type Kube } from '../lib/kube.js';
import { withTimeout } from '../lib/wait.js';
import { asReportedRun } from '../lib/suite.js';
import { frontendBase } from '../drills/drill.js';
import { resultMarker, runLoadJob } from './job.js';
import { buildReport, generate, withUsage, type LoadOptions, type LoadSamples } from './load.js';
import { Redactor } from '../lib/redact.js';
import { cpuPerRequest, loadSection } from './report.js';
import { headroomVerdict, runSweep, sweepSection, sweepUsers } from './sweep.js';
import { defaultMix, mixText, parseMix, type Mix } from './mix.js';
import { runTarget, seedFromSecret, verdictResults, writeRunReports, type TargetRead } from '../drills/runreport.js';
import { numberFlag, parseFlags, targetOptions } from '../lib/cli-options.js';
import type { Verdict } from '../drills/stats.js';

const usage = `Usage: npm run load -- [options]

  --users N              virtual users, each signed up through the frontend, one
                         connection each (default 100)
  --duration S           seconds (default 120)
  --rate-per-user R      requests per second of one user, i.e. 1/think time (default 1)
  --mix KIND=N,...       requests per 100 of each kind (default ${mixText(defaultMix)});
                         kinds: page (the signed-in page), asset (its scripts and styles),
                         signin, list, create (a daily recurring task), update, complete
                         (an event through Kafka), delete; kinds not named keep the default
  --p95-ms N             p95 latency limit (default 2000)
  --error-rate P         error-rate limit in percent (default 1)
  --event-ms N           event-flow latency limit (default 5000)
  --event-every S        seconds between event-flow probes (default 3; 0 = off)
  --throttle-share P     a container throttled in more than P % of its CPU periods fails
                         the run (default 25, the kubernetes-mixin CPUThrottlingHigh alert)
  --sweep                the headroom sweep: the load again and again with more users
                         (--sweep-step more each time, up to --sweep-max), each step
                         --duration long (default 60 here), until a step breaks a target
                         (those above, or the pace: 95 % of the requests the users were to
                         send answered); reports the largest user count that held them all
  --sweep-step N         users added per step, and the first step's users (default 50)
  --sweep-max N          users of the last step (default 400; at most 20 steps)
  --job N                run the load in N pods of a Job (the suite's image) instead of here
  --image IMAGE          image of the Job's pods (default: todo-validation at the umbrella
                         chart's appVersion, from the registry the release's backend uses)
  --worker               (inside a Job pod) generate and print one result line
  --limit usagePercent=N pod CPU/memory target in percent of the limits (default 80; also
                         TODO_SUITE_LIMITS or the config file's limits, as for npm test)
  --kubeconfig, --context, -n/--namespace, --release, --frontend-url, --report-dir, --run-id
                         as for npm test
  -h, --help

${exitCodesHelp}`;

async function main(argv: string[]): Promise<number> {
  if (argv.some((arg) => arg === '--help' || arg === '-h')) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const { values } = parseFlags(argv, {
    users: { type: 'string' },
    duration: { type: 'string' },
    'rate-per-user': { type: 'string' },
    mix: { type: 'string' },
    'p95-ms': { type: 'string' },
    'error-rate': { type: 'string' },
    'event-ms': { type: 'string' },
    'event-every': { type: 'string' },
    'throttle-share': { type: 'string' },
    sweep: { type: 'boolean' },
    'sweep-step': { type: 'string' },
    'sweep-max': { type: 'string' },
    job: { type: 'string' },
    image: { type: 'string' },
    worker: { type: 'boolean' },
    ...targetOptions,
    limit: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const common = {
    users: Math.round(numberFlag(values.users, 100, 'users')),
    durationSeconds: numberFlag(values.duration, values.sweep ? 60 : 120, 'duration'),
    ratePerUser: numberFlag(values['rate-per-user'], 1, 'rate-per-user'),
    p95LimitMs: numberFlag(values['p95-ms'], 2000, 'p95-ms'),
    errorRatePercent: numberFlag(values['error-rate'], 1, 'error-rate'),
    eventLimitMs: numberFlag(values['event-ms'], 5000, 'event-ms'),
    eventEverySeconds: numberFlag(values['event-every'], 3, 'event-every', true),
    usagePercent: 80,
    throttleSharePercent: numberFlag(values['throttle-share'], 25, 'throttle-share', true),
    mix: parseMix(values.mix),
  };

  if (values.worker) {
    // Inside a Job pod: the address and the frontend's sign-in routes come from the pod's
    // env; its users sign up there, so the pod needs no secret.
    const base = values['frontend-url'] ?? process.env.TODO_LOAD_BASE;
    if (!base) throw new InputError('usage', 'worker needs --frontend-url (or TODO_LOAD_BASE in its env)');
    const prefix = `load-${process.env.HOSTNAME ?? randomBytes(3).toString('hex')}`.replace(/[^a-zA-Z0-9-]/g, '').slice(0, 40);
    const samples = await generate({ ...common, base, authRoutes: workerAuthRoutes(process.env.TODO_LOAD_AUTH_ROUTES), userPrefix: prefix, redactor: new Redactor(), log });
    log(`${resultMarker}${JSON.stringify(samples)}`);
    return 0;
  }

  const passOn: string[] = [];
  for (const key of ['kubeconfig', 'context', 'kube-context', 'namespace', 'release', 'frontend-url', 'report-dir', 'run-id'] as const) {
    const value = values[key];
    if (value !== undefined) passOn.push(`--${key}`, value);
  }
  for (const limit of values.limit ?? []) passOn.push('--limit', limit);
  const resolved = resolveConfig({ argv: passOn, env: process.env, cwd: process.cwd() });
  common.usagePercent = resolved.limits.usagePercent;
  const jobPods = values.job === undefined ? 0 : Math.round(numberFlag(values.job, 1, 'job'));
  if (values.sweep && jobPods > 0) throw new InputError('usage', '--sweep runs from this machine: leave out --job');
  const sweepCounts = values.sweep ? sweepUsers(Math.round(numberFlag(values['sweep-step'], 50, 'sweep-step')), Math.round(numberFlag(values['sweep-max'], 400, 'sweep-max'))) : [];
  if (values.sweep && sweepCounts.length === 0) throw new InputError('usage', '--sweep-max must be at least --sweep-step');
  // Stopped at any point, even before any load was sent: the run's report says why.
  return asReportedRun(resolved, { env: process.env, title: 'Load test' }, async (config) => {
    const kube = buildKube(config);
    const read: TargetRead = {
      version: await checkTarget(kube, config.namespace),
      // For the report's headline only: the load needs no release, and a reader who may not list Helm's Secrets loses just that line.
      release: await withTimeout('reading the release', 15_000, () => findRelease(kube, config.namespace, config.release)).catch(() => undefined),
    };
    const redactor = new Redactor();
    const notes: string[] = [];
    const say = (line: string) => process.stdout.write(`${redactor.scrub(line)}\n`);
    await seedFromSecret(kube, config, redactor, notes);
    const base = await frontendBase(kube, config);
    const options: LoadOptions = { ...common, base, authRoutes: config.authRoutes, userPrefix: `load-${randomBytes(3).toString('hex')}`, metrics: { kube, namespace: config.namespace }, redactor, log: say };
    if (values.sweep) return sweep(kube, read, config, options, sweepCounts, common.users, notes, say);
    say(`load: ${common.users} users${jobPods ? ` in each of ${jobPods} Job pods` : ''} for ${common.durationSeconds} s at ${common.ratePerUser} req/s each against ${base}`);
    const { value: samples, usage: used, note, containers } = await withUsage(options.metrics, async (loadStarts): Promise<LoadSamples[]> => {
      if (jobPods > 0) {
        // The Job's pods sign their users up on their own: the counters start with the Job.
        const image = values.image ?? (await suiteImage(kube, config));
        await loadStarts();
        return runLoadJob({ kube, config, pods: jobPods, image, base, argv: workerArgs(common, base), durationSeconds: common.durationSeconds, log: say });
      }
      return [await generate({ ...options, onStart: loadStarts })];
    });
    const report = buildReport(samples, { ...options }, used, note, containers);
    const written = await writeReports(kube, read, config, {
      title: 'Load test',
      holdsTo: 'Targets: 100 concurrent users, API under 2 s, under 80 % CPU and memory',
      startedAt: report.startedAt,
      verdicts: report.verdicts,
      from: jobPods > 0 ? `Job of ${jobPods} pods` : 'this machine',
      detail: { kind: 'load', load: report },
      extraHtml: loadSection(report, common.p95LimitMs),
    }, notes, redactor, say);
    say(`${report.requests} requests, ${report.throughput} req/s, p50 ${report.latency.p50} ms, p95 ${report.latency.p95} ms, p99 ${report.latency.p99} ms, errors ${report.errorRatePercent} %`);
    say(`p95 by kind: ${Object.entries(report.latencyByOp).map(([op, latency]) => `${op} ${latency.p95} ms`).join(', ')}`);
    say(`usage: ${report.usage.note}`);
    const busiest = report.containers.runs.filter((run) => run.cpuSeconds !== undefined).sort((a, b) => (b.cpuSeconds ?? 0) - (a.cpuSeconds ?? 0)).slice(0, 3);
    if (busiest.length > 0) say(`CPU per request: ${busiest.map((run) => `${run.pod}/${run.container} ${cpuPerRequest(run, report.requests)}`).join(', ')}`);
    say(`reports: ${written.dir} (junit.xml, report.json, report.html, summary.md)`);
    return written.exitCode;
  });
}

/** Write the run's report set, print its verdicts; the directory and the exit code. */
async function writeReports(
  kube: Kube,
  read: TargetRead,
  config: SuiteConfig,
  run: { title: string; holdsTo: string; startedAt: string; verdicts: Verdict[]; from: string; detail: Record<string, unknown>; extraHtml: string },
  notes: string[],
  redactor: Redactor,
  say: (line: string) => void,
): Promise<{ dir: string; exitCode: number }> {
  const finishedAt = new Date().toISOString();
  const results = verdictResults(run.verdicts, 'load', run.holdsTo, run.startedAt, Math.max(0, Date.parse(finishedAt) - Date.parse(run.startedAt)));
  const { report: written, files } = await writeRunReports({
    title: run.title,
    reportDir: config.reportDir,
    runId: config.runId,
    startedAt: run.startedAt,
    finishedAt,
    target: runTarget(kube, config, read, run.from),
    results,
    notes,
    detail: run.detail,
    extraHtml: run.extraHtml,
    redactor,
  });
  for (const result of written.results) say(`${result.verdict.toUpperCase()} ${result.id}: ${result.reason}`);
  return { dir: files.dir, exitCode: written.exitCode };
}

/** The headroom sweep and its reports; the plan's user count (--users) is what must hold. */
async function sweep(kube: Kube, read: TargetRead, config: SuiteConfig, options: LoadOptions, counts: number[], targetUsers: number, notes: string[], say: (line: string) => void): Promise<number> {
  say(`sweep: ${counts.join(', ')} users, ${options.durationSeconds} s each, against ${options.base}; it stops at the first step that breaks a target`);
  const report = await runSweep(options, counts, targetUsers);
  const written = await writeReports(kube, read, config, {
    title: 'Load sweep',
    holdsTo: `Headroom: the largest user count within every target (the plan asks for ${targetUsers})`,
    startedAt: report.startedAt,
    verdicts: [headroomVerdict(report)],
    from: 'this machine',
    detail: { kind: 'sweep', sweep: report },
    extraHtml: sweepSection(report),
  }, notes, options.redactor, say);
  say(`reports: ${written.dir} (junit.xml, report.json, report.html, summary.md)`);
  return written.exitCode;
}

/**
 * The suite's image as scripts/build-images.sh names it (todo-validation, tagged with the
 * umbrella chart's appVersion), from the registry the release's backend image comes from.
 */
async function suiteImage(kube: Kube, config: SuiteConfig): Promise<string> {
  const chart = readFileSync(new URL('../../helm/todo-app/Chart.yaml', import.meta.url), 'utf8');
  const version = /^appVersion:\s*"?([^"\s]+)"?/m.exec(chart)?.[1] ?? 'latest';
  const backend = await kube.apps.readNamespacedDeployment({ name: 'backend', namespace: config.namespace }).catch(() => undefined);
  const image = backend?.spec?.template.spec?.containers.find((container) => container.name === 'backend')?.image ?? '';
  const registry = /^(.+)\/todo-backend[:@]/.exec(image)?.[1];
  return `${registry ? `${registry}/` : ''}todo-validation:${version}`;
}

/** The routes the driver passed to a Job pod, or the defaults when run by hand. */
function workerAuthRoutes(json: string | undefined): AuthRoutes {
  if (!json) return defaultAuthRoutes;
  try {
    return { ...defaultAuthRoutes, ...(JSON.parse(json) as Partial<AuthRoutes>) };
  } catch {
    throw new InputError('usage', 'TODO_LOAD_AUTH_ROUTES must be the JSON of the frontend\'s sign-in routes');
  }
}

function workerArgs(common: { users: number; durationSeconds: number; ratePerUser: number; eventLimitMs: number; eventEverySeconds: number; mix: Mix }, base: string): string[] {
  return [
    '--worker', '--frontend-url', base,
    '--users', String(common.users), '--duration', String(common.durationSeconds),
    '--rate-per-user', String(common.ratePerUser), '--event-ms', String(common.eventLimitMs), '--event-every', String(common.eventEverySeconds),
    '--mix', mixText(common.mix),
  ];
}

endCommand(main(process.argv.slice(2)));
