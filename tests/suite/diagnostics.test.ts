import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { podChecks } from '../../suites/checks/pods.js';
import { containerPortFor, effectiveAccess } from '../../suites/lib/access.js';
import type { CheckContext, CheckResult } from '../../suites/lib/check.js';
import { defaultLimits, type SuiteConfig } from '../../suites/lib/config.js';
import type { Kube } from '../../suites/lib/kube.js';
import { Redactor } from '../../suites/lib/redact.js';
import { writeDiagnostics } from '../../suites/lib/report/diagnostics.js';
import { runOne } from '../../suites/lib/runner.js';

const canary = 'canary-diag-5c1f0e';
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const pod: k8s.V1Pod = {
  metadata: { name: 'backend-1', namespace: 'todo-app', managedFields: [{ manager: 'noise' }] },
  spec: {
    initContainers: [{ name: 'migrate', image: 'm' }],
    containers: [
      { name: 'backend', image: 'b', env: [{ name: 'JWT_SECRET', value: canary }] },
      { name: 'daprd', image: 'd' },
    ],
  },
  status: {
    phase: 'Running',
    containerStatuses: [
      { name: 'backend', image: 'b', imageID: '', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } } },
      { name: 'daprd', image: 'd', imageID: '', ready: true, restartCount: 0, state: { running: {} } },
    ],
  },
};

function stubKube(logCalls: { container?: string; tailLines?: number; previous?: boolean }[]): Kube {
  const list = <T>(items: T[]) => async () => ({ items });
  return {
    core: {
      listNamespacedPod: list([pod]),
      listNamespacedEvent: list([{ involvedObject: { kind: 'Pod', name: 'backend-1' }, reason: 'BackOff', type: 'Warning', message: `Back-off restarting; env had ${canary}`, metadata: {} }]),
      listNamespacedService: list([]),
      readNamespacedPodLog: async (args: { container?: string; tailLines?: number; previous?: boolean }) => {
        logCalls.push(args);
        return `started\nconnecting with password ${canary}\n`;
      },
    },
    apps: { listNamespacedDeployment: list([]), listNamespacedStatefulSet: list([]), listNamespacedReplicaSet: list([]) },
    batch: { listNamespacedJob: list([]) },
  } as unknown as Kube;
}

describe('diagnostics bundle', () => {
  it('dumps pods, events and the last 200 log lines of every container, redacted, and links each failing check', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'suite-diag-'));
    dirs.push(dir);
    const redactor = new Redactor();
    redactor.add(canary);
    const logCalls: { container?: string; tailLines?: number; previous?: boolean }[] = [];
    const failed = [{ id: 'pods-ready', verdict: 'fail', reason: 'pod backend-1 container backend: CrashLoopBackOff', pods: ['backend-1'], evidence: [] } as unknown as CheckResult];
    const pages = await writeDiagnostics(
      { kube: stubKube(logCalls), namespace: 'todo-app', release: 'todo-app', kubeconfig: undefined, context: 'ctx', helmBinary: '/nonexistent/helm', redactor, runDir: dir },
      failed,
    );
    expect(pages.get('pods-ready')).toBe('diagnostics/checks/pods-ready.html');
    expect(logCalls.filter((c) => !c.previous).map((c) => c.container).sort()).toEqual(['backend', 'daprd', 'migrate']);
    expect(logCalls.every((c) => c.tailLines === 200)).toBe(true);
    expect(logCalls.filter((c) => c.previous).map((c) => c.container)).toEqual(['backend']);
    const base = join(dir, 'diagnostics');
    const files = [...(await readdir(base)), ...(await readdir(join(base, 'pods'))).map((f) => `pods/${f}`), ...(await readdir(join(base, 'logs'))).map((f) => `logs/${f}`)];
    expect(files).toEqual(expect.arrayContaining(['events.txt', 'workloads.yaml', 'helm-status.txt', 'index.html', 'pods/backend-1.txt', 'logs/backend-1__daprd.log', 'logs/backend-1__migrate.log', 'logs/backend-1__backend.log']));
    const describe = await readFile(join(base, 'pods/backend-1.txt'), 'utf8');
    expect(describe).toContain('container backend: ready=false restarts=2');
    expect(describe).toContain('Warning BackOff Pod/backend-1');
    expect(describe).not.toContain('managedFields');
    // The check's page shows the pod's state and its logs inline, and links the files.
    const page = await readFile(join(base, 'checks/pods-ready.html'), 'utf8');
    expect(page).toContain('<a href="../pods/backend-1.txt">pods/backend-1.txt</a>');
    expect(page).toContain('<a href="../logs/backend-1__daprd.log">logs/backend-1__daprd.log</a>');
    expect(page).toContain('container backend: ready=false restarts=2');
    expect(page).toContain('pod backend-1 container backend: CrashLoopBackOff');
    for (const file of [...files.filter((f) => f.includes('.')), 'checks/pods-ready.html']) {
      expect(await readFile(join(base, file), 'utf8'), file).not.toContain(canary);
    }
    expect(await readFile(join(base, 'logs/backend-1__backend.log'), 'utf8')).toContain('password [REDACTED]');
  });
});

describe('pods-ready fails fast', () => {
  it('gives its verdict on a hopeless pod without waiting for the readiness timeout', async () => {
    const hopeless: k8s.V1Pod = {
      metadata: { name: 'backend-2' },
      spec: { containers: [{ name: 'backend' }] },
      status: { phase: 'Pending', containerStatuses: [{ name: 'backend', image: 'registry.invalid/b:1', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ErrImagePull', message: 'pull access denied' } } }] },
    };
    const progressing: k8s.V1Pod = { metadata: { name: 'frontend-1' }, spec: { containers: [{ name: 'frontend' }] }, status: { phase: 'Pending' } };
    const ctx = {
      config: { release: 'todo-app', limits: { ...defaultLimits, podReadySeconds: 600 } } as SuiteConfig,
      redactor: new Redactor(),
      shared: { releasePods: async () => [progressing, hopeless], testUser: 'u', jwtSecret: async () => 's' },
      signal: new AbortController().signal,
    } as unknown as CheckContext;
    const check = podChecks.find((c) => c.id === 'pods-ready');
    const started = Date.now();
    const result = await runOne(check!, ctx, 60_000);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result.verdict).toBe('fail');
    expect(result.reason).toBe('pod backend-2 container backend: ErrImagePull: pull access denied (image registry.invalid/b:1)');
    expect(result.pods).toEqual(['frontend-1', 'backend-2']);
  });
});

describe('service access helpers', () => {
  const service: k8s.V1Service = { metadata: { name: 'frontend' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 'web' as unknown as k8s.IntOrString }] } };
  const frontendPod: k8s.V1Pod = { metadata: { name: 'f' }, spec: { containers: [{ name: 'frontend', ports: [{ name: 'web', containerPort: 3000 }] }] } };

  it('maps a Service port to the pod port through a named targetPort', () => {
    expect(containerPortFor(service, 80, frontendPod)).toBe(3000);
    expect(containerPortFor(service, 'http', frontendPod)).toBe(3000);
    expect(containerPortFor({ spec: { ports: [{ port: 8000, targetPort: 8080 as unknown as k8s.IntOrString }] } }, 8000, frontendPod)).toBe(8080);
    expect(() => containerPortFor({ metadata: { name: 's' }, spec: { ports: [{ port: 1 }, { port: 2 }] } }, 3, frontendPod)).toThrow(/has no port 3/);
  });

  it('chooses in-cluster DNS inside a pod and port-forward outside, unless told', () => {
    expect(effectiveAccess({ access: 'auto' }, { KUBERNETES_SERVICE_HOST: '10.96.0.1' })).toBe('in-cluster');
    expect(effectiveAccess({ access: 'auto' }, {})).toBe('port-forward');
    expect(effectiveAccess({ access: 'url' }, { KUBERNETES_SERVICE_HOST: '10.96.0.1' })).toBe('url');
  });
});
