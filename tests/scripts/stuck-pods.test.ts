// The deploy's fail-fast (scripts/lib/stuck-pods.ts): which pods cannot start, how long
// each may stay so, and the watcher deploy-to-cloud.sh runs beside `helm upgrade --wait`.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { cannotStart, stuckPods, type StuckOptions } from '../../scripts/lib/stuck-pods.js';

const root = resolve(import.meta.dirname, '../..');

function pod(name: string, status: k8s.V1PodStatus, meta: Partial<k8s.V1ObjectMeta> = {}): k8s.V1Pod {
  return { metadata: { name, ...meta }, spec: { containers: [{ name: 'app' }] }, status };
}
const waiting = (reason: string, extra: Partial<k8s.V1ContainerStatus> = {}): k8s.V1ContainerStatus => ({ name: 'app', image: 'img/app:1', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason } }, ...extra });
const running = (extra: Partial<k8s.V1ContainerStatus> = {}): k8s.V1ContainerStatus => ({ name: 'app', image: 'img/app:1', imageID: '', ready: false, restartCount: 0, state: { running: {} }, ...extra });
const readyPod = (name: string) => pod(name, { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [running({ ready: true })] });
const oomKilled: k8s.V1ContainerStateTerminated = { exitCode: 137, reason: 'OOMKilled' };

describe('cannotStart: the suite classifier, plus an OOM kill', () => {
  it.each<[string, k8s.V1Pod, string]>([
    ['an image that cannot be pulled', pod('p', { phase: 'Pending', containerStatuses: [waiting('ImagePullBackOff')] }), 'ImagePullBackOff'],
    ['a Secret key missing', pod('p', { phase: 'Pending', containerStatuses: [waiting('CreateContainerConfigError')] }), 'CreateContainerConfigError'],
    ['a crash loop', pod('p', { phase: 'Running', containerStatuses: [waiting('CrashLoopBackOff', { restartCount: 3 })] }), 'CrashLoopBackOff'],
    ['no node fits', pod('p', { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes: Insufficient memory' }] }), 'Unschedulable'],
    ['an init container that failed (Init:Error)', pod('p', { phase: 'Pending', initContainerStatuses: [{ name: 'wait-db', image: 'i', imageID: '', ready: false, restartCount: 1, state: { terminated: { exitCode: 1, reason: 'Error' } } }] }), 'Error'],
    ['an init container in a crash loop (Init:CrashLoopBackOff)', pod('p', { phase: 'Pending', initContainerStatuses: [{ name: 'wait-db', image: 'i', imageID: '', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } }] }), 'CrashLoopBackOff'],
    ['a container OOM-killed and running again', pod('p', { phase: 'Running', containerStatuses: [running({ restartCount: 1, lastState: { terminated: oomKilled } })] }), 'OOMKilled'],
  ])('%s', (_name, given, reason) => {
    const why = cannotStart(given);
    expect(why?.reason).toBe(reason);
    expect(why?.detail).toContain('pod p');
  });

  it('lets a pod that is starting, ready, or a Job pod that failed (the Job retries) be', () => {
    expect(cannotStart(pod('p', { phase: 'Pending', containerStatuses: [waiting('ContainerCreating')] }))).toBeUndefined();
    expect(cannotStart(readyPod('p'))).toBeUndefined();
    expect(cannotStart(pod('job-p', { phase: 'Failed' }, { ownerReferences: [{ kind: 'Job', name: 'j', apiVersion: 'batch/v1', uid: 'u' }] }))).toBeUndefined();
  });
});

describe('stuckPods: a pod counts once it has stayed unable to start for long enough', () => {
  const options: StuckOptions = { afterMs: 45_000, unschedulableAfterMs: 180_000 };
  const pulling = pod('web-1', { phase: 'Pending', containerStatuses: [waiting('ErrImagePull')] });

  it('waits out the grace period, then names the pod', () => {
    const since = new Map<string, number>();
    expect(stuckPods(since, [pulling, readyPod('db-0')], 0, options)).toEqual([]);
    expect(stuckPods(since, [pulling, readyPod('db-0')], 44_000, options)).toEqual([]);
    expect(stuckPods(since, [pulling, readyPod('db-0')], 45_000, options).map((s) => s.pod)).toEqual(['web-1']);
  });

  it('keeps the clock of a crash loop through the moments its container runs, and resets it when the pod gets Ready', () => {
    const since = new Map<string, number>();
    const looping = pod('api-1', { phase: 'Running', containerStatuses: [waiting('CrashLoopBackOff', { restartCount: 2 })] });
    const between = pod('api-1', { phase: 'Running', containerStatuses: [running({ restartCount: 3 })] });
    expect(stuckPods(since, [looping], 0, options)).toEqual([]);
    expect(stuckPods(since, [between], 20_000, options)).toEqual([]);
    expect(stuckPods(since, [looping], 50_000, options).map((s) => s.reason)).toEqual(['CrashLoopBackOff']);
    const fresh = new Map<string, number>();
    stuckPods(fresh, [looping], 0, options);
    stuckPods(fresh, [readyPod('api-1')], 20_000, options);
    expect(stuckPods(fresh, [looping], 50_000, options)).toEqual([]);
  });

  it('gives an unschedulable pod longer: an autoscaler may be adding a node', () => {
    const since = new Map<string, number>();
    const pending = pod('kafka-2', { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] });
    stuckPods(since, [pending], 0, options);
    expect(stuckPods(since, [pending], 60_000, options)).toEqual([]);
    expect(stuckPods(since, [pending], 180_000, options).map((s) => s.pod)).toEqual(['kafka-2']);
  });

  it('forgets a pod that is gone (a rollout replaced it)', () => {
    const since = new Map<string, number>();
    stuckPods(since, [pulling], 0, options);
    stuckPods(since, [], 10_000, options);
    expect(stuckPods(since, [pulling], 50_000, options)).toEqual([]);
  });
});

describe('the watcher deploy-to-cloud.sh runs', () => {
  it('prints each stuck pod and exits 0 once the grace period has passed', async () => {
    const pods = { items: [pod('web-1', { phase: 'Pending', containerStatuses: [waiting('ImagePullBackOff')] }), readyPod('db-0')] };
    const started = Date.now();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', join(root, 'scripts/lib/stuck-pods.ts'), '--after', '0.5', '--interval', '0.2', '--', process.execPath, '-e', `process.stdout.write(${JSON.stringify(JSON.stringify(pods))})`],
      { cwd: root, timeout: 30_000 },
    );
    expect(stdout).toBe('pod web-1 container app: ImagePullBackOff (image img/app:1)\n');
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  }, 40_000);
});
