/**
 * Typed views of the rendered objects the chart tests look into, and a small evaluator of
 * NetworkPolicy ingress rules (the subset the charts use: pod, namespace and ipBlock peers,
 * named and numbered ports).
 */
import type { K8sObject } from '../support/helm.js';

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}

export interface Probe {
  httpGet?: { path?: string; port: string | number };
  tcpSocket?: { port: string | number };
  exec?: { command: string[] };
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string; optional?: boolean }; secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsNonRoot?: boolean;
    runAsUser?: number;
    runAsGroup?: number;
    capabilities?: { drop?: string[] };
  };
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    runAsGroup?: number;
    seccompProfile?: { type: string };
    sysctls?: { name: string; value: string }[];
  };
  automountServiceAccountToken?: boolean;
  topologySpreadConstraints?: { topologyKey: string; labelSelector?: { matchLabels?: Record<string, string> } }[];
}

export interface PodTemplate {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}

export interface Workload extends K8sObject {
  spec: {
    replicas?: number;
    selector?: { matchLabels: Record<string, string> };
    strategy?: { type: string; rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string } };
    template: PodTemplate;
    volumeClaimTemplates?: { metadata: { name: string }; spec: { resources: { requests: { storage: string } } } }[];
  };
}

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'Job'] as const;

export function workloads(objects: K8sObject[]): Workload[] {
  return objects.filter((object): object is Workload =>
    (WORKLOAD_KINDS as readonly string[]).includes(object.kind),
  );
}

export function podTemplate(object: K8sObject): PodTemplate {
  if (object.kind === 'Pod') {
    return { metadata: object.metadata, spec: object.spec as PodSpec };
  }
  return (object as Workload).spec.template;
}

/** Every pod-producing object: workloads and bare Pods (`helm test` hooks). */
export function podOwners(objects: K8sObject[]): K8sObject[] {
  return objects.filter((object) => object.kind === 'Pod' || (WORKLOAD_KINDS as readonly string[]).includes(object.kind));
}

export function allContainers(object: K8sObject): Container[] {
  const spec = podTemplate(object).spec;
  return [...(spec.initContainers ?? []), ...spec.containers];
}

// --- NetworkPolicy ---------------------------------------------------------------------

interface LabelSelector {
  matchLabels?: Record<string, string>;
}

interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

interface PolicyPort {
  port?: number | string;
  protocol?: string;
}

export interface NetworkPolicy extends K8sObject {
  spec: {
    podSelector: LabelSelector;
    policyTypes?: string[];
    ingress?: { from?: PolicyPeer[]; ports?: PolicyPort[] }[];
  };
}

export interface TargetPod {
  namespace: string;
  labels: Record<string, string>;
  /** Named container ports, to resolve named policy ports. */
  ports: Record<string, number>;
}

export type Source =
  | { kind: 'pod'; namespace: string; labels: Record<string, string>; namespaceLabels: Record<string, string> }
  | { kind: 'external'; ip: string };

function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  return Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
}

function ipToNumber(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText ?? '32');
  if (base === undefined) return false;
  const size = 2 ** (32 - bits);
  const start = Math.floor(ipToNumber(base) / size) * size;
  const value = ipToNumber(ip);
  return value >= start && value < start + size;
}

function peerAdmits(peer: PolicyPeer, policyNamespace: string, source: Source): boolean {
  if (peer.ipBlock) {
    if (source.kind !== 'external') return false;
    return inCidr(source.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((cidr) => inCidr(source.ip, cidr));
  }
  if (source.kind !== 'pod') return false;
  if (peer.namespaceSelector) {
    return selects(peer.namespaceSelector, source.namespaceLabels) && selects(peer.podSelector, source.labels);
  }
  // A podSelector alone selects pods in the policy's own namespace.
  return source.namespace === policyNamespace && selects(peer.podSelector, source.labels);
}

function portAdmits(ports: PolicyPort[] | undefined, target: TargetPod, port: number): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((entry) => {
    if (entry.port === undefined) return true;
    const resolved = typeof entry.port === 'number' ? entry.port : target.ports[entry.port];
    return resolved === port;
  });
}

/**
 * Whether the policies admit a connection from `source` to `port` of `target`. Pods that no
 * policy selects admit everything, as in Kubernetes.
 */
export function ingressAllowed(policies: NetworkPolicy[], target: TargetPod, source: Source, port: number): boolean {
  const applicable = policies.filter(
    (policy) =>
      (policy.metadata.namespace ?? target.namespace) === target.namespace &&
      (policy.spec.policyTypes ?? ['Ingress']).includes('Ingress') &&
      selects(policy.spec.podSelector, target.labels),
  );
  if (applicable.length === 0) return true;
  return applicable.some((policy) =>
    (policy.spec.ingress ?? []).some((rule) => {
      const fromOk =
        !rule.from || rule.from.length === 0 || rule.from.some((peer) => peerAdmits(peer, target.namespace, source));
      return fromOk && portAdmits(rule.ports, target, port);
    }),
  );
}

export function targetFor(object: K8sObject): TargetPod {
  const template = podTemplate(object);
  const ports: Record<string, number> = {};
  for (const container of template.spec.containers) {
    for (const port of container.ports ?? []) if (port.name) ports[port.name] = port.containerPort;
  }
  return { namespace: object.metadata.namespace ?? 'default', labels: template.metadata.labels ?? {}, ports };
}
