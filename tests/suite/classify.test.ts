import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { sidecarProblems } from '../../suites/checks/dapr.js';
import { classifyPod, isWorkloadPod } from '../../suites/checks/pods.js';
import { missingResources } from '../../suites/checks/resources.js';
import { parseQuantity } from '../../suites/lib/quantity.js';
import { secretSources } from '../../suites/checks/secrets.js';
import { CheckFailure, CheckSkip, type Check, type CheckContext } from '../../suites/lib/check.js';
import { defaultLimits, type SuiteConfig } from '../../suites/lib/config.js';
import { Redactor } from '../../suites/lib/redact.js';
import { allChecks } from '../../suites/checks/index.js';
import { InputError } from '../../suites/lib/errors.js';
import { runChecks, selectChecks, validateOrder } from '../../suites/lib/runner.js';

function pod(status: k8s.V1PodStatus, spec: Partial<k8s.V1PodSpec> = {}, meta: Partial<k8s.V1ObjectMeta> = {}): k8s.V1Pod {
  return { metadata: { name: 'backend-abc', ...meta }, spec: { containers: [{ name: 'backend' }], ...spec }, status };
}

const waiting = (name: string, reason: string, message = ''): k8s.V1ContainerStatus => ({ name, image: `img/${name}:1`, imageID: '', ready: false, restartCount: 0, state: { waiting: { reason, message } } });
const ready = (name: string, restartCount = 0): k8s.V1ContainerStatus => ({ name, image: 'i', imageID: '', ready: true, restartCount, state: { running: {} } });
const readyCondition: k8s.V1PodCondition = { type: 'Ready', status: 'True' };

describe('classifyPod: hopeless states fail fast with pod, container and reason', () => {
  it.each([
    ['ImagePullBackOff', 'Back-off pulling image "img/backend:1"'],
    ['ErrImagePull', 'rpc error: not found'],
    ['CrashLoopBackOff', 'back-off 10s restarting failed container'],
    ['CreateContainerConfigError', 'couldn\'t find key DATABASE_URL in Secret todo-app/app-secrets'],
  ])('%s', (reason, message) => {
    const state = classifyPod(pod({ phase: 'Pending', containerStatuses: [waiting('backend', reason, message)] }));
    expect(state.state).toBe('hopeless');
    if (state.state !== 'hopeless') return;
    expect(state.container).toBe('backend');
    expect(state.reason).toBe(reason);
    expect(state.detail).toContain('pod backend-abc container backend');
    expect(state.detail).toContain(reason);
    expect(state.detail).toContain(message);
  });

  it('a crash loop names how the last run ended: a container over its memory limit is OOMKilled', () => {
    const oomKilled: k8s.V1ContainerStatus = {
      ...waiting('backend', 'CrashLoopBackOff', 'back-off 20s restarting failed container'),
      restartCount: 2,
      lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } },
    };
    const state = classifyPod(pod({ phase: 'Running', containerStatuses: [oomKilled] }));
    expect(state).toMatchObject({ state: 'hopeless', reason: 'CrashLoopBackOff' });
    expect(state.state === 'hopeless' && state.detail).toContain('(last exit 137 OOMKilled)');
    const restarted = classifyPod(pod({ phase: 'Running', containerStatuses: [{ ...ready('backend', 5), lastState: oomKilled.lastState }] }), 3);
    expect(restarted.state === 'hopeless' && restarted.detail).toContain('restarted 5 times (limit 3) (last exit 137 OOMKilled)');
  });

  it('unschedulable', () => {
    const state = classifyPod(pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' }] }));
    expect(state).toMatchObject({ state: 'hopeless', reason: 'Unschedulable' });
    expect(state.state === 'hopeless' && state.detail).toContain('Insufficient cpu');
  });

  it('a failed init container, terminated or crash-looping', () => {
    const terminated = classifyPod(pod({ phase: 'Pending', initContainerStatuses: [{ name: 'migrate', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 1, reason: 'Error', message: 'relation missing' } } }] }));
    expect(terminated).toMatchObject({ state: 'hopeless', container: 'migrate' });
    expect(terminated.state === 'hopeless' && terminated.detail).toContain('init container migrate failed: exit 1 (Error)');
    const looping = classifyPod(pod({ phase: 'Pending', initContainerStatuses: [waiting('migrate', 'CrashLoopBackOff')] }));
    expect(looping).toMatchObject({ state: 'hopeless', container: 'migrate', reason: 'CrashLoopBackOff' });
  });

  it('too many restarts, only when a limit is given', () => {
    const p = pod({ phase: 'Running', conditions: [readyCondition], containerStatuses: [ready('backend', 9)] });
    expect(classifyPod(p).state).toBe('ready');
    expect(classifyPod(p, 3)).toMatchObject({ state: 'hopeless', reason: 'TooManyRestarts' });
  });

  it('progressing and ready states are not hopeless', () => {
    expect(classifyPod(pod({ phase: 'Pending', containerStatuses: [waiting('backend', 'ContainerCreating')] }))).toMatchObject({ state: 'progressing' });
    expect(classifyPod(pod({ phase: 'Running', containerStatuses: [{ ...ready('backend'), ready: false }] })).state).toBe('progressing');
    expect(classifyPod(pod({ phase: 'Running', conditions: [readyCondition], containerStatuses: [ready('backend')] })).state).toBe('ready');
    expect(classifyPod(pod({ phase: 'Succeeded' })).state).toBe('succeeded');
  });

  it('leaves hook and Job pods out of the readiness set', () => {
    expect(isWorkloadPod(pod({}, {}, { annotations: { 'helm.sh/hook': 'test' } }))).toBe(false);
    expect(isWorkloadPod(pod({}, {}, { ownerReferences: [{ kind: 'Job', name: 'j', apiVersion: 'batch/v1', uid: 'u' }] }))).toBe(false);
    expect(isWorkloadPod(pod({}))).toBe(true);
  });
});

describe('sidecarProblems', () => {
  const daprd: k8s.V1Container = { name: 'daprd', args: ['/daprd', '--app-id', 'backend', '--app-port', '8000'], ports: [{ containerPort: 3500, name: 'dapr-http' }] };
  const good = pod(
    { phase: 'Running', containerStatuses: [ready('backend'), ready('daprd')] },
    { containers: [{ name: 'backend' }, daprd] },
    { annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'backend' } },
  );

  it('accepts an injected, ready sidecar with the right app-id', () => {
    expect(sidecarProblems(good, 'backend')).toEqual([]);
  });

  it('names a missing sidecar, a wrong app-id and an unready daprd', () => {
    const none = pod({ phase: 'Running' }, { containers: [{ name: 'backend' }] }, { annotations: {} });
    expect(sidecarProblems(none, 'backend').join('; ')).toMatch(/lacks annotation dapr.io\/enabled.*no daprd container/);
    expect(sidecarProblems(good, 'notification-service').join('; ')).toContain('--app-id backend, expected notification-service');
    const unready = { ...good, status: { phase: 'Running', containerStatuses: [ready('backend'), waiting('daprd', 'CrashLoopBackOff')] } };
    expect(sidecarProblems(unready, 'backend').join('; ')).toContain('daprd not ready (CrashLoopBackOff');
  });
});

describe('resources and secrets from pod specs', () => {
  it('names every container without requests or limits, init and daprd included', () => {
    const p = pod({}, {
      initContainers: [{ name: 'migrate', resources: { requests: { cpu: '10m', memory: '10Mi' } } }],
      containers: [{ name: 'backend', resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } } }, { name: 'daprd' }],
    });
    const lines = missingResources(p);
    expect(lines).toEqual([
      'pod backend-abc init container migrate has no limits.cpu, limits.memory',
      'pod backend-abc container daprd has no requests.cpu, requests.memory, limits.cpu, limits.memory',
    ]);
  });

  it('parses quantities', () => {
    expect(parseQuantity('250m')).toBe(0.25);
    expect(parseQuantity('128Mi')).toBe(128 * 1024 ** 2);
    expect(parseQuantity('1500000n')).toBeCloseTo(0.0015);
    expect(parseQuantity('2')).toBe(2);
  });

  it('tells references from literal values', () => {
    const p = pod({}, {
      containers: [
        {
          name: 'backend',
          env: [
            { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'app-secrets', key: 'DATABASE_URL' } } },
            { name: 'JWT_SECRET', value: 'inline' },
            { name: 'BETTER_AUTH_SECRET', valueFrom: { secretKeyRef: { name: 'other', key: 'x' } } },
          ],
          envFrom: [{ secretRef: { name: 'app-secrets' } }],
        },
      ],
    });
    const sources = secretSources(p, ['DATABASE_URL', 'JWT_SECRET', 'BETTER_AUTH_SECRET'], 'app-secrets', ['DATABASE_URL', 'JWT_SECRET', 'BETTER_AUTH_SECRET']);
    expect(sources.map((s) => `${s.variable}:${s.kind}`)).toEqual(['DATABASE_URL:ref', 'JWT_SECRET:literal', 'BETTER_AUTH_SECRET:other-ref']);
  });
});

describe('runner', () => {
  const config = { limits: { ...defaultLimits, checkSeconds: 1 } } as SuiteConfig;
  const ctx = { config, redactor: new Redactor() } as unknown as CheckContext;
  const make = (id: string, run: Check['run'], after?: string[]): Check => ({ id, title: id, group: 'g', criterion: 'c', run, after });

  it('maps outcomes to verdicts, one line each, and honours ordering', async () => {
    const order: string[] = [];
    const checks = [
      make('a', async (_c, rec) => {
        order.push('a');
        rec.summary = 'fine';
      }),
      make('b', async () => {
        throw new CheckFailure('broken', 'x', 'y');
      }),
      make('c', async () => {
        throw new CheckSkip('cannot be shown here');
      }),
      make('d', async () => {
        throw new TypeError('boom\n    at somewhere (file.ts:1:1)');
      }),
      make('e', async () => {
        order.push('e');
      }, ['a']),
      make('f', () => new Promise(() => undefined)),
    ];
    const results = await runChecks(checks, ctx);
    expect(results.map((r) => `${r.id}:${r.verdict}`)).toEqual(['a:pass', 'b:fail', 'c:skip', 'd:fail', 'e:pass', 'f:fail']);
    expect(results[0]?.reason).toBe('fine');
    expect(results[1]).toMatchObject({ reason: 'broken', expected: 'x', actual: 'y' });
    expect(results[2]?.reason).toBe('skipped: cannot be shown here');
    expect(results[3]?.reason).toBe('boom');
    expect(results[5]?.reason).toContain('did not finish within 1.0 s');
    expect(order).toEqual(['a', 'e']);
  });

  it('selects by id or group', () => {
    const checks = [make('a', async () => undefined), { ...make('b', async () => undefined), group: 'h' }];
    expect(selectChecks(checks, ['h'], []).map((c) => c.id)).toEqual(['b']);
    expect(selectChecks(checks, [], ['a']).map((c) => c.id)).toEqual(['b']);
  });

  it('refuses a name that is neither a check nor a group, even beside ones that match', () => {
    const checks = [make('a', async () => undefined), { ...make('b', async () => undefined), group: 'h' }];
    expect(() => selectChecks(checks, ['a', 'pods-redy'], [])).toThrow(InputError);
    expect(() => selectChecks(checks, ['a', 'pods-redy'], [])).toThrow('--only: no check or group named "pods-redy" (npm test -- --list shows them)');
    expect(() => selectChecks(checks, [], ['x', 'y'])).toThrow('--skip: no check or group named "x", "y"');
  });

  it('refuses an order that names no check or waits in a cycle', () => {
    const a = { ...make('a', async () => undefined), after: ['c'] };
    const b = { ...make('b', async () => undefined), after: ['a'] };
    const c = { ...make('c', async () => undefined), after: ['b'] };
    expect(() => validateOrder([a, b, c])).toThrow('checks wait for each other in a cycle: a -> c -> b -> a');
    expect(() => validateOrder([{ ...make('d', async () => undefined), after: ['nope'] }])).toThrow('check d waits for "nope", which is not a check');
    expect(() => validateOrder([make('e', async () => undefined), { ...make('f', async () => undefined), after: ['e'] }])).not.toThrow();
    expect(() => validateOrder(allChecks)).not.toThrow();
  });
});
