import { describe, expect, it } from 'vitest';
import type * as k8s from '@kubernetes/client-node';
import type { Kube } from '../../suites/lib/kube.js';
import { compareCounters, mergeKubelet, parseCadvisor, podCounters, readContainerCounters, restartsVerdict, throttlingVerdict, type ContainerCounters, type ContainerRun } from '../../suites/load/containers.js';
import { cpuPerRequest } from '../../suites/load/report.js';

// The shape of the kubelet's /metrics/cadvisor: one series per cgroup, the pod's own cgroup
// without a container label, the sandbox as container "POD".
const exposition = (periods: number, throttled: number, oom = 0) => `# HELP container_cpu_cfs_periods_total Number of elapsed enforcement period intervals.
# TYPE container_cpu_cfs_periods_total counter
container_cpu_cfs_periods_total{container="frontend",id="/kubepods/burstable/pod1/abc",image="r/frontend:1",name="abc",namespace="todo-app",pod="frontend-1"} ${periods} 1764650000000
container_cpu_cfs_periods_total{container="",id="/kubepods/burstable/pod1",image="",name="",namespace="todo-app",pod="frontend-1"} ${periods * 2} 1764650000000
container_cpu_cfs_periods_total{container="backend",id="/x",image="",name="",namespace="other",pod="backend-1"} 999 1764650000000
container_cpu_cfs_throttled_periods_total{container="frontend",id="/kubepods/burstable/pod1/abc",image="r/frontend:1",name="abc",namespace="todo-app",pod="frontend-1"} ${throttled} 1764650000000
container_cpu_cfs_throttled_seconds_total{container="frontend",id="/kubepods/burstable/pod1/abc",image="r/frontend:1",name="abc",namespace="todo-app",pod="frontend-1"} ${throttled / 100} 1764650000000
container_cpu_usage_seconds_total{container="frontend",id="/kubepods/burstable/pod1/abc",image="r/frontend:1",name="abc",namespace="todo-app",pod="frontend-1"} ${periods / 100} 1764650000000
container_oom_events_total{container="frontend",id="/kubepods/burstable/pod1/abc",image="r/frontend:1",name="abc",namespace="todo-app",pod="frontend-1"} ${oom} 1764650000000
container_memory_max_usage_bytes{container="frontend",id="/kubepods/burstable/pod1/abc",image="r/frontend:1",name="abc",namespace="todo-app",pod="frontend-1"} 2.68435456e+08 1764650000000
container_memory_max_usage_bytes{container="POD",id="/kubepods/burstable/pod1/pause",image="pause",name="p",namespace="todo-app",pod="frontend-1"} 1e+06 1764650000000
container_memory_working_set_bytes{container="frontend",id="/kubepods/burstable/pod1/abc",image="r/frontend:1",name="abc",namespace="todo-app",pod="frontend-1"} 1e+08 1764650000000
`;

const pod = (restarts: number, lastExit?: { reason: string; finishedAt: string }): k8s.V1Pod => ({
  metadata: { name: 'frontend-1' },
  spec: { nodeName: 'node-1', containers: [{ name: 'frontend', resources: { limits: { cpu: '500m', memory: '512Mi' } } }] },
  status: { containerStatuses: [{ name: 'frontend', image: 'r/frontend:1', imageID: '', ready: true, restartCount: restarts, lastState: lastExit ? { terminated: { exitCode: 137, reason: lastExit.reason, finishedAt: new Date(lastExit.finishedAt) } } : undefined }] },
});

function reading(periods: number, throttled: number, restarts: number, oom = 0, lastExit?: { reason: string; finishedAt: string }): Map<string, ContainerCounters> {
  return mergeKubelet(podCounters([pod(restarts, lastExit)]), parseCadvisor(exposition(periods, throttled, oom), 'todo-app'));
}

describe("the kubelet's counters of each container", () => {
  it("reads the namespace's containers and pods from a cAdvisor exposition, leaving out sandboxes", () => {
    const parsed = parseCadvisor(exposition(1000, 100), 'todo-app');
    expect([...parsed.keys()]).toEqual(['frontend-1/frontend', 'frontend-1/(pod)']);
    expect(parsed.get('frontend-1/frontend')).toEqual({ pod: 'frontend-1', container: 'frontend', periods: 1000, throttledPeriods: 100, throttledSeconds: 1, cpuSeconds: 10, oomEvents: 0, maxMemoryBytes: 268435456, sampledAtMs: 1764650000000 });
    expect(parsed.get('frontend-1/(pod)')).toEqual({ pod: 'frontend-1', container: '(pod)', periods: 2000, sampledAtMs: 1764650000000 });
  });

  it("counts a pod as a whole where the kubelet does not report its containers one by one", () => {
    // The pod's cgroup alone, as a kubelet reports it when cAdvisor cannot read the runtime.
    const podOnly = (periods: number, throttled: number) =>
      `container_cpu_cfs_periods_total{container="",id="/kubepods/pod1",namespace="todo-app",pod="frontend-1"} ${periods}\ncontainer_cpu_cfs_throttled_periods_total{container="",id="/kubepods/pod1",namespace="todo-app",pod="frontend-1"} ${throttled}\n`;
    const at = (periods: number, throttled: number) => mergeKubelet(podCounters([pod(0)]), parseCadvisor(podOnly(periods, throttled), 'todo-app'));
    const runs = compareCounters(at(1000, 0), at(2000, 400), 0);
    expect(runs.map((run) => [run.container, run.throttledPercent])).toEqual([['(pod)', 40], ['frontend', undefined]]);
    expect(runs[0]?.memoryLimitBytes).toBe(536870912);
    expect(throttlingVerdict(runs, '', 25).actual).toBe('throttled over 25 %: frontend-1/(pod) 40 % of 1000 periods (0 s)');
    // With the containers reported one by one, the pod's own row goes.
    expect([...reading(1000, 100, 0).keys()]).toEqual(['frontend-1/frontend']);
  });

  it('gives the share of CPU periods throttled during the run, peak memory against the limit, restarts and OOM kills', () => {
    const startMs = Date.parse('2026-12-02T10:00:00Z');
    const [run] = compareCounters(reading(1000, 100, 0), reading(3000, 700, 1, 1, { reason: 'OOMKilled', finishedAt: '2026-12-02T10:01:00Z' }), startMs);
    expect(run).toEqual({
      pod: 'frontend-1', container: 'frontend', periods: 2000, throttledPeriods: 600, throttledPercent: 30, throttledSeconds: 6, cpuSeconds: 20,
      oomKills: 1, restarts: 1, peakMemoryBytes: 268435456, memoryLimitBytes: 536870912, peakMemoryPercent: 50,
    });
    // An OOM kill before the run is not the run's.
    const [calm] = compareCounters(reading(1000, 0, 1, 0, { reason: 'OOMKilled', finishedAt: '2026-12-02T09:00:00Z' }), reading(1500, 0, 1, 0, { reason: 'OOMKilled', finishedAt: '2026-12-02T09:00:00Z' }), startMs);
    expect(calm).toMatchObject({ throttledPercent: 0, oomKills: 0, restarts: 0 });
    expect(cpuPerRequest(run as ContainerRun, 4000)).toBe('5.00 ms');
    expect(cpuPerRequest({ cpuSeconds: undefined }, 4000)).toBe('n/a');
  });

  it('fails the run on throttling over the share, naming the container, and on a restart or OOM kill', () => {
    const startMs = Date.parse('2026-12-02T10:00:00Z');
    const runs = compareCounters(reading(1000, 100, 0), reading(3000, 700, 1, 1, { reason: 'OOMKilled', finishedAt: '2026-12-02T10:01:00Z' }), startMs);
    expect(throttlingVerdict(runs, '', 25)).toMatchObject({ id: 'cpu-throttling', pass: false, actual: 'throttled over 25 %: frontend-1/frontend 30 % of 2000 periods (6 s)' });
    expect(throttlingVerdict(runs, '', 40)).toMatchObject({ pass: true });
    expect(restartsVerdict(runs, '')).toMatchObject({ id: 'restarts', pass: false, actual: 'frontend-1/frontend 1 restart(s), 1 OOM kill(s)' });
    const calm = compareCounters(reading(1000, 0, 0), reading(2000, 10, 0), startMs);
    expect(restartsVerdict(calm, '')).toMatchObject({ pass: true });
    expect(throttlingVerdict(calm, '', 25)).toMatchObject({ pass: true, detail: '1 containers with a CPU limit; most throttled: frontend-1/frontend 1 % of 1000 periods (0.1 s) (limit 25 %)' });
  });

  it('skips, saying why, when the kubelet could not be read', () => {
    const note = "the kubelet's cAdvisor metrics could not be read (nodes/proxy) for node-1: HTTP 403";
    const runs = compareCounters(podCounters([pod(0)]), podCounters([pod(0)]), 0);
    expect(throttlingVerdict(runs, note, 25)).toMatchObject({ pass: true, skip: true, detail: `skipped: ${note}` });
    expect(restartsVerdict(runs, note)).toMatchObject({ pass: true });
    expect(restartsVerdict([], 'no cluster (generator only)')).toMatchObject({ skip: true });
  });

  it('reads the kubelet again until its counters are as recent as asked, and says so when they never are', async () => {
    // The kubelet refreshes its counters every ten seconds or so: the first read is older.
    const sampled = [1000, 1000, 5000];
    const reads: number[] = [];
    const kube = {
      core: {
        listNamespacedPod: async () => ({ items: [pod(0)] }),
        connectGetNodeProxyWithPath: async () => {
          const at = sampled[Math.min(reads.length, sampled.length - 1)] as number;
          reads.push(at);
          return exposition(1000, 0).replaceAll('1764650000000', String(at));
        },
      },
    } as unknown as Kube;
    const fresh = await readContainerCounters(kube, 'todo-app', 4000, 5000);
    expect(reads).toEqual([1000, 1000, 5000]);
    expect(fresh.note).toBe('');
    expect(fresh.counters.get('frontend-1/frontend')?.sampledAtMs).toBe(5000);
    const lagging = await readContainerCounters(kube, 'todo-app', 9000, 0);
    expect(lagging.note).toBe("the kubelet's counters lagged the moment asked for by node-1 4 s");
  });
});
