// The sandbox's `metrics.k8s.io/v1beta1`: what metrics-server serves in a cluster, from the
// real CPU and memory of each pod's host processes (/proc). The API server reaches it
// through an APIService, so `kubectl top` and the suite read it as they would elsewhere.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';

const clockTicksPerSecond = 100;
const pageSize = 4096;

export interface ContainerProcess {
  container: string;
  pid: number;
}

export interface PodProcesses {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  containers: ContainerProcess[];
}

interface Sample {
  ticks: number;
  at: number;
}

/** CPU time (user + system, in clock ticks) and resident memory (bytes) of one process. */
export function readProcess(pid: number): { ticks: number; rssBytes: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rssPages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return { ticks, rssBytes: rssPages * pageSize };
  } catch {
    return undefined;
  }
}

/** A Kubernetes quantity for CPU in nanocores, as metrics-server reports it. */
export function nanocores(cores: number): string {
  return `${Math.max(0, Math.round(cores * 1e9))}n`;
}

export function kibibytes(bytes: number): string {
  return `${Math.round(bytes / 1024)}Ki`;
}

export class MetricsSampler {
  private readonly previous = new Map<number, Sample>();
  private readonly rates = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private host: Sample | undefined;
  windowSeconds = 0;
  hostCores = 0;

  constructor(private readonly pods: () => PodProcesses[], private readonly intervalMs = 10_000) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** CPU cores used by `pid` over the last window (0 until two samples exist). */
  cpuCores(pid: number): number {
    return this.rates.get(pid) ?? 0;
  }

  private sample(): void {
    const now = Date.now();
    const busy = hostBusyTicks();
    if (this.host && now > this.host.at) {
      this.hostCores = (busy - this.host.ticks) / clockTicksPerSecond / ((now - this.host.at) / 1000);
    }
    this.host = { ticks: busy, at: now };
    const seen = new Set<number>();
    for (const pod of this.pods()) {
      for (const { pid } of pod.containers) {
        seen.add(pid);
        const current = readProcess(pid);
        if (!current) continue;
        const before = this.previous.get(pid);
        if (before && now > before.at) {
          this.rates.set(pid, (current.ticks - before.ticks) / clockTicksPerSecond / ((now - before.at) / 1000));
          this.windowSeconds = Math.round((now - before.at) / 1000);
        }
        this.previous.set(pid, { ticks: current.ticks, at: now });
      }
    }
    for (const pid of this.previous.keys()) {
      if (!seen.has(pid)) {
        this.previous.delete(pid);
        this.rates.delete(pid);
      }
    }
  }
}

/** Busy CPU time of the whole host, in clock ticks (/proc/stat). */
function hostBusyTicks(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return user + nice + system + irq + softirq + steal;
}

function hostMemoryBytes(): number {
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(meminfo)?.[1] ?? 0) * 1024;
  return field('MemTotal') - field('MemAvailable');
}

export interface MetricsServerOptions {
  port: number;
  cert: Buffer;
  key: Buffer;
  nodeName: string;
  pods: () => PodProcesses[];
  sampler: MetricsSampler;
}

const group = 'metrics.k8s.io';
const version = 'v1beta1';

function podMetrics(pod: PodProcesses, sampler: MetricsSampler) {
  return {
    kind: 'PodMetrics',
    apiVersion: `${group}/${version}`,
    metadata: { name: pod.name, namespace: pod.namespace, labels: pod.labels, creationTimestamp: new Date().toISOString() },
    timestamp: new Date().toISOString(),
    window: `${sampler.windowSeconds || 10}s`,
    containers: pod.containers.map(({ container, pid }) => ({
      name: container,
      usage: {
        cpu: nanocores(sampler.cpuCores(pid)),
        memory: kibibytes(readProcess(pid)?.rssBytes ?? 0),
      },
    })),
  };
}

function resourceList() {
  const resource = (name: string, kind: string, namespaced: boolean) =>
    ({ name, singularName: '', namespaced, kind, verbs: ['get', 'list'] });
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: `${group}/${version}`,
    resources: [resource('nodes', 'NodeMetrics', false), resource('pods', 'PodMetrics', true)],
  };
}

function matchesSelector(labels: Record<string, string>, selector: string | null): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [key, value] = term.split('=') as [string, string | undefined];
    return value === undefined ? key in labels : labels[key.replace(/=$/, '')] === value;
  });
}

export function startMetricsServer(options: MetricsServerOptions): Server {
  const { sampler } = options;
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'https://sandbox');
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const path = url.pathname.replace(/\/$/, '');
    const prefix = `/apis/${group}/${version}`;
    if (path === '/healthz' || path === '/readyz' || path === '/livez') return send(200, 'ok');
    if (path === `/apis/${group}`) {
      return send(200, {
        kind: 'APIGroup', apiVersion: 'v1', name: group,
        versions: [{ groupVersion: `${group}/${version}`, version }],
        preferredVersion: { groupVersion: `${group}/${version}`, version },
      });
    }
    if (path === prefix) return send(200, resourceList());
    const selector = url.searchParams.get('labelSelector');
    const all = options.pods().filter((pod) => matchesSelector(pod.labels, selector));
    const list = (items: unknown[], kind: string) => send(200, { kind, apiVersion: `${group}/${version}`, metadata: {}, items });
    if (path === `${prefix}/pods`) return list(all.map((pod) => podMetrics(pod, sampler)), 'PodMetricsList');
    const namespaced = new RegExp(`^${prefix}/namespaces/([^/]+)/pods(?:/([^/]+))?$`).exec(path);
    if (namespaced) {
      const [, namespace, name] = namespaced;
      const pods = all.filter((pod) => pod.namespace === namespace);
      if (!name) return list(pods.map((pod) => podMetrics(pod, sampler)), 'PodMetricsList');
      const pod = pods.find((candidate) => candidate.name === name);
      if (!pod) {
        return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `podmetrics.metrics.k8s.io "${name}" not found` });
      }
      return send(200, podMetrics(pod, sampler));
    }
    if (path === `${prefix}/nodes` || path === `${prefix}/nodes/${options.nodeName}`) {
      const node = {
        kind: 'NodeMetrics', apiVersion: `${group}/${version}`,
        metadata: { name: options.nodeName, creationTimestamp: new Date().toISOString() },
        timestamp: new Date().toISOString(), window: `${sampler.windowSeconds || 10}s`,
        usage: { cpu: nanocores(sampler.hostCores), memory: kibibytes(hostMemoryBytes()) },
      };
      return path.endsWith('/nodes') ? list([node], 'NodeMetricsList') : send(200, node);
    }
    return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' });
  };
  const server = createServer({ cert: options.cert, key: options.key }, handle);
  server.listen(options.port, '127.0.0.1');
  return server;
}
