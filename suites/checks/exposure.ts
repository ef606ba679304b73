// The plan's security requirements: the backend services are reachable only from inside the
// cluster, and the frontend is the one public entry. Every way the namespace's objects can
// open a Service to the outside is looked at: the Service's own type and external IPs,
// Ingress rules, and Gateway API HTTPRoutes where the cluster serves them. The contract
// allows one route besides the frontend's: `/api` to the backend through an Ingress.
import type * as k8s from '@kubernetes/client-node';
import { CheckFailure, type Check, type CheckContext } from '../lib/check.js';
import { apiStatus } from '../lib/errors.js';
import { frontendService } from './frontend.js';

const apiService = 'backend';
const apiPath = '/api';

interface Route {
  /** The object that opens the route, e.g. "Ingress todo-app". */
  via: string;
  host: string;
  path: string;
  service: string;
  port: string;
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
    if (fallback) routes.push({ via, host: '*', path: '(default backend)', service: fallback.name, port: String(fallback.port?.number ?? fallback.port?.name ?? '') });
    for (const rule of ingress.spec?.rules ?? []) {
      for (const path of rule.http?.paths ?? []) {
        const service = path.backend.service;
        if (!service) continue;
        routes.push({ via, host: rule.host ?? '*', path: path.path ?? '/', service: service.name, port: String(service.port?.number ?? service.port?.name ?? '') });
      }
    }
  }
  return routes;
}

interface HttpRoute {
  metadata?: { name?: string };
  spec?: {
    hostnames?: string[];
    rules?: { matches?: { path?: { value?: string } }[]; backendRefs?: { kind?: string; name: string; port?: number }[] }[];
  };
}

export function httpRouteRoutes(httpRoutes: HttpRoute[]): Route[] {
  const routes: Route[] = [];
  for (const route of httpRoutes) {
    const via = `HTTPRoute ${route.metadata?.name ?? '?'}`;
    const host = route.spec?.hostnames?.join(',') || '*';
    for (const rule of route.spec?.rules ?? []) {
      const paths = (rule.matches ?? []).map((match) => match.path?.value ?? '/');
      for (const ref of rule.backendRefs ?? []) {
        if (ref.kind && ref.kind !== 'Service') continue;
        for (const path of paths.length > 0 ? paths : ['/']) routes.push({ via, host, path, service: ref.name, port: String(ref.port ?? '') });
      }
    }
  }
  return routes;
}

/** A public route is fine to the frontend, and to the backend under /api (the contract's). */
export function routeOpenings(routes: Route[]): string[] {
  return routes
    .filter((route) => route.service !== frontendService)
    .filter((route) => !(route.service === apiService && (route.path === apiPath || route.path.startsWith(`${apiPath}/`))))
    .map((route) => `${route.via} routes ${route.host}${route.path} to Service ${route.service}${route.port ? `:${route.port}` : ''}`);
}

async function listHttpRoutes(ctx: CheckContext): Promise<HttpRoute[] | string> {
  try {
    const list = (await ctx.kube.custom.listNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace: ctx.config.namespace, plural: 'httproutes' })) as { items?: HttpRoute[] };
    return list.items ?? [];
  } catch (error) {
    if (apiStatus(error) === 404) return 'the cluster serves no Gateway API';
    throw error;
  }
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
    const httpRoutes = await listHttpRoutes(ctx);
    const routes = [...ingressRoutes(ingresses), ...(typeof httpRoutes === 'string' ? [] : httpRouteRoutes(httpRoutes))];
    for (const route of routes) rec.note(`${route.via}: ${route.host}${route.path} -> ${route.service}:${route.port}`);
    if (typeof httpRoutes === 'string') rec.note(`HTTPRoutes not looked at: ${httpRoutes}`);
    const openings = [...serviceOpenings(services), ...routeOpenings(routes)];
    if (openings.length > 0) {
      throw new CheckFailure(`open to the outside: ${openings.join('; ')}`, 'every Service but the frontend ClusterIP, no route to it but /api to the backend', `${openings.length} opening(s)`);
    }
    const internal = services.filter((service) => service.metadata?.name !== frontendService).length;
    const api = routes.some((route) => route.service === apiService) ? `; ${apiPath} routed to ${apiService} as the contract allows` : '';
    rec.summary = `${internal} Services internal (ClusterIP, no external IPs), no public route to them${api}`;
  },
};

export const exposureChecks: Check[] = [internalCheck];
