// backend-internal: every way a Service is opened to the outside is named, and the shipped
// charts open none but the frontend (and, with the frontend's apiRoute, /api to the backend).
import type * as k8s from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { httpRouteRoutes, ingressRoutes, routeOpenings, serviceOpenings } from '../../suites/checks/exposure.js';
import { ENVIRONMENTS, UMBRELLA_DIR, ensureUmbrellaDependencies, environmentValues, helmBinaries, render, type HelmBinary } from '../support/helm.js';

const service = (name: string, spec: k8s.V1ServiceSpec = {}): k8s.V1Service => ({ metadata: { name }, spec: { type: 'ClusterIP', ports: [{ port: 8000 }], ...spec } });
const ingress = (name: string, paths: { path: string; service: string }[], defaultBackend?: string): k8s.V1Ingress => ({
  metadata: { name },
  spec: {
    defaultBackend: defaultBackend ? { service: { name: defaultBackend, port: { number: 8000 } } } : undefined,
    rules: [{ host: 'todo.example.com', http: { paths: paths.map((p) => ({ path: p.path, pathType: 'Prefix', backend: { service: { name: p.service, port: { number: 80 } } } })) } }],
  },
});
const openingsOf = (services: k8s.V1Service[], ingresses: k8s.V1Ingress[] = []) => [...serviceOpenings(services), ...routeOpenings(ingressRoutes(ingresses))];

describe('backend-internal finds each kind of exposure, naming the object', () => {
  it('a backend Service of type NodePort', () => {
    expect(openingsOf([service('backend', { type: 'NodePort', ports: [{ port: 8000, nodePort: 30800 }] })])).toEqual(['Service backend is NodePort: 8000 (node port 30800) open on every node']);
  });

  it('a LoadBalancer in front of Kafka', () => {
    expect(openingsOf([service('kafka', { type: 'LoadBalancer', ports: [{ port: 9092, nodePort: 31092 }] })])).toEqual(['Service kafka is LoadBalancer: 9092 (node port 31092) open on every node and on the load balancer']);
  });

  it('external IPs on a ClusterIP Service', () => {
    expect(openingsOf([service('notification-service', { externalIPs: ['203.0.113.7'] })])).toEqual(['Service notification-service has externalIPs 203.0.113.7']);
  });

  it('an Ingress path or default backend to a backend service', () => {
    expect(openingsOf([], [ingress('todo', [{ path: '/', service: 'frontend' }, { path: '/notifications', service: 'notification-service' }], 'recurring-task-service')])).toEqual([
      'Ingress todo routes *(default backend) to Service recurring-task-service:8000',
      'Ingress todo routes todo.example.com/notifications to Service notification-service:80',
    ]);
  });

  it('an Ingress path to the backend other than /api', () => {
    expect(openingsOf([], [ingress('todo', [{ path: '/admin', service: 'backend' }, { path: '/apiary', service: 'backend' }])])).toHaveLength(2);
  });

  it('an HTTPRoute to a backend service', () => {
    const routes = httpRouteRoutes([{ metadata: { name: 'todo' }, spec: { hostnames: ['todo.example.com'], rules: [{ matches: [{ path: { value: '/tasks' } }], backendRefs: [{ name: 'recurring-task-service', port: 8001 }] }] } }]);
    expect(routeOpenings(routes)).toEqual(['HTTPRoute todo routes todo.example.com/tasks to Service recurring-task-service:8001']);
  });

  it('leaves alone the frontend, ClusterIP Services and the contract\'s /api route to the backend', () => {
    expect(openingsOf(
      [service('frontend', { type: 'LoadBalancer' }), service('backend'), service('kafka-headless', { clusterIP: 'None' })],
      [ingress('todo', [{ path: '/', service: 'frontend' }, { path: '/api', service: 'backend' }])],
    )).toEqual([]);
  });
});

describe.each(helmBinaries().slice(0, 1))('backend-internal on the shipped charts ($label)', (binary: HelmBinary) => {
  beforeAll(() => ensureUmbrellaDependencies(binary), 120_000);

  it.each(ENVIRONMENTS)('opens nothing but the frontend in %s, with the Ingress and its /api route on', async (environment) => {
    const { objects } = await render(binary, UMBRELLA_DIR, {
      valuesFiles: environmentValues(environment),
      set: { 'frontend.ingress.enabled': true, 'frontend.ingress.apiRoute.enabled': true },
    });
    const services = objects.filter((object) => object.kind === 'Service') as unknown as k8s.V1Service[];
    const ingresses = objects.filter((object) => object.kind === 'Ingress') as unknown as k8s.V1Ingress[];
    expect(services.length).toBeGreaterThanOrEqual(6);
    expect(ingresses).toHaveLength(1);
    expect(openingsOf(services, ingresses)).toEqual([]);
  });
});
