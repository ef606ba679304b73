// The plan's security requirements: the backend services are reachable only from inside the
// cluster, and the frontend is the one public entry. Every way the namespace's objects can
// open a backend to the outside is looked at: the Service's own type and external IPs,
// Ingress rules and default backends, the Gateway API's routes (HTTPRoute, GRPCRoute,
// TLSRoute, TCPRoute) where the cluster serves them, and pods that bind a port on their node
// (hostPort, hostNetwork), which no Service is needed for. The contract allows one route
// besides the frontend's: `/api` to the backend over HTTP (an Ingress or an HTTPRoute).
import type * as k8s from '@kubernetes/client-node';
import { CheckFailure, type Check } from '../lib/check.js';
import { apiStatus } from '../lib/errors.js';
import { frontendService } from './frontend.js';

const apiService = 'backend';
const apiPath = '/api';

interface Route {
  /** The object that opens the route, e.g. "Ingress todo-app". */
  via: string;
  /** HTTP routes have a path; the contract's /api exception is for them only. */
  protocol: 'HTTP' | 'gRPC' | 'TLS' | 'TCP';
  host: string;
  /** For HTTP the path, for gRPC `/service/method`; empty for TLS and TCP. */
  path: string;
  service: string;
  port: string;
}

/** What a route carries, as a person reads it: `todo.example.com/tasks`, `* gRPC /todo.Tasks/*`, `todo.example.com (TLS)`. */
function routed(route: Route): string {
  switch (route.protocol) {
    case 'HTTP':
      return `${route.host}${route.path}`;
    case 'gRPC':
      return `${route.host} gRPC ${route.path}`;
    case 'TLS':
      return `${route.host} (TLS)`;
    case 'TCP':
      return 'TCP connections';
  }
}

/** One line per way a Service other than the frontend is opened to the outside. */
export function serviceOpenings(services: k8s.V1Service[]): string[] {
  const openings: string[] = [];
  for (const service of services) {
    const name = service.metadata?.name ?? '?';
    if (name === frontendService) continue;
    const type = service.spec?.type ?? 'ClusterIP';
    if (type === 'NodePort' || type === 'LoadBalancer') {
      const ports = (service.spec?.ports ?? []).map((port) => `${port.port}${port.nodePort ? ` (node port ${port.nodePort})` : ''}`).join(', ');
      openings.push(`Service ${name} is ${type}: ${ports} open on every node${type === 'LoadBalancer' ? ' and on the load balancer' : ''}`);
    }
    const externalIPs = service.spec?.externalIPs ?? [];
    if (externalIPs.length > 0) openings.push(`Service ${name} has externalIPs ${externalIPs.join(', ')}`);
  }
  return openings;
}

export function ingressRoutes(ingresses: k8s.V1Ingress[]): Route[] {
  const routes: Route[] = [];
  for (const ingress of ingresses) {
    const via = `Ingress ${ingress.metadata?.name ?? '?'}`;
    const fallback = ingress.spec?.defaultBackend?.service;
    if (fallback) routes.push({ via, protocol: 'HTTP', host: '*', path: '(default backend)', service: fallback.name, port: String(fallback.port?.number ?? fallback.port?.name ?? '') });
    for (const rule of ingress.spec?.rules ?? []) {
      for (const path of rule.http?.paths ?? []) {
        const service = path.backend.service;
        if (!service) continue;
        routes.push({ via, protocol: 'HTTP', host: rule.host ?? '*', path: path.path ?? '/', service: service.name, port: String(service.port?.number ?? service.port?.name ?? '') });
      }
    }
  }
  return routes;
}

interface BackendRef {
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
}

/** The fields of the Gateway API's route kinds the check reads; each kind has a subset of them. */
export interface GatewayRoute {
  metadata?: { name?: string };
  spec?: {
    hostnames?: string[];
    rules?: {
      matches?: { path?: { value?: string }; method?: { service?: string; method?: string } }[];
      backendRefs?: BackendRef[];
    }[];
  };
}

/** The route kinds of gateway.networking.k8s.io, each with the versions it has been served at, newest first. */
export const gatewayRouteKinds = [
  { kind: 'HTTPRoute', plural: 'httproutes', protocol: 'HTTP', versions: ['v1', 'v1beta1'] },
  { kind: 'GRPCRoute', plural: 'grpcroutes', protocol: 'gRPC', versions: ['v1', 'v1alpha2'] },
  { kind: 'TLSRoute', plural: 'tlsroutes', protocol: 'TLS', versions: ['v1', 'v1alpha3', 'v1alpha2'] },
  { kind: 'TCPRoute', plural: 'tcproutes', protocol: 'TCP', versions: ['v1alpha2'] },
] as const;
export const gatewayGroup = 'gateway.networking.k8s.io';
type RouteKind = (typeof gatewayRouteKinds)[number];

/**
 * The Services a Gateway API route sends to. A backendRef to another namespace's Service
 * is not one of this namespace's Services; one to another kind (a bucket, a function) is
 * left alone too.
 */
export function gatewayRouteRoutes(kind: RouteKind['kind'], gatewayRoutes: GatewayRoute[], namespace?: string): Route[] {
  const protocol = gatewayRouteKinds.find((entry) => entry.kind === kind)?.protocol ?? 'HTTP';
  const routes: Route[] = [];
  for (const route of gatewayRoutes) {
    const via = `${kind} ${route.metadata?.name ?? '?'}`;
    const host = route.spec?.hostnames?.join(',') || '*';
    for (const rule of route.spec?.rules ?? []) {
      const matches = rule.matches ?? [];
      const paths =
        protocol === 'HTTP'
          ? matches.map((match) => match.path?.value ?? '/')
          : protocol === 'gRPC'
            ? matches.map((match) => `/${match.method?.service ?? '*'}/${match.method?.method ?? '*'}`)
            : [];
      for (const ref of rule.backendRefs ?? []) {
        if (ref.kind && ref.kind !== 'Service') continue;
        if (ref.namespace && namespace && ref.namespace !== namespace) continue;
        const defaultPath = protocol === 'HTTP' ? '/' : protocol === 'gRPC' ? '/*/*' : '';
        for (const path of paths.length > 0 ? paths : [defaultPath]) routes.push({ via, protocol, host, path, service: ref.name, port: String(ref.port ?? '') });
      }
    }
  }
  return routes;
}

/** HTTPRoutes' routes (kept for the callers that read HTTPRoutes alone). */
export const httpRouteRoutes = (httpRoutes: GatewayRoute[], namespace?: string): Route[] => gatewayRouteRoutes('HTTPRoute', httpRoutes, namespace);

/** A public route is fine to the frontend, and to the backend under /api over HTTP (the contract's). */
export function routeOpenings(routes: Route[]): string[] {
  return routes
    .filter((route) => route.service !== frontendService)
    .filter((route) => !(route.protocol === 'HTTP' && route.service === apiService && (route.path === apiPath || route.path.startsWith(`${apiPath}/`))))
    .map((route) => `${route.via} routes ${routed(route)} to Service ${route.service}${route.port ? `:${route.port}` : ''}`);
}

/** The workload a pod belongs to, as a person names it: its Deployment, StatefulSet, DaemonSet or Job, else the pod. */
function workloadOf(pod: k8s.V1Pod): string {
  const owner = pod.metadata?.ownerReferences?.find((ref) => ref.controller) ?? pod.metadata?.ownerReferences?.[0];
  if (!owner) return `Pod ${pod.metadata?.name ?? '?'}`;
  // A Deployment's pods belong to its ReplicaSet, named after it with the template's hash.
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) return `Deployment ${owner.name.slice(0, -hash.length - 1)}`;
  return `${owner.kind} ${owner.name}`;
}

const selects = (selector: Record<string, string> | undefined, pod: k8s.V1Pod): boolean =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => pod.metadata?.labels?.[key] === value);

/**
 * Pods other than the frontend's that open a port on their node: a container port with a
 * hostPort, or hostNetwork, where every port the pod listens on is the node's. One line per
 * workload and way, naming its pods. `frontendSelector` is the frontend Service's selector.
 */
export function podOpenings(pods: k8s.V1Pod[], frontendSelector: Record<string, string> | undefined): string[] {
  const found = new Map<string, { workload: string; how: string; pods: string[] }>();
  const add = (workload: string, how: string, pod: string) => {
    const key = `${workload} ${how}`;
    const entry = found.get(key) ?? { workload, how, pods: [] };
    entry.pods.push(pod);
    found.set(key, entry);
  };
  for (const pod of pods) {
    // A pod that has finished listens on nothing; the frontend is the public entry.
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' || selects(frontendSelector, pod)) continue;
    const name = pod.metadata?.name ?? '?';
    const workload = workloadOf(pod);
    const containers = pod.spec?.containers ?? [];
    if (pod.spec?.hostNetwork) {
      const ports = containers.flatMap((container) => (container.ports ?? []).map((port) => `${container.name} ${port.containerPort}/${port.protocol ?? 'TCP'}`));
      add(workload, `uses hostNetwork: ${ports.length > 0 ? `ports ${ports.join(', ')} are` : 'every port it listens on is'} open on its node's addresses`, name);
      continue;
    }
    for (const container of containers) {
      for (const port of container.ports ?? []) {
        if (port.hostPort) add(workload, `binds host port ${port.hostPort} of its node to container ${container.name} port ${port.containerPort}/${port.protocol ?? 'TCP'}`, name);
      }
    }
  }
  return [...found.values()].map(({ workload, how, pods: names }) =>
    workload.startsWith('Pod ') ? `${workload} ${how}` : `${workload} (pod${names.length > 1 ? 's' : ''} ${names.join(', ')}) ${how}`,
  );
}

/** The API's answer to the lister the check uses: the Kubernetes client's CustomObjectsApi has this shape. */
export interface RouteLister {
  getAPIResources(param: { group: string; version: string }): Promise<{ resources?: { name: string }[] }>;
  listNamespacedCustomObject(param: { group: string; version: string; namespace: string; plural: string }): Promise<unknown>;
}

export interface GatewayRoutes {
  routes: Route[];
  /** Route kinds the cluster does not serve, which there is nothing to read of. */
  notServed: string[];
  /** Route kinds RBAC forbids listing, as `list grpcroutes.gateway.networking.k8s.io`. */
  forbidden: string[];
}

/**
 * Every route kind the cluster serves, each listed at the first of its versions the cluster
 * serves. What is served comes from discovery, which every authenticated identity may read:
 * so a 403 on a list is a missing permission, not a kind the cluster lacks.
 */
export async function listGatewayRoutes(custom: RouteLister, namespace: string): Promise<GatewayRoutes> {
  const versions = [...new Set(gatewayRouteKinds.flatMap((kind) => [...kind.versions]))];
  const served = new Map<string, Set<string>>();
  await Promise.all(
    versions.map(async (version) => {
      try {
        const list = await custom.getAPIResources({ group: gatewayGroup, version });
        served.set(version, new Set((list.resources ?? []).map((resource) => resource.name)));
      } catch (error) {
        if (apiStatus(error) !== 404) throw error;
      }
    }),
  );
  const result: GatewayRoutes = { routes: [], notServed: [], forbidden: [] };
  for (const kind of gatewayRouteKinds) {
    const version = kind.versions.find((candidate) => served.get(candidate)?.has(kind.plural));
    if (version === undefined) {
      result.notServed.push(kind.kind);
      continue;
    }
    try {
      const list = (await custom.listNamespacedCustomObject({ group: gatewayGroup, version, namespace, plural: kind.plural })) as { items?: GatewayRoute[] };
      result.routes.push(...gatewayRouteRoutes(kind.kind, list.items ?? [], namespace));
    } catch (error) {
      if (apiStatus(error) === 403) result.forbidden.push(`list ${kind.plural}.${gatewayGroup}`);
      else if (apiStatus(error) === 404) result.notServed.push(kind.kind);
      else throw error;
    }
  }
  return result;
}

const internalCheck: Check = {
  id: 'backend-internal',
  title: 'The backend services are reachable only inside the cluster; the frontend is the one public entry',
  group: 'security',
  criterion: 'Security: backend services internal only, frontend public through Ingress or LoadBalancer',
  async run(ctx, rec) {
    const namespace = ctx.config.namespace;
    const services = (await ctx.kube.core.listNamespacedService({ namespace })).items;
    const ingresses = (await ctx.kube.networking.listNamespacedIngress({ namespace })).items;
    const pods = (await ctx.kube.core.listNamespacedPod({ namespace })).items;
    const gateway = await listGatewayRoutes(ctx.kube.custom, namespace);
    const routes = [...ingressRoutes(ingresses), ...gateway.routes];
    for (const route of routes) rec.note(`${route.via}: ${routed(route)} -> ${route.service}:${route.port}`);
    if (gateway.notServed.length > 0) rec.note(`not served by the cluster, so nothing to look at: ${gateway.notServed.join(', ')}`);
    const frontendSelector = services.find((service) => service.metadata?.name === frontendService)?.spec?.selector;
    // A route to a Service that does not exist opens nothing; frontend-public names it as a broken route.
    const existing = new Set(services.map((service) => service.metadata?.name));
    const openings = [...serviceOpenings(services), ...routeOpenings(routes.filter((route) => existing.has(route.service))), ...podOpenings(pods, frontendSelector)];
    // A route kind the suite may not read could hide a route: the check cannot pass then.
    const forbidden = gateway.forbidden.length > 0 ? `RBAC forbids ${gateway.forbidden.join(', ')} in namespace ${namespace} (403), so those routes were not looked at; grant list on them as the Role in suites/README.md does` : undefined;
    if (openings.length > 0) {
      throw new CheckFailure(`open to the outside: ${openings.join('; ')}${forbidden ? `; ${forbidden}` : ''}`, 'every Service but the frontend ClusterIP, no route to it but /api to the backend, no backend pod on a host port or the host network', `${openings.length} opening(s)`);
    }
    if (forbidden) throw new CheckFailure(forbidden, 'list on every Gateway API route kind the cluster serves', gateway.forbidden.join(', '));
    const internal = services.filter((service) => service.metadata?.name !== frontendService).length;
    const api = routes.some((route) => route.service === apiService) ? `; ${apiPath} routed to ${apiService} as the contract allows` : '';
    rec.summary = `${internal} Services internal (ClusterIP, no external IPs), no public route to them, no backend pod on a host port or the host network${api}`;
  },
};

export const exposureChecks: Check[] = [internalCheck];
