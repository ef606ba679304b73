// The rollback and upgrade drills: record the release, change it while probing through the
// frontend's public address, roll back (rollback drill), and time every phase. Whatever
// happens, the rollback drill ends with the release at the recorded revision's manifest or
// says loudly that it could not.
import type * as k8s from '@kubernetes/client-node';
import { isPodReady } from '../lib/access.js';
import type { CheckContext } from '../lib/check.js';
import type { SuiteConfig } from '../lib/config.js';
import { oneLine } from '../lib/errors.js';
import type { Kube } from '../lib/kube.js';
import type { Redactor } from '../lib/redact.js';
import { waitUntil } from '../lib/wait.js';
import { publicAddress } from '../checks/frontend.js';
import { candidateArgs, isPending, releaseManifest, releaseStatus, runHelm, type HelmRun, type HelmTarget } from './helm.js';
import { api, apiTarget, eventFlowOnce, eventTarget, frontendTarget, Prober, signedInClient, taskList, type ApiClient } from './probe.js';
import { atMost, eventLatencyText, longestOutageMs, outageWindows, type OutageWindow, type ProbeResult, type Verdict } from './stats.js';

export type DrillKind = 'rollback' | 'upgrade';

export interface DrillOptions {
  kind: DrillKind;
  config: SuiteConfig;
  kube: Kube;
  helm: HelmTarget;
  /** Chart the upgrade uses (the release's own chart directory by default). */
  chart: string;
  candidate: string;
  valuesFiles: string[];
  /** Extra helm arguments for the upgrade (e.g. --post-renderer). */
  helmArgs: string[];
  /** How long the candidate is watched before rolling back. */
  watchSeconds: number;
  rollbackLimitSeconds: number;
  deployLimitSeconds: number;
  /** Upper bound on waiting for pods to be Ready again. */
  readySeconds: number;
  probeRate: number;
  eventRate: number;
  /** Quiet probing before and after the change, to see the steady state. */
  settleSeconds: number;
  /** Takes the drill users' passwords, so that no log line or report can show them. */
  redactor: Redactor;
  log: (line: string) => void;
  /** Called once the release is recorded, so an interrupted run can still roll back to it. */
  onRecorded?: (revision: number) => void;
}

export interface Phase {
  name: string;
  /** ms since the drill's start. */
  startMs: number;
  ms: number;
  ok: boolean;
  detail: string;
}

export interface DrillReport {
  kind: DrillKind;
  candidate: string;
  /** What became of the candidate: rolled out, or did not (with the pods' reasons). */
  candidateOutcome: string;
  namespace: string;
  release: string;
  frontendUrl: string;
  startedAt: string;
  startMs: number;
  durationMs: number;
  recorded: { revision: number; status: string; chart: string; images: Record<string, string[]> };
  final: { revision: number; status: string; images: Record<string, string[]>; manifestMatchesRecorded: boolean | undefined };
  phases: Phase[];
  helm: { args: string; code: number; ms: number; stderr: string }[];
  probes: ProbeResult[];
  probeCounts: Record<string, { total: number; failed: number }>;
  failedProbes: ProbeResult[];
  outages: OutageWindow[];
  longestOutageMs: number;
  seededTasks: { created: number; foundAfter: number };
  verdicts: Verdict[];
  pass: boolean;
  /** Loud problems: a release left at another revision, stuck pending, cleanup failures. */
  problems: string[];
}

export async function frontendBase(kube: Kube, config: SuiteConfig): Promise<string> {
  const ctx = { config, kube } as Pick<CheckContext, 'config' | 'kube'> as CheckContext;
  const address = await publicAddress(ctx);
  if ('none' in address) throw new Error(`the frontend has no public address: ${address.none}`);
  return address.url.replace(/\/$/, '');
}

const selectorOf = (labels: Record<string, string> | undefined): string =>
  Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

async function deploymentsOf(kube: Kube, namespace: string, release: string): Promise<k8s.V1Deployment[]> {
  const list = await kube.apps.listNamespacedDeployment({ namespace, labelSelector: `app.kubernetes.io/instance=${release}` });
  return list.items;
}

/** Images each Deployment's live, non-terminating pods run (sorted, deduplicated). */
export async function runningImages(kube: Kube, namespace: string, release: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const deployment of await deploymentsOf(kube, namespace, release)) {
    const name = deployment.metadata?.name ?? '?';
    const pods = await kube.core.listNamespacedPod({ namespace, labelSelector: selectorOf(deployment.spec?.selector?.matchLabels) });
    const images = new Set<string>();
    for (const pod of pods.items) {
      if (pod.metadata?.deletionTimestamp) continue;
      for (const container of pod.spec?.containers ?? []) if (container.image) images.add(container.image);
    }
    out[name] = [...images].sort();
  }
  return out;
}

/** Containers of the release's pods that wait for a reason (ImagePullBackOff, CreateContainerConfigError, ...). */
export async function podTroubles(kube: Kube, namespace: string, release: string): Promise<string[]> {
  const pods = await kube.core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/instance=${release}` });
  const out: string[] = [];
  for (const pod of pods.items) {
    for (const status of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
      const reason = status.state?.waiting?.reason;
      if (reason && reason !== 'ContainerCreating' && reason !== 'PodInitializing') out.push(`${pod.metadata?.name}/${status.name}: ${reason}`);
    }
  }
  return out;
}

/** Every Deployment of the release rolled out: updated, Ready, no extra pods. */
async function allRolledOut(kube: Kube, namespace: string, release: string): Promise<{ done: true; value: true } | { done: false; seen: string }> {
  const waiting: string[] = [];
  for (const deployment of await deploymentsOf(kube, namespace, release)) {
    const name = deployment.metadata?.name ?? '?';
    const want = deployment.spec?.replicas ?? 1;
    const s = deployment.status ?? {};
    const pods = await kube.core.listNamespacedPod({ namespace, labelSelector: selectorOf(deployment.spec?.selector?.matchLabels) });
    const live = pods.items.filter((p) => !p.metadata?.deletionTimestamp);
    const ready = live.filter(isPodReady).length;
    const ok = (s.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 1) && (s.updatedReplicas ?? 0) === want && (s.readyReplicas ?? 0) === want && (s.replicas ?? 0) === want && live.length === want && ready === want;
    if (!ok) waiting.push(`${name}: updated ${s.updatedReplicas ?? 0}/${want}, ready ${s.readyReplicas ?? 0}, pods ${live.length}`);
  }
  return waiting.length === 0 ? { done: true, value: true } : { done: false, seen: waiting.join('; ') };
}

/** "backend: todo-backend:1.0.0, daprd:1.16.5; frontend: ..."; `short` leaves the registries out. */
const imagesText = (images: Record<string, string[]>, short = false): string =>
  Object.entries(images)
    .map(([name, list]) => `${name}: ${list.map((image) => (short ? image.slice(image.lastIndexOf('/') + 1) : image)).join(', ')}`)
    .join('; ');

const sameImages = (a: Record<string, string[]>, b: Record<string, string[]>): boolean =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([name, images]) => JSON.stringify(b[name] ?? []) === JSON.stringify(images));

export async function cleanupUser(client: ApiClient): Promise<void> {
  try {
    const listed = await api(client, 'GET', '/tasks');
    for (const task of taskList(listed.json).slice(0, 200)) await api(client, 'DELETE', `/tasks/${encodeURIComponent(task.id)}`).catch(() => undefined);
  } catch {
    // Best effort: the data belongs to a throwaway user.
  }
}

export type PhaseRunner = <T>(name: string, work: () => Promise<{ ok: boolean; detail: string; value?: T }>) => Promise<{ ok: boolean; value?: T }>;

/** Runs a drill's named steps, timing each into `phases` and logging one line per step; a throw is a failed step. */
export function phaseRunner(phases: Phase[], since: () => number, log: (line: string) => void): PhaseRunner {
  return async (name, work) => {
    const begin = since();
    let result: Awaited<ReturnType<typeof work>>;
    try {
      result = await work();
    } catch (error) {
      result = { ok: false, detail: oneLine(error) };
    }
    phases.push({ name, startMs: begin, ms: since() - begin, ok: result.ok, detail: result.detail });
    log(`  ${result.ok ? 'ok  ' : 'FAIL'} ${name}: ${((since() - begin) / 1000).toFixed(1)} s, ${result.detail}`);
    return result;
  };
}

export interface DrillUsers {
  base: string;
  dataUser: ApiClient;
  probeUser: ApiClient;
  eventUser: ApiClient;
  /** Ids of the tasks seeded for the data user before anything changes. */
  seeded: string[];
}

/**
 * The drill's three users, signed up through the frontend as users are (the drill probes what
 * they meet), three tasks seeded for the data user, the event flow run once to warm it.
 */
export async function drillUsers(kube: Kube, config: SuiteConfig, redactor: Redactor): Promise<DrillUsers> {
  const base = await frontendBase(kube, config);
  const [dataUser, probeUser, eventUser] = await Promise.all([
    signedInClient(base, config.authRoutes, 'drill-data', redactor),
    signedInClient(base, config.authRoutes, 'drill-probe', redactor),
    signedInClient(base, config.authRoutes, 'drill-event', redactor),
  ]);
  const seeded: string[] = [];
  for (let i = 0; i < 3; i += 1) {
    const created = await api(dataUser, 'POST', '/tasks', { title: `drill seed ${i}`, priority: 'low' });
    const id = (created.json as { id?: string } | undefined)?.id;
    if (id) seeded.push(id);
  }
  await eventFlowOnce(eventUser, 10_000).catch(() => undefined);
  return { base, dataUser, probeUser, eventUser, seeded };
}

/** Probing of the frontend, the API and the event flow, started, bounded to `boundSeconds`. */
export function startProbing(users: DrillUsers, rates: { probeRate: number; eventRate: number }, boundSeconds: number): Prober {
  const prober = new Prober(
    [frontendTarget(users.base, rates.probeRate), apiTarget(users.probeUser, rates.probeRate), eventTarget(users.eventUser, rates.eventRate)],
    { maxMs: boundSeconds * 1000, maxProbes: Math.ceil(boundSeconds * Math.max(rates.probeRate, rates.eventRate)) + 10 },
  );
  prober.start();
  return prober;
}

/** Probes made and failed, per target. */
export function probeCounts(probes: readonly ProbeResult[]): Record<string, { total: number; failed: number }> {
  const counts: Record<string, { total: number; failed: number }> = {};
  for (const probe of probes) {
    const entry = counts[probe.target] ?? { total: 0, failed: 0 };
    entry.total += 1;
    if (!probe.ok) entry.failed += 1;
    counts[probe.target] = entry;
  }
  return counts;
}

export async function runDrill(options: DrillOptions): Promise<DrillReport> {
  const { kube, config, helm, log } = options;
  const { namespace, release } = config;
  const startMs = Date.now();
  const since = () => Date.now() - startMs;
  const phases: Phase[] = [];
  const helmRuns: HelmRun[] = [];
  const problems: string[] = [];
  const phase = phaseRunner(phases, since, log);
  const helmCall = async (args: string[], timeoutMs?: number): Promise<HelmRun> => {
    const run = await runHelm(helm, args, timeoutMs);
    helmRuns.push(run);
    return run;
  };

  const recordedStatus = await releaseStatus(helm);
  const recordedImages = await runningImages(kube, namespace, release);
  const recordedManifest = await releaseManifest(helm, recordedStatus.revision);
  log(`recorded ${release} revision ${recordedStatus.revision} (${recordedStatus.status}), ${Object.keys(recordedImages).length} Deployments`);
  options.onRecorded?.(recordedStatus.revision);
  if (isPending(recordedStatus.status)) problems.push(`release ${release} is stuck in ${recordedStatus.status} before the drill; not changing it`);

  const users = await drillUsers(kube, config, options.redactor);
  const { base, dataUser, probeUser, eventUser, seeded } = users;
  const prober = startProbing(users, options, options.watchSeconds + options.readySeconds * 2 + options.settleSeconds * 2 + 120);
  const settle = () => new Promise((done) => setTimeout(done, options.settleSeconds * 1000));
  await settle();

  const valuesArgs = options.valuesFiles.flatMap((file) => ['--values', file]);
  const stamp = `${Date.now().toString(36)}`;
  const upgradeArgs = [
    'upgrade', '--install', release, options.chart, '--reuse-values',
    ...candidateArgs(options.candidate, stamp), ...valuesArgs, ...options.helmArgs,
  ];
  let rollbackMs: number | undefined;
  let deployMs: number | undefined;
  let restoredImages = recordedImages;
  let candidateOutcome = 'not tried';

  if (problems.length === 0) {
    const upgradeStart = since();
    const upgrade = await phase('helm upgrade (candidate)', async () => {
      const run = await helmCall(upgradeArgs, 300_000);
      return { ok: run.code === 0, detail: run.code === 0 ? `exit 0 in ${run.ms} ms` : `exit ${run.code}: ${run.stderr.trim().split('\n').slice(-1)[0] ?? ''}` };
    });
    if (options.kind === 'upgrade') {
      const ready = await phase('all pods Ready after upgrade', async () => {
        await waitUntil('every Deployment rolled out', () => allRolledOut(kube, namespace, release), { timeoutMs: options.readySeconds * 1000, intervalMs: 500 });
        return { ok: true, detail: 'every Deployment updated and Ready' };
      });
      if (upgrade.ok && ready.ok) deployMs = since() - upgradeStart;
    } else {
      await phase(`watch candidate (up to ${options.watchSeconds} s)`, async () => {
        try {
          await waitUntil('the candidate rolled out', () => allRolledOut(kube, namespace, release), { timeoutMs: options.watchSeconds * 1000, intervalMs: 1000 });
          candidateOutcome = 'rolled out';
          return { ok: true, detail: 'candidate rolled out' };
        } catch (error) {
          const troubles = await podTroubles(kube, namespace, release).catch(() => []);
          candidateOutcome = `did not roll out${troubles.length ? ` (${troubles.join(', ')})` : ''}`;
          return { ok: true, detail: `candidate did not roll out: ${troubles.length ? `${troubles.join(', ')}; ` : ''}${oneLine(error).slice(0, 300)}` };
        }
      });
      const before = await releaseStatus(helm).catch(() => undefined);
      if (before && isPending(before.status)) problems.push(`release stuck in ${before.status} at revision ${before.revision} before the rollback`);
      const rollbackStart = since();
      const rollback = await phase('helm rollback command', async () => {
        const run = await helmCall(['rollback', release, String(recordedStatus.revision)], 300_000);
        return { ok: run.code === 0, detail: run.code === 0 ? `to revision ${recordedStatus.revision}, exit 0` : `exit ${run.code}: ${run.stderr.trim().split('\n').slice(-1)[0] ?? ''}` };
      });
      if (!rollback.ok) {
        // One more try: a release left pending by a killed upgrade accepts a rollback once the lock is gone.
        const again = await helmCall(['rollback', release, String(recordedStatus.revision)], 300_000);
        if (again.code !== 0) problems.push(`helm rollback to revision ${recordedStatus.revision} failed twice: ${again.stderr.trim().split('\n').slice(-1)[0] ?? ''}`);
      }
      const ready = await phase('restored pods Ready', async () => {
        await waitUntil('every Deployment rolled out', () => allRolledOut(kube, namespace, release), { timeoutMs: options.readySeconds * 1000, intervalMs: 500 });
        return { ok: true, detail: 'every Deployment updated and Ready' };
      });
      await phase('previous images running again', async () => {
        restoredImages = await waitUntil(
          'the recorded images',
          async () => {
            const now = await runningImages(kube, namespace, release);
            return sameImages(recordedImages, now) ? { done: true, value: now } : { done: false, seen: JSON.stringify(now) };
          },
          { timeoutMs: options.readySeconds * 1000, intervalMs: 500 },
        );
        return { ok: true, detail: 'every Deployment runs the recorded images' };
      });
      if (ready.ok) rollbackMs = since() - rollbackStart;
    }
    await phase('event flow working', async () => {
      const result = await waitUntil(
        'a recurring task to produce its next occurrence',
        async () => {
          const once = await eventFlowOnce(eventUser, 5000);
          return once.ok ? { done: true, value: once.ms } : { done: false, seen: once.error ?? 'failed' };
        },
        { timeoutMs: options.readySeconds * 1000, intervalMs: 1000 },
      );
      return { ok: true, detail: `next occurrence after ${Math.round(result)} ms` };
    });
  }

  await settle();
  const probes = await prober.stop();
  const listed = await api(dataUser, 'GET', '/tasks').catch(() => undefined);
  const ids = new Set(taskList(listed?.json).map((t) => t.id));
  const foundAfter = seeded.filter((id) => ids.has(id)).length;
  await Promise.all([cleanupUser(dataUser), cleanupUser(probeUser), cleanupUser(eventUser)]);

  const finalStatus = await releaseStatus(helm).catch((error: unknown) => {
    problems.push(`cannot read the release status after the drill: ${oneLine(error)}`);
    return { revision: 0, status: 'unknown', chart: '?' };
  });
  if (isPending(finalStatus.status)) problems.push(`release ${release} is stuck in ${finalStatus.status} at revision ${finalStatus.revision}`);
  let manifestMatches: boolean | undefined;
  if (options.kind === 'rollback') {
    const now = await releaseManifest(helm).catch(() => '');
    manifestMatches = now === recordedManifest;
    if (!manifestMatches) problems.push(`RELEASE NOT RESTORED: ${release} is at revision ${finalStatus.revision} (${finalStatus.status}) and its manifest differs from recorded revision ${recordedStatus.revision}; run: helm rollback ${release} ${recordedStatus.revision} -n ${namespace}`);
  }
  const finalImages = await runningImages(kube, namespace, release).catch(() => restoredImages);

  const outages = outageWindows(probes);
  const failed = probes.filter((p) => !p.ok);
  const counts = probeCounts(probes);
  const verdicts: Verdict[] = [];
  if (options.kind === 'rollback') {
    verdicts.push(rollbackMs === undefined ? { id: 'rollback-time', name: 'rollback time', pass: false, detail: 'the restored pods never became Ready', expected: `<= ${options.rollbackLimitSeconds} s`, actual: 'restored pods never Ready' } : atMost('rollback time', rollbackMs / 1000, options.rollbackLimitSeconds, 's', 'rollback-time'));
    verdicts.push({ id: 'images-restored', name: 'previous images restored', pass: sameImages(recordedImages, finalImages), detail: imagesText(finalImages, true), expected: imagesText(recordedImages), actual: imagesText(finalImages) });
    verdicts.push({ id: 'release-restored', name: 'release at the recorded revision', expected: `the manifest of revision ${recordedStatus.revision}, not pending`, actual: `revision ${finalStatus.revision} (${finalStatus.status})`, pass: manifestMatches === true && !isPending(finalStatus.status), detail: `revision ${finalStatus.revision} (${finalStatus.status}) ${manifestMatches ? 'has' : 'does not have'} the manifest of revision ${recordedStatus.revision}` });
  } else {
    verdicts.push(deployMs === undefined ? { id: 'deploy-time', name: 'deploy time', pass: false, detail: 'the upgrade never reached all Ready', expected: `<= ${options.deployLimitSeconds} s`, actual: 'never all Ready' } : atMost('deploy time', deployMs / 1000, options.deployLimitSeconds, 's', 'deploy-time'));
  }
  verdicts.push({ id: 'no-downtime', name: 'no downtime', pass: failed.length === 0, expected: '0 failed probes (an event unprocessed after 30 s is a failure)', actual: `${failed.length} failed probes, longest outage ${longestOutageMs(outages)} ms`, detail: `${failed.length} failed of ${probes.length} probes; longest outage ${longestOutageMs(outages)} ms; ${eventLatencyText(probes)}` });
  verdicts.push({ id: 'data-kept', name: 'no data lost', pass: foundAfter === seeded.length && seeded.length > 0, expected: `${seeded.length} of ${seeded.length} seeded tasks (at least 1)`, actual: `${foundAfter} found`, detail: `${foundAfter} of ${seeded.length} tasks created before the drill found after it` });
  verdicts.push({ id: 'not-pending', name: 'release not stuck pending', expected: 'not pending-upgrade / pending-rollback', actual: finalStatus.status, pass: !problems.some((p) => p.includes('pending-')), detail: finalStatus.status });
  const minRate = Math.min(...['frontend', 'api'].map((t) => (counts[t]?.total ?? 0) / Math.max(1, (prober.stoppedAt - prober.startedAt) / 1000)));
  verdicts.push({ id: 'probe-rate', name: 'probe rate', pass: minRate >= options.probeRate * 0.9, expected: `>= ${(options.probeRate * 0.9).toFixed(1)} probes/s per target`, actual: `${minRate.toFixed(1)} probes/s`, detail: `${minRate.toFixed(1)} probes/s per target (target ${options.probeRate})` });

  return {
    kind: options.kind,
    candidate: options.candidate,
    candidateOutcome,
    namespace,
    release,
    frontendUrl: base,
    startedAt: new Date(startMs).toISOString(),
    startMs,
    durationMs: since(),
    recorded: { ...recordedStatus, images: recordedImages },
    final: { revision: finalStatus.revision, status: finalStatus.status, images: finalImages, manifestMatchesRecorded: manifestMatches },
    phases,
    helm: helmRuns.map((r) => ({ args: r.args.join(' '), code: r.code, ms: r.ms, stderr: r.stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 500) })),
    probes,
    probeCounts: counts,
    failedProbes: failed,
    outages,
    longestOutageMs: longestOutageMs(outages),
    seededTasks: { created: seeded.length, foundAfter },
    verdicts,
    pass: verdicts.every((v) => v.pass) && problems.length === 0,
    problems,
  };
}
