// A userspace Service proxy on 127.0.0.1, standing in for kube-proxy: each Service port
// gets a listener that forwards each connection to a ready endpoint's process, following
// the EndpointSlices as pods come and go. NodePort (and LoadBalancer) Services also listen
// on their node port, since the sandbox's node address is 127.0.0.1.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type * as k8s from '@kubernetes/client-node';
import type { AddressResolver } from './service-names.js';

export interface EndpointTarget {
  /** Host port of a pod's container port, when the pod runs here. */
  hostPortOf(containerPort: number): number | undefined;
  hostname?: string;
  subdomain?: string;
}

export interface ProxyContext {
  pod(namespace: string, name: string): EndpointTarget | undefined;
  pods(namespace: string): EndpointTarget[];
  allocatePort(): Promise<number>;
  releasePort(port: number): void;
  log(message: string, fields?: Record<string, unknown>): void;
}

interface Listener {
  server: Server;
  hostPort: number;
  nodePortServer?: Server;
  servicePort: k8s.V1ServicePort;
  next: number;
}

interface ServiceEntry {
  service: k8s.V1Service;
  listeners: Map<number, Listener>;
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

export class ServiceProxy implements AddressResolver {
  private readonly services = new Map<string, ServiceEntry>();
  /** EndpointSlices by Service, then by slice name. */
  private readonly slices = new Map<string, Map<string, k8s.V1EndpointSlice>>();
  private readonly connections = new Set<Socket>();

  constructor(private readonly context: ProxyContext) {}

  service(namespace: string, name: string, port: number): number | undefined {
    return this.services.get(key(namespace, name))?.listeners.get(port)?.hostPort;
  }

  podOfService(namespace: string, service: string, hostname: string, port: number): number | undefined {
    const target = this.context.pods(namespace)
      .find((candidate) => candidate.hostname === hostname && candidate.subdomain === service);
    return target?.hostPortOf(port);
  }

  async upsertService(service: k8s.V1Service): Promise<void> {
    const namespace = service.metadata!.namespace!;
    const name = service.metadata!.name!;
    const id = key(namespace, name);
    let entry = this.services.get(id);
    if (!entry) {
      entry = { service, listeners: new Map() };
      this.services.set(id, entry);
    }
    entry.service = service;
    if (service.spec?.type === 'ExternalName') return;
    const wanted = (service.spec?.ports ?? []).filter((port) => (port.protocol ?? 'TCP') === 'TCP');
    for (const [port, listener] of entry.listeners) {
      if (!wanted.some((candidate) => candidate.port === port)) this.closeListener(listener);
      if (!wanted.some((candidate) => candidate.port === port)) entry.listeners.delete(port);
    }
    for (const servicePort of wanted) {
      const existing = entry.listeners.get(servicePort.port);
      if (existing) {
        existing.servicePort = servicePort;
        continue;
      }
      const hostPort = await this.context.allocatePort();
      const listener: Listener = { server: createServer(), hostPort, servicePort, next: 0 };
      listener.server.on('connection', (socket) => this.forward(id, listener, socket));
      await new Promise<void>((resolve, reject) => {
        listener.server.once('error', reject);
        listener.server.listen(hostPort, '127.0.0.1', () => resolve());
      });
      if (servicePort.nodePort && (service.spec?.type === 'NodePort' || service.spec?.type === 'LoadBalancer')) {
        listener.nodePortServer = await this.listenOnNodePort(id, listener, servicePort.nodePort);
      }
      entry.listeners.set(servicePort.port, listener);
      this.context.log('service listener', { service: id, port: servicePort.port, hostPort, nodePort: servicePort.nodePort });
    }
  }

  private async listenOnNodePort(id: string, listener: Listener, nodePort: number): Promise<Server | undefined> {
    const server = createServer((socket) => this.forward(id, listener, socket));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(nodePort, '127.0.0.1', () => resolve());
      });
      return server;
    } catch (error) {
      this.context.log('node port unavailable on 127.0.0.1', { service: id, nodePort, error: String(error) });
      return undefined;
    }
  }

  deleteService(service: k8s.V1Service): void {
    const id = key(service.metadata!.namespace!, service.metadata!.name!);
    const entry = this.services.get(id);
    if (!entry) return;
    for (const listener of entry.listeners.values()) this.closeListener(listener);
    this.services.delete(id);
  }

  private closeListener(listener: Listener): void {
    listener.server.close();
    listener.nodePortServer?.close();
    this.context.releasePort(listener.hostPort);
  }

  private serviceOfSlice(slice: k8s.V1EndpointSlice): string | undefined {
    const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
    return service ? key(slice.metadata!.namespace!, service) : undefined;
  }

  upsertSlice(slice: k8s.V1EndpointSlice): void {
    const service = this.serviceOfSlice(slice);
    if (!service) return;
    const slices = this.slices.get(service) ?? new Map<string, k8s.V1EndpointSlice>();
    slices.set(slice.metadata!.name!, slice);
    this.slices.set(service, slices);
  }

  deleteSlice(slice: k8s.V1EndpointSlice): void {
    const service = this.serviceOfSlice(slice);
    if (service) this.slices.get(service)?.delete(slice.metadata!.name!);
  }

  /** Host ports of the ready endpoints behind one Service port. */
  readyBackends(id: string, servicePort: k8s.V1ServicePort): number[] {
    const namespace = id.split('/')[0]!;
    const backends: number[] = [];
    for (const slice of this.slices.get(id)?.values() ?? []) {
      const port = slice.ports?.find((candidate) => (candidate.name ?? '') === (servicePort.name ?? ''));
      if (port?.port === undefined) continue;
      for (const endpoint of slice.endpoints ?? []) {
        if (endpoint.conditions?.ready === false || endpoint.targetRef?.kind !== 'Pod') continue;
        const hostPort = this.context.pod(namespace, endpoint.targetRef.name!)?.hostPortOf(port.port);
        if (hostPort !== undefined) backends.push(hostPort);
      }
    }
    return backends;
  }

  private forward(id: string, listener: Listener, client: Socket): void {
    const backends = this.readyBackends(id, listener.servicePort);
    if (backends.length === 0) {
      // No ready endpoint: refused, as kube-proxy rejects connections to such a Service.
      client.resetAndDestroy();
      return;
    }
    const backendPort = backends[listener.next++ % backends.length]!;
    const upstream = connect({ host: '127.0.0.1', port: backendPort });
    this.connections.add(client);
    this.connections.add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.connections.delete(client);
      this.connections.delete(upstream);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  close(): void {
    for (const entry of this.services.values()) {
      for (const listener of entry.listeners.values()) this.closeListener(listener);
    }
    for (const socket of this.connections) socket.destroy();
    this.services.clear();
  }
}
