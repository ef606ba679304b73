import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { brokenIngressRoutes, publicAddress, servedLoadBalancers } from '../../suites/checks/frontend.js';
import type { CheckContext } from '../../suites/lib/check.js';

function ctx(service: k8s.V1Service, options: { ingresses?: k8s.V1Ingress[]; nodes?: k8s.V1Node[]; frontendUrl?: string } = {}): CheckContext {
  return {
    config: { namespace: 'todo-app', frontendUrl: options.frontendUrl },
    kube: {
      core: {
        readNamespacedService: async () => service,
        listNode: async () => ({ items: options.nodes ?? [] }),
      },
      networking: { listNamespacedIngress: async () => ({ items: options.ingresses ?? [] }) },
    },
  } as unknown as CheckContext;
}

const port = { name: 'http', port: 80, nodePort: 30080 };

describe('publicAddress', () => {
  it('prefers a given URL', async () => {
    expect(await publicAddress(ctx({}, { frontendUrl: 'http://127.0.0.1:3000' }))).toEqual({ url: 'http://127.0.0.1:3000', source: 'given' });
  });

  it('uses the LoadBalancer address', async () => {
    const svc: k8s.V1Service = { spec: { type: 'LoadBalancer', ports: [port] }, status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } };
    expect(await publicAddress(ctx(svc))).toEqual({ url: 'http://203.0.113.7', source: 'LoadBalancer frontend' });
  });

  it('uses an Ingress with an address that routes to the frontend', async () => {
    const svc: k8s.V1Service = { spec: { type: 'ClusterIP', ports: [{ port: 80 }] } };
    const ingress: k8s.V1Ingress = {
      metadata: { name: 'web' },
      spec: { tls: [{ hosts: ['todo.example'] }], rules: [{ host: 'todo.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'frontend', port: { number: 80 } } } }] } }] },
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.8' }] } },
    };
    expect(await publicAddress(ctx(svc, { ingresses: [ingress] }))).toEqual({ url: 'https://todo.example', source: 'Ingress web' });
  });

  it('falls back to a NodePort on the node ExternalIP, else InternalIP, naming a pending LoadBalancer', async () => {
    const nodes: k8s.V1Node[] = [{ status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }] } }];
    const pending: k8s.V1Service = { spec: { type: 'LoadBalancer', ports: [port] }, status: {} };
    expect(await publicAddress(ctx(pending, { nodes }))).toEqual({ url: 'http://127.0.0.1:30080', source: 'LoadBalancer without an external address, through its NodePort 30080 on node InternalIP 127.0.0.1' });
    const external: k8s.V1Node[] = [{ status: { addresses: [{ type: 'InternalIP', address: '10.0.0.4' }, { type: 'ExternalIP', address: '198.51.100.2' }] } }];
    expect(await publicAddress(ctx({ spec: { type: 'NodePort', ports: [port] } }, { nodes: external }))).toMatchObject({ url: 'http://198.51.100.2:30080' });
  });

  it('says why there is no public address', async () => {
    const result = await publicAddress(ctx({ spec: { type: 'ClusterIP', ports: [{ port: 80 }] } }));
    expect(result).toEqual({ none: 'Service frontend is ClusterIP and no Ingress with an address routes to it; pass --frontend-url' });
  });
});

describe('frontend-public beyond the first address', () => {
  const service = (name: string, namespace = 'todo-app', spec: k8s.V1ServiceSpec = {}, address?: string): k8s.V1Service => ({
    metadata: { name, namespace }, spec: { type: 'ClusterIP', ...spec }, status: address ? { loadBalancer: { ingress: [{ ip: address }] } } : {},
  });

  it('names an Ingress route whose Service does not exist', () => {
    const ingress: k8s.V1Ingress = { metadata: { name: 'frontend' }, spec: { rules: [{ host: 'todo.example.com', http: { paths: [
      { path: '/', pathType: 'Prefix', backend: { service: { name: 'frontend-typo', port: { number: 80 } } } },
      { path: '/api', pathType: 'Prefix', backend: { service: { name: 'backend', port: { number: 8000 } } } },
    ] } }] } };
    expect(brokenIngressRoutes([ingress], [service('frontend'), service('backend')], 'todo-app'))
      .toEqual(['Ingress frontend routes todo.example.com/ to Service frontend-typo, which does not exist in todo-app']);
    expect(brokenIngressRoutes([ingress], [service('frontend-typo'), service('backend')], 'todo-app')).toEqual([]);
  });

  it('tells a cluster that serves load balancers by the addresses other Services have', () => {
    expect(servedLoadBalancers([
      service('traefik', 'traefik', { type: 'LoadBalancer' }, '10.220.0.240'),
      service('frontend', 'todo-app', { type: 'LoadBalancer' }),
      service('backend'),
    ])).toEqual(['traefik/traefik at 10.220.0.240']);
    expect(servedLoadBalancers([service('frontend', 'todo-app', { type: 'LoadBalancer' })])).toEqual([]);
  });
});
