// backend-internal: every way a Service is opened to the outside is named, and the shipped
// charts open none but the frontend (and, with the frontend's apiRoute, /api to the backend).
import type * as k8s from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { exposureChecks, gatewayRouteRoutes, httpRouteRoutes, ingressRoutes, listGatewayRoutes, podOpenings, routeOpenings, serviceOpenings, type GatewayRoute, type RouteLister } from '../../suites/checks/exposure.js';
import { CheckFailure, Recorder, type CheckContext } from '../../suites/lib/check.js';
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

  it('a GRPCRoute, a TLSRoute and a TCPRoute to a backend service', () => {
    const grpc = gatewayRouteRoutes('GRPCRoute', [{ metadata: { name: 'tasks-grpc' }, spec: { hostnames: ['grpc.example.com'], rules: [{ matches: [{ method: { service: 'todo.Tasks' } }], backendRefs: [{ name: 'backend', port: 9000 }] }] } }]);
    const tls = gatewayRouteRoutes('TLSRoute', [{ metadata: { name: 'kafka-tls' }, spec: { hostnames: ['kafka.example.com'], rules: [{ backendRefs: [{ name: 'kafka', port: 9093 }] }] } }]);
    const tcp = gatewayRouteRoutes('TCPRoute', [{ metadata: { name: 'kafka-tcp' }, spec: { rules: [{ backendRefs: [{ name: 'kafka', port: 9092 }] }] } }]);
    expect(routeOpenings([...grpc, ...tls, ...tcp])).toEqual([
      'GRPCRoute tasks-grpc routes grpc.example.com gRPC /todo.Tasks/* to Service backend:9000',
      'TLSRoute kafka-tls routes kafka.example.com (TLS) to Service kafka:9093',
      'TCPRoute kafka-tcp routes TCP connections to Service kafka:9092',
    ]);
  });

  it('the /api exception is HTTP only: a gRPC service named api to the backend is an opening', () => {
    const grpc = gatewayRouteRoutes('GRPCRoute', [{ metadata: { name: 'g' }, spec: { rules: [{ matches: [{ method: { service: 'api', method: 'List' } }], backendRefs: [{ name: 'backend', port: 8000 }] }] } }]);
    expect(routeOpenings(grpc)).toEqual(['GRPCRoute g routes * gRPC /api/List to Service backend:8000']);
  });

  it('a route to a Service of another namespace, or to another kind, is not one of these Services', () => {
    const route: GatewayRoute = { metadata: { name: 'x' }, spec: { rules: [{ backendRefs: [{ name: 'backend', namespace: 'elsewhere', port: 1 }, { kind: 'Bucket', name: 'kafka' }, { name: 'kafka', namespace: 'todo-app', port: 2 }] }] } };
    expect(routeOpenings(gatewayRouteRoutes('TCPRoute', [route], 'todo-app'))).toEqual(['TCPRoute x routes TCP connections to Service kafka:2']);
  });

  it('a backend pod with a hostPort, or on the host network, named by its workload and pods', () => {
    const replica = (name: string, spec: k8s.V1PodSpec, owner = { kind: 'ReplicaSet', name: 'backend-5f7c9' }): k8s.V1Pod => ({
      metadata: { name, labels: { app: owner.name.split('-')[0] ?? '', 'pod-template-hash': '5f7c9' }, ownerReferences: [{ apiVersion: 'apps/v1', controller: true, uid: 'u', ...owner }] },
      spec,
      status: { phase: 'Running' },
    });
    const hostPort: k8s.V1PodSpec = { containers: [{ name: 'backend', ports: [{ containerPort: 8000, hostPort: 8000 }] }, { name: 'daprd', ports: [{ containerPort: 3500 }] }] };
    expect(podOpenings([replica('backend-5f7c9-a', hostPort), replica('backend-5f7c9-b', hostPort)], { app: 'frontend' })).toEqual([
      'Deployment backend (pods backend-5f7c9-a, backend-5f7c9-b) binds host port 8000 of its node to container backend port 8000/TCP',
    ]);
    const kafka = replica('kafka-0', { hostNetwork: true, containers: [{ name: 'kafka', ports: [{ containerPort: 9092 }, { containerPort: 9093 }] }] }, { kind: 'StatefulSet', name: 'kafka' });
    expect(podOpenings([kafka], undefined)).toEqual(["StatefulSet kafka (pod kafka-0) uses hostNetwork: ports kafka 9092/TCP, kafka 9093/TCP are open on its node's addresses"]);
    const bare: k8s.V1Pod = { metadata: { name: 'debug' }, spec: { hostNetwork: true, containers: [{ name: 'sh' }] } };
    expect(podOpenings([bare], undefined)).toEqual(["Pod debug uses hostNetwork: every port it listens on is open on its node's addresses"]);
  });

  it('leaves alone the frontend\'s pods, pods that have finished, and container ports without a hostPort', () => {
    const frontend: k8s.V1Pod = { metadata: { name: 'frontend-1', labels: { app: 'frontend' } }, spec: { containers: [{ name: 'web', ports: [{ containerPort: 3000, hostPort: 80 }] }] } };
    const done: k8s.V1Pod = { metadata: { name: 'migrate-1' }, spec: { hostNetwork: true, containers: [{ name: 'm' }] }, status: { phase: 'Succeeded' } };
    const plain: k8s.V1Pod = { metadata: { name: 'backend-1' }, spec: { containers: [{ name: 'backend', ports: [{ containerPort: 8000 }] }] } };
    expect(podOpenings([frontend, done, plain], { app: 'frontend' })).toEqual([]);
  });

  it('leaves alone the frontend, ClusterIP Services and the contract\'s /api route to the backend', () => {
    expect(openingsOf(
      [service('frontend', { type: 'LoadBalancer' }), service('backend'), service('kafka-headless', { clusterIP: 'None' })],
      [ingress('todo', [{ path: '/', service: 'frontend' }, { path: '/api', service: 'backend' }])],
    )).toEqual([]);
  });
});

const status = (code: number) => Object.assign(new Error(`HTTP-Code: ${code}`), { code });

/** A cluster serving the Gateway API route kinds `served` holds at the given versions, with `routes` in the namespace. */
function lister(served: Record<string, string[]>, routes: Record<string, GatewayRoute[] | number> = {}): RouteLister & { listed: string[] } {
  const listed: string[] = [];
  return {
    listed,
    async getAPIResources({ version }) {
      const plurals = served[version];
      if (!plurals) throw status(404);
      return { resources: plurals.map((name) => ({ name })) };
    },
    async listNamespacedCustomObject({ version, plural }) {
      listed.push(`${plural}/${version}`);
      const answer = routes[plural] ?? [];
      if (typeof answer === 'number') throw status(answer);
      return { items: answer };
    },
  };
}

describe('backend-internal reads every Gateway API route kind the cluster serves', () => {
  const toKafka: GatewayRoute[] = [{ metadata: { name: 'r' }, spec: { rules: [{ backendRefs: [{ name: 'kafka', port: 9092 }] }] } }];

  it('lists each kind at the first version the cluster serves it at', async () => {
    const custom = lister({ v1: ['httproutes', 'grpcroutes', 'gateways'], v1beta1: ['httproutes'], v1alpha2: ['tlsroutes', 'tcproutes', 'grpcroutes'] }, { tcproutes: toKafka });
    const found = await listGatewayRoutes(custom, 'todo-app');
    expect(custom.listed).toEqual(['httproutes/v1', 'grpcroutes/v1', 'tlsroutes/v1alpha2', 'tcproutes/v1alpha2']);
    expect(found.notServed).toEqual([]);
    expect(routeOpenings(found.routes)).toEqual(['TCPRoute r routes TCP connections to Service kafka:9092']);
  });

  it('skips quietly the kinds the cluster does not serve, and lists nothing where it serves no Gateway API', async () => {
    const some = lister({ v1: ['httproutes', 'grpcroutes'] });
    expect(await listGatewayRoutes(some, 'todo-app')).toEqual({ routes: [], notServed: ['TLSRoute', 'TCPRoute'], forbidden: [] });
    const none = lister({});
    expect(await listGatewayRoutes(none, 'todo-app')).toEqual({ routes: [], notServed: ['HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute'], forbidden: [] });
    expect(none.listed).toEqual([]);
  });

  const checkContext = (custom: RouteLister, pods: k8s.V1Pod[] = []): CheckContext =>
    ({
      config: { namespace: 'todo-app' },
      kube: {
        core: { listNamespacedService: async () => ({ items: [service('frontend', { type: 'LoadBalancer', selector: { app: 'frontend' } }), service('backend'), service('kafka')] }), listNamespacedPod: async () => ({ items: pods }) },
        networking: { listNamespacedIngress: async () => ({ items: [] }) },
        custom,
      },
    }) as unknown as CheckContext;
  const run = async (ctx: CheckContext) => {
    const check = exposureChecks[0];
    if (!check) throw new Error('no backend-internal check');
    const rec = new Recorder();
    try {
      await check.run(ctx, rec);
      return `pass: ${rec.summary}`;
    } catch (error) {
      expect(error).toBeInstanceOf(CheckFailure);
      return (error as Error).message;
    }
  };

  it('fails in one line naming the permission when RBAC forbids a route kind it must read', async () => {
    const custom = lister({ v1: ['httproutes', 'grpcroutes'], v1alpha2: ['tcproutes'] }, { grpcroutes: 403, tcproutes: 403 });
    expect(await run(checkContext(custom))).toBe(
      'RBAC forbids list grpcroutes.gateway.networking.k8s.io, list tcproutes.gateway.networking.k8s.io in namespace todo-app (403), so those routes were not looked at; grant list on them as the Role in suites/README.md does',
    );
  });

  it('turns red on a route or a host port, and stays green on a namespace with neither', async () => {
    expect(await run(checkContext(lister({ v1alpha2: ['tlsroutes'] }, { tlsroutes: toKafka })))).toBe('open to the outside: TLSRoute r routes * (TLS) to Service kafka:9092');
    const onHost: k8s.V1Pod = { metadata: { name: 'backend-x' }, spec: { containers: [{ name: 'backend', ports: [{ containerPort: 8000, hostPort: 30000 }] }] } };
    expect(await run(checkContext(lister({}), [onHost]))).toBe('open to the outside: Pod backend-x binds host port 30000 of its node to container backend port 8000/TCP');
    expect(await run(checkContext(lister({ v1: ['httproutes'] })))).toMatch(/^pass: 2 Services internal/);
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
    // Every workload's pods as they would run: none on a host port or the host network.
    const workloads = objects.filter((object) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(object.kind));
    expect(workloads.length).toBeGreaterThanOrEqual(4);
    const pods = workloads.map((object) => {
      const template = (object as unknown as { spec: { template: { metadata?: k8s.V1ObjectMeta; spec: k8s.V1PodSpec } } }).spec.template;
      return { metadata: { ...template.metadata, name: object.metadata.name }, spec: template.spec } as k8s.V1Pod;
    });
    const frontend = services.find((object) => object.metadata?.name === 'frontend');
    expect(podOpenings(pods, frontend?.spec?.selector)).toEqual([]);
  });
});

describe('backend-internal and routes that lead nowhere', () => {
  it('leaves a route to a Service that does not exist to frontend-public', async () => {
    const toMissing: k8s.V1Ingress = { metadata: { name: 'frontend' }, spec: { rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'frontend-typo', port: { number: 80 } } } }] } }] } };
    const ctx = {
      config: { namespace: 'todo-app' },
      kube: {
        core: { listNamespacedService: async () => ({ items: [service('frontend', { type: 'LoadBalancer' }), service('backend')] }), listNamespacedPod: async () => ({ items: [] }) },
        networking: { listNamespacedIngress: async () => ({ items: [toMissing] }) },
        custom: { getAPIResources: async () => ({ resources: [] }) },
      },
    } as unknown as CheckContext;
    const check = exposureChecks[0];
    if (!check) throw new Error('no backend-internal check');
    const rec = new Recorder();
    await check.run(ctx, rec);
    expect(rec.summary).toMatch(/^1 Services internal/);
  });
});
