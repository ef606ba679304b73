// Criterion 3: the frontend's public address answers 200; and the load target: the page
// loads in Chromium under 3 s over several loads, with TTFB, DOMContentLoaded, load and LCP.
import type * as k8s from '@kubernetes/client-node';
import type { Endpoint } from '../lib/access.js';
import { CheckFailure, CheckSkip, type Check, type CheckContext, type Recorder } from '../lib/check.js';
import { readService } from '../lib/cluster.js';
import { http, percentile, snippet, type HttpResult } from '../lib/http.js';
import { oneLine } from '../lib/errors.js';
import { testUserId, tokenFor } from '../lib/todo-api.js';
import { isForbidden } from '../lib/errors.js';
import { sleep } from '../lib/wait.js';
import { ingressRoutes } from './exposure.js';

export const frontendService = 'frontend';
export const chromiumPath = process.env.TODO_SUITE_CHROMIUM ?? '/usr/bin/chromium';
export const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

/** The public address from the cluster's own objects, or why there is none. */
export async function publicAddress(ctx: CheckContext): Promise<{ url: string; source: string } | { none: string }> {
  if (ctx.config.frontendUrl) return { url: ctx.config.frontendUrl, source: 'given' };
  const svc: k8s.V1Service | undefined = await readService(ctx, frontendService);
  if (!svc) throw new CheckFailure(`Service ${frontendService} does not exist`, `Service ${frontendService}`, 'absent');
  const port = svc.spec?.ports?.[0];
  if (svc.spec?.type === 'LoadBalancer') {
    const ingress = svc.status?.loadBalancer?.ingress?.[0];
    const host = ingress?.hostname ?? ingress?.ip;
    if (host) return { url: `http://${host}${port?.port && port.port !== 80 ? `:${port.port}` : ''}`, source: `LoadBalancer ${frontendService}` };
  }
  const ingresses = await ctx.kube.networking.listNamespacedIngress({ namespace: ctx.config.namespace });
  for (const ingress of ingresses.items) {
    const routes = (ingress.spec?.rules ?? []).some((rule) => (rule.http?.paths ?? []).some((p) => p.backend.service?.name === frontendService));
    const lb = ingress.status?.loadBalancer?.ingress?.[0];
    const host = ingress.spec?.rules?.find((r) => r.host)?.host ?? lb?.hostname ?? lb?.ip;
    if (routes && host && lb) {
      const tls = (ingress.spec?.tls ?? []).length > 0;
      return { url: `${tls ? 'https' : 'http'}://${host}`, source: `Ingress ${ingress.metadata?.name}` };
    }
  }
  // A NodePort (also the one every LoadBalancer Service has) is public on the nodes'
  // addresses: ExternalIP where the cloud gives one, else InternalIP, which is what
  // minikube and the sandbox (127.0.0.1) clients reach.
  const type = svc.spec?.type;
  if ((type === 'NodePort' || type === 'LoadBalancer') && port?.nodePort) {
    const nodes = await ctx.kube.core.listNode();
    const addresses = nodes.items.flatMap((n) => n.status?.addresses ?? []);
    const address = addresses.find((a) => a.type === 'ExternalIP') ?? addresses.find((a) => a.type === 'InternalIP');
    const pending = type === 'LoadBalancer' ? 'LoadBalancer without an external address, through its ' : '';
    if (address) return { url: `http://${address.address}:${port.nodePort}`, source: `${pending}NodePort ${port.nodePort} on node ${address.type} ${address.address}` };
    return { none: `Service ${frontendService} is ${type} (NodePort ${port.nodePort}) but no node reports an address; pass --frontend-url` };
  }
  if (type === 'LoadBalancer') {
    return { none: `Service ${frontendService} is a LoadBalancer that has no external address yet (the cluster has no load-balancer controller); pass --frontend-url` };
  }
  return { none: `Service ${frontendService} is ${svc.spec?.type ?? 'ClusterIP'} and no Ingress with an address routes to it; pass --frontend-url` };
}

/** One line per Ingress route whose Service does not exist: a public route that leads nowhere. */
export function brokenIngressRoutes(ingresses: k8s.V1Ingress[], services: k8s.V1Service[], namespace: string): string[] {
  const names = new Set(services.map((service) => service.metadata?.name));
  return ingressRoutes(ingresses).filter((route) => !names.has(route.service))
    .map((route) => `${route.via} routes ${route.host}${route.path} to Service ${route.service}, which does not exist in ${namespace}`);
}

/** LoadBalancer Services elsewhere in the cluster that have an address: the cluster serves load balancers. */
export function servedLoadBalancers(services: k8s.V1Service[]): string[] {
  return services.filter((service) => service.spec?.type === 'LoadBalancer')
    .flatMap((service) => {
      const ingress = service.status?.loadBalancer?.ingress?.[0];
      const address = ingress?.ip ?? ingress?.hostname;
      return address ? [`${service.metadata?.namespace}/${service.metadata?.name} at ${address}`] : [];
    });
}

// How long a LoadBalancer frontend may wait for its address where the cluster serves load
// balancers. `helm upgrade --wait` waits for it already; a cloud's takes a minute or two.
const loadBalancerWaitMs = 30_000;

/**
 * A LoadBalancer frontend without an address, on a cluster whose load-balancer controller
 * gives other Services theirs, is a fault (a pool exhausted, an address it may not have),
 * not a cluster without load balancers: after a bounded wait, the reason; else undefined.
 */
async function pendingLoadBalancer(ctx: CheckContext): Promise<string | undefined> {
  const deadline = Date.now() + loadBalancerWaitMs;
  for (;;) {
    const svc = await readService(ctx, frontendService);
    if (svc?.spec?.type !== 'LoadBalancer' || (svc.status?.loadBalancer?.ingress ?? []).length > 0) return undefined;
    let others: string[];
    try {
      others = servedLoadBalancers((await ctx.kube.core.listServiceForAllNamespaces()).items);
    } catch (error) {
      if (isForbidden(error)) return undefined;
      throw error;
    }
    if (others.length === 0) return undefined;
    if (Date.now() >= deadline) {
      return `Service ${frontendService} is a LoadBalancer still without an address after ${loadBalancerWaitMs / 1000} s, while the cluster's load-balancer controller serves ${others.slice(0, 3).join(', ')}; see: kubectl -n ${ctx.config.namespace} describe service ${frontendService}`;
    }
    await sleep(2_000, ctx.signal);
  }
}

/** Each Ingress with an address that routes to the frontend, fetched through that address. */
async function ingressEntries(ctx: CheckContext, rec: Recorder, chosen: string): Promise<string[]> {
  const ingresses = (await ctx.kube.networking.listNamespacedIngress({ namespace: ctx.config.namespace })).items;
  const services = (await ctx.kube.core.listNamespacedService({ namespace: ctx.config.namespace })).items;
  const faults = brokenIngressRoutes(ingresses, services, ctx.config.namespace);
  for (const ingress of ingresses) {
    const lb = ingress.status?.loadBalancer?.ingress?.[0];
    const address = lb?.ip ?? lb?.hostname;
    const rule = (ingress.spec?.rules ?? []).find((entry) => (entry.http?.paths ?? []).some((path) => path.backend.service?.name === frontendService));
    if (!address || !rule || chosen === `Ingress ${ingress.metadata?.name}`) continue;
    const url = `http://${address}/`;
    try {
      const response = await fetch(url, { headers: rule.host ? { host: rule.host } : {}, signal: AbortSignal.timeout(ctx.config.limits.httpTimeoutMs) });
      await response.text();
      rec.note(`GET ${url}${rule.host ? ` (Host ${rule.host})` : ''} through Ingress ${ingress.metadata?.name}: ${response.status}`);
      if (response.status !== 200) faults.push(`GET ${url} through Ingress ${ingress.metadata?.name} answered ${response.status}`);
    } catch (error) {
      faults.push(`GET ${url} through Ingress ${ingress.metadata?.name} failed: ${oneLine(error)}`);
    }
  }
  return faults;
}

const publicCheck: Check = {
  id: 'frontend-public',
  title: 'The frontend public address answers 200',
  group: 'frontend',
  criterion: '3. Frontend public address answers 200',
  async run(ctx, rec) {
    const pending = ctx.config.frontendUrl ? undefined : await pendingLoadBalancer(ctx);
    if (pending) throw new CheckFailure(pending, 'a LoadBalancer address', 'pending');
    const address = await publicAddress(ctx);
    if ('none' in address) throw new CheckSkip(address.none);
    const started = performance.now();
    let response: Response;
    try {
      response = await fetch(address.url, { signal: AbortSignal.timeout(ctx.config.limits.httpTimeoutMs), redirect: 'follow' });
    } catch (error) {
      throw new CheckFailure(`GET ${address.url} (${address.source}) failed: ${oneLine(error)}`, '200', 'no answer');
    }
    const text = await response.text();
    const ms = performance.now() - started;
    rec.measure('response time', ms, 'ms', ctx.config.limits.frontendLoadMs);
    rec.note(`GET ${address.url} (${address.source}): ${response.status} ${snippet(text, 120)}`);
    if (response.status !== 200) throw new CheckFailure(`GET ${address.url} (${address.source}) answered ${response.status}`, '200', `${response.status}`);
    const ingressFaults = ctx.config.frontendUrl ? [] : await ingressEntries(ctx, rec, address.source);
    if (ingressFaults.length > 0) throw new CheckFailure(ingressFaults.join('; '), 'every public route answering 200', 'a broken route');
    rec.summary = `${address.url} (${address.source}) answered 200 in ${ms.toFixed(0)} ms`;
  },
};

// The contract: browsers never reach the backend; the frontend proxies /api/* to it
// server-side (or an Ingress routes /api to it). A list of a fresh user's tasks, signed as
// that user, proves the public path reaches the backend and the backend its database.
const apiRouteCheck: Check = {
  id: 'frontend-api-route',
  title: 'The public address routes /api to the backend',
  group: 'frontend',
  criterion: '3. Frontend public address answers 200',
  after: ['frontend-public'],
  async run(ctx, rec) {
    const address = await publicAddress(ctx);
    if ('none' in address) throw new CheckSkip(address.none);
    const user = testUserId(ctx.runId);
    const path = `/api/${user}/tasks`;
    const endpoint = { url: address.url.replace(/\/$/, ''), via: address.source };
    let answer: HttpResult;
    try {
      answer = await http(endpoint, path, { token: tokenFor(user, await ctx.shared.jwtSecret()), timeoutMs: ctx.config.limits.httpTimeoutMs });
    } catch (error) {
      throw new CheckFailure(oneLine(error), '200 and a list', 'no answer');
    }
    rec.measure('response time', answer.ms, 'ms', ctx.config.limits.crudP95Ms);
    rec.note(`GET ${endpoint.url}${path} (${address.source}): ${answer.status} ${snippet(answer.text, 200)}`);
    if (answer.status !== 200) {
      const cause = answer.status === 502 || answer.status === 504 ? '; the frontend cannot reach the backend (see the frontend\'s log and its BACKEND_URL)' : '';
      throw new CheckFailure(`GET /api/{user}/tasks through ${address.url} answered ${answer.status} ${snippet(answer.text, 120)}${cause}`, '200 and a list', `${answer.status}`);
    }
    if (!Array.isArray(answer.json)) throw new CheckFailure(`GET /api/{user}/tasks through ${address.url} answered 200 but not a JSON list: ${snippet(answer.text, 120)}`, 'a JSON list', 'other');
    rec.summary = `GET /api/{user}/tasks through ${address.url} reached the backend: 200, a list, in ${answer.ms.toFixed(0)} ms`;
  },
};

interface LoadTiming {
  status: number;
  ttfb: number;
  domContentLoaded: number;
  load: number;
  lcp: number;
}

/** The public address, or the frontend Service through the suite's access when there is none. */
export async function frontendEndpoint(ctx: CheckContext, rec: Recorder): Promise<Endpoint> {
  const address = await publicAddress(ctx).catch(() => undefined);
  if (address && 'url' in address) return { url: address.url.replace(/\/$/, ''), via: address.source };
  const endpoint = await ctx.access.service(frontendService, 80);
  rec.note(`frontend reached via ${endpoint.via} (no public address)`);
  return endpoint;
}

const loadCheck: Check = {
  id: 'frontend-load',
  title: 'The frontend loads in Chromium under the limit',
  group: 'performance',
  criterion: 'Targets: frontend load < 3 s',
  after: ['frontend-public', 'api-crud-latency', 'recurring-next-task'],
  retryable: true,
  async run(ctx, rec) {
    const { frontendLoads, frontendLoadMs } = ctx.config.limits;
    const { url } = await frontendEndpoint(ctx, rec);
    const { chromium } = await import('playwright-core');
    let browser;
    try {
      browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true, timeout: 30_000 });
    } catch (error) {
      throw new CheckSkip(`Chromium at ${chromiumPath} cannot start: ${oneLine(error)}`);
    }
    const timings: LoadTiming[] = [];
    try {
      for (let i = 0; i < frontendLoads; i += 1) {
        const context = await browser.newContext();
        const page = await context.newPage();
        try {
          await page.addInitScript(() => {
            const store = globalThis as unknown as { __lcp: number };
            store.__lcp = 0;
            new PerformanceObserver((list) => {
              for (const entry of list.getEntries()) store.__lcp = Math.max(store.__lcp, entry.startTime);
            }).observe({ type: 'largest-contentful-paint', buffered: true });
          });
          const response = await page.goto(url, { waitUntil: 'load', timeout: Math.max(frontendLoadMs * 3, 10_000) });
          const timing = await page.evaluate(() => {
            const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
            const lcp = (globalThis as unknown as { __lcp: number }).__lcp;
            return nav ? { ttfb: nav.responseStart, domContentLoaded: nav.domContentLoadedEventEnd, load: nav.loadEventEnd || nav.duration, lcp } : undefined;
          });
          const status = response?.status() ?? 0;
          if (!timing) throw new CheckFailure('the page exposed no navigation timing', 'navigation timing', 'none');
          timings.push({ status, ...timing });
          if (status !== 200) throw new CheckFailure(`frontend answered ${status} on load ${i + 1}`, '200', `${status}`);
        } finally {
          await context.close();
        }
      }
    } finally {
      await browser.close();
    }
    const load = timings.map((t) => t.load);
    rec.addSeries('load event', 'ms', load, frontendLoadMs);
    rec.addSeries('TTFB', 'ms', timings.map((t) => t.ttfb));
    rec.addSeries('DOMContentLoaded', 'ms', timings.map((t) => t.domContentLoaded));
    rec.addSeries('LCP', 'ms', timings.map((t) => t.lcp));
    rec.measure('TTFB p50', percentile(timings.map((t) => t.ttfb), 50), 'ms');
    rec.measure('DOMContentLoaded p50', percentile(timings.map((t) => t.domContentLoaded), 50), 'ms');
    rec.measure('LCP p50', percentile(timings.map((t) => t.lcp), 50), 'ms');
    rec.measure('load max', Math.max(...load), 'ms', frontendLoadMs);
    const slow = load.filter((ms) => ms > frontendLoadMs);
    if (slow.length > 0) throw new CheckFailure(`${slow.length} of ${load.length} loads took longer than ${frontendLoadMs} ms (slowest ${Math.max(...load).toFixed(0)} ms)`, `load < ${frontendLoadMs} ms`, `${Math.max(...load).toFixed(0)} ms`);
    rec.summary = `${load.length} loads of ${url}: slowest ${Math.max(...load).toFixed(0)} ms (limit ${frontendLoadMs} ms)`;
  },
};

export const frontendChecks: Check[] = [publicCheck, apiRouteCheck];
export const frontendLoadChecks: Check[] = [loadCheck];
