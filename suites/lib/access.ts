// How checks reach services: an explicit URL, in-cluster Service DNS, or a port-forward
// through the API server to a ready pod behind the Service (client-node's PortForward, no
// kubectl process). Port-forward is also the only path the sandbox allows: its pod IPs and
// ClusterIPs must never be dialled.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import type { AccessMode, SuiteConfig } from './config.js';
import { isNotFound, oneLine } from './errors.js';
import type { Kube } from './kube.js';

export interface Forward {
  host: string;
  port: number;
  pod: string;
  targetPort: number;
  /** The last error the tunnel reported, to explain a failed request. */
  lastError(): string | undefined;
  close(): Promise<void>;
}

export interface Endpoint {
  url: string;
  /** How it was reached, for evidence: "port-forward pod/x:8000", "url", "in-cluster dns". */
  via: string;
  forward?: Forward;
}

export function isPodReady(pod: k8s.V1Pod): boolean {
  return pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export function effectiveAccess(config: Pick<SuiteConfig, 'access'>, env: Record<string, string | undefined>): AccessMode {
  if (config.access !== 'auto') return config.access;
  return env.KUBERNETES_SERVICE_HOST ? 'in-cluster' : 'port-forward';
}

/** Resolve a Service port (number or name, via targetPort) to a container port of a pod. */
export function containerPortFor(service: k8s.V1Service, servicePort: number | string, pod: k8s.V1Pod): number {
  const ports = service.spec?.ports ?? [];
  const match = ports.find((p) => p.port === servicePort || p.name === servicePort) ?? (ports.length === 1 ? ports[0] : undefined);
  if (!match) throw new Error(`Service ${service.metadata?.name} has no port ${servicePort}`);
  const target = match.targetPort ?? match.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const container of pod.spec?.containers ?? []) {
    const named = container.ports?.find((p) => p.name === target);
    if (named) return named.containerPort;
  }
  throw new Error(`pod ${pod.metadata?.name} has no container port named ${target} (targetPort of Service ${service.metadata?.name})`);
}

export class ServiceAccess {
  private readonly forwards = new Map<string, Promise<Forward>>();
  readonly mode: AccessMode;

  constructor(
    private readonly kube: Kube,
    private readonly config: Pick<SuiteConfig, 'namespace' | 'serviceUrls' | 'access'>,
    env: Record<string, string | undefined> = process.env,
  ) {
    this.mode = effectiveAccess(config, env);
  }

  /** A base URL for `service` on `servicePort`; explicit URLs win in every mode. */
  async service(service: string, servicePort: number | string): Promise<Endpoint> {
    const explicit = this.config.serviceUrls[service];
    if (explicit) return { url: explicit.replace(/\/$/, ''), via: 'explicit url' };
    if (this.mode === 'url') throw new Error(`no URL given for service ${service} (--service-url ${service}=URL)`);
    if (this.mode === 'in-cluster') {
      return { url: `http://${service}.${this.config.namespace}.svc.cluster.local:${servicePort}`, via: 'in-cluster dns' };
    }
    const { pod, port } = await this.readyPodBehind(service, servicePort);
    const forward = await this.forwardPod(pod, port);
    return { url: `http://${forward.host}:${forward.port}`, via: `port-forward pod/${pod}:${port}`, forward };
  }

  /** A URL for a pod's own port (daprd's API listens on the pod's loopback only). */
  async pod(pod: k8s.V1Pod, port: number, service?: string): Promise<Endpoint> {
    const explicit = service ? this.config.serviceUrls[`${service}-dapr`] : undefined;
    if (explicit) return { url: explicit.replace(/\/$/, ''), via: 'explicit url' };
    const name = pod.metadata?.name ?? '';
    if (this.mode === 'url') throw new Error(`no URL given for the sidecar of ${service ?? name} (--service-url ${service ?? name}-dapr=URL)`);
    if (this.mode === 'in-cluster') {
      // daprd binds its API to the pod's loopback; from another pod only its public port answers.
      return { url: `http://${pod.status?.podIP}:3501`, via: 'in-cluster pod ip, daprd public port' };
    }
    const forward = await this.forwardPod(name, port);
    return { url: `http://${forward.host}:${forward.port}`, via: `port-forward pod/${name}:${port}`, forward };
  }

  async readyPodBehind(service: string, servicePort: number | string): Promise<{ pod: string; port: number }> {
    const namespace = this.config.namespace;
    let svc: k8s.V1Service;
    try {
      svc = await this.kube.core.readNamespacedService({ name: service, namespace });
    } catch (error) {
      if (isNotFound(error)) throw new Error(`Service ${namespace}/${service} does not exist`);
      throw error;
    }
    const selector = svc.spec?.selector;
    if (!selector || Object.keys(selector).length === 0) throw new Error(`Service ${service} has no selector; give its URL with --service-url`);
    const labelSelector = Object.entries(selector).map(([key, value]) => `${key}=${value}`).join(',');
    const pods = await this.kube.core.listNamespacedPod({ namespace, labelSelector });
    const ready = pods.items.filter((pod) => isPodReady(pod) && !pod.metadata?.deletionTimestamp);
    const chosen = ready[0];
    if (!chosen) {
      const seen = pods.items.map((pod) => `${pod.metadata?.name}=${pod.status?.phase}`).join(', ') || 'no pods';
      throw new Error(`no ready pod behind Service ${service} (selector ${labelSelector}; ${seen})`);
    }
    return { pod: chosen.metadata?.name ?? '', port: containerPortFor(svc, servicePort, chosen) };
  }

  /** Listen on 127.0.0.1 and tunnel each connection to `pod:port` through the API server. */
  forwardPod(pod: string, port: number, localPort = 0): Promise<Forward> {
    const key = `${pod}:${port}:${localPort}`;
    let existing = this.forwards.get(key);
    if (!existing) {
      existing = openForward(this.kube.kc, this.config.namespace, pod, port, localPort);
      existing.catch(() => this.forwards.delete(key));
      this.forwards.set(key, existing);
    }
    return existing;
  }

  async closeAll(): Promise<void> {
    const all = [...this.forwards.values()];
    this.forwards.clear();
    await Promise.allSettled(all.map(async (forward) => (await forward).close()));
  }
}

export async function openForward(kc: k8s.KubeConfig, namespace: string, pod: string, port: number, localPort = 0): Promise<Forward> {
  const portForward = new k8s.PortForward(kc, true);
  const sockets = new Set<Socket>();
  let lastError: string | undefined;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let closeTunnel: (() => void) | undefined;
    const errors = new Writable({
      write(chunk: Buffer, _encoding, done) {
        const text = chunk.toString('utf8').trim();
        if (text) {
          lastError = text;
          socket.destroy();
        }
        done();
      },
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      closeTunnel?.();
    });
    portForward
      .portForward(namespace, pod, [port], socket, errors, socket)
      .then((result) => {
        const ws = typeof result === 'function' ? result() : result;
        if (!ws) return;
        closeTunnel = () => ws.close();
        ws.on('close', () => socket.end());
        ws.on('error', (error: Error) => {
          lastError = oneLine(error);
          socket.destroy();
        });
        if (socket.destroyed) ws.close();
      })
      .catch((error: unknown) => {
        lastError = `port-forward to pod/${pod}:${port} failed: ${oneLine(error)}`;
        socket.destroy();
      });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(localPort, '127.0.0.1', () => done());
  });
  const address = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port: address.port,
    pod,
    targetPort: port,
    lastError: () => lastError,
    close: () =>
      new Promise<void>((done) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => done());
      }),
  };
}
