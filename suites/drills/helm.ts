// The helm commands the drills run, each timed and bounded, never through a shell.
import { execFile } from 'node:child_process';
import { InputError } from '../lib/errors.js';
import { findHelm } from '../lib/report/diagnostics.js';

export interface HelmTarget {
  binary: string;
  namespace: string;
  release: string;
  kubeconfig: string | undefined;
  context: string | undefined;
}

export interface HelmRun {
  args: string[];
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export function locateHelm(explicit: string | undefined, env: Record<string, string | undefined> = process.env): string {
  const found = findHelm(explicit, env);
  if (!found) throw new InputError('toolMissing', 'helm not found: set TODO_SUITE_HELM, put helm on PATH, or install the sandbox tools (npm run sandbox:tools)');
  return found;
}

export function runHelm(target: HelmTarget, args: string[], timeoutMs = 600_000): Promise<HelmRun> {
  const full = [...args, '-n', target.namespace, ...(target.context ? ['--kube-context', target.context] : [])];
  // Through the environment, as kubectl reads it: the kubeconfig may be a list of files.
  const env = target.kubeconfig ? { ...process.env, KUBECONFIG: target.kubeconfig } : process.env;
  const started = performance.now();
  return new Promise((done) => {
    execFile(target.binary, full, { env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ args, code, stdout: String(stdout), stderr: String(stderr || (error && code !== 0 ? error.message : '')), ms: Math.round(performance.now() - started) });
    });
  });
}

export interface ReleaseStatus {
  revision: number;
  status: string;
  chart: string;
}

export async function releaseStatus(target: HelmTarget): Promise<ReleaseStatus> {
  const run = await runHelm(target, ['status', target.release, '-o', 'json'], 60_000);
  if (run.code !== 0) throw new Error(`helm status ${target.release} failed: ${run.stderr.trim().split('\n')[0]}`);
  const parsed = JSON.parse(run.stdout) as { version?: number; info?: { status?: string }; chart?: { metadata?: { name?: string; version?: string } } };
  return { revision: parsed.version ?? 0, status: parsed.info?.status ?? 'unknown', chart: `${parsed.chart?.metadata?.name ?? '?'}-${parsed.chart?.metadata?.version ?? '?'}` };
}

export async function releaseManifest(target: HelmTarget, revision?: number): Promise<string> {
  const run = await runHelm(target, ['get', 'manifest', target.release, ...(revision ? ['--revision', String(revision)] : [])], 60_000);
  if (run.code !== 0) throw new Error(`helm get manifest failed: ${run.stderr.trim().split('\n')[0]}`);
  return run.stdout;
}

export const isPending = (status: string): boolean => status.startsWith('pending-');

/** The helm arguments of a named candidate. */
export function candidateArgs(candidate: string, stamp: string): string[] {
  switch (candidate) {
    case 'restart':
      // A no-op change that still rolls the pods: a new pod annotation on frontend and backend.
      return ['--set-string', `backend.podAnnotations.todo-drill/stamp=${stamp}`, '--set-string', `frontend.podAnnotations.todo-drill/stamp=${stamp}`];
    case 'bad-image':
      return ['--set-string', 'backend.image.repository=todo-drill-missing-image', '--set-string', `backend.image.tag=${stamp}`];
    case 'bad-config':
      // A reference to a Secret that does not exist: the container cannot be created.
      return [
        '--set-string', 'backend.extraEnv[0].name=TODO_DRILL_MISSING',
        '--set-string', 'backend.extraEnv[0].valueFrom.secretKeyRef.name=todo-drill-missing-secret',
        '--set-string', 'backend.extraEnv[0].valueFrom.secretKeyRef.key=missing',
      ];
    case 'values':
      return [];
    default:
      throw new Error(`unknown candidate "${candidate}"; known: restart, bad-image, bad-config (or --values/--chart)`);
  }
}
