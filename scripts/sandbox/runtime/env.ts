// A container's environment, resolved the way the kubelet resolves it: envFrom first, then
// env in order, `$(VAR)` references expanded against what came before, values taken from
// Secrets, ConfigMaps, the pod's own fields and the container's resources.
import type * as k8s from '@kubernetes/client-node';

/** What the kubelet would report when the environment cannot be built. */
export class ContainerConfigError extends Error {
  readonly reason = 'CreateContainerConfigError';
}

export interface EnvSources {
  secret(name: string): Record<string, string> | undefined;
  configMap(name: string): Record<string, string> | undefined;
}

const cpuUnits: Record<string, number> = { '': 1, m: 0.001 };

/** A Kubernetes quantity as a number of base units (cores, bytes). */
export function parseQuantity(quantity: string): number {
  const match = /^([0-9.]+)([a-zA-Z]*)$/.exec(quantity.trim());
  if (!match) throw new Error(`bad quantity '${quantity}'`);
  const value = Number(match[1]);
  const suffix = match[2] ?? '';
  const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  const decimal: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  const factor = binary[suffix] ?? decimal[suffix] ?? cpuUnits[suffix];
  if (factor === undefined) throw new Error(`bad quantity '${quantity}'`);
  return value * factor;
}

/** `$(NAME)` expands to an earlier variable; `$$(NAME)` is a literal `$(NAME)`. */
export function expandReferences(value: string, known: Map<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name: string | undefined) => {
    if (whole === '$$') return '$';
    return name !== undefined && known.has(name) ? known.get(name)! : whole;
  });
}

function fieldValue(pod: k8s.V1Pod, path: string): string {
  const metadata = pod.metadata ?? {};
  const labelMatch = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (labelMatch) {
    const map = labelMatch[1] === 'labels' ? metadata.labels : metadata.annotations;
    return map?.[labelMatch[2]!] ?? '';
  }
  switch (path) {
    case 'metadata.name': return metadata.name ?? '';
    case 'metadata.namespace': return metadata.namespace ?? '';
    case 'metadata.uid': return metadata.uid ?? '';
    case 'spec.nodeName': return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName': return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP': return pod.status?.podIP ?? '';
    case 'status.hostIP': return pod.status?.hostIP ?? '';
    default: throw new ContainerConfigError(`unsupported fieldRef ${path}`);
  }
}

function resourceValue(container: k8s.V1Container, selector: k8s.V1ResourceFieldSelector): string {
  const [kind, resource] = selector.resource.split('.') as ['limits' | 'requests', string];
  const quantity = container.resources?.[kind]?.[resource];
  if (quantity === undefined) return '0';
  const divisor = selector.divisor ? parseQuantity(String(selector.divisor)) : 1;
  // The kubelet rounds up, so a 100m CPU limit reads as 1 core.
  return String(Math.ceil(parseQuantity(String(quantity)) / divisor));
}

function lookup(
  kind: 'Secret' | 'ConfigMap',
  source: Record<string, string> | undefined,
  name: string,
  key: string,
  optional: boolean,
): string | undefined {
  if (source === undefined) {
    if (optional) return undefined;
    throw new ContainerConfigError(`${kind.toLowerCase()} "${name}" not found`);
  }
  if (!(key in source)) {
    if (optional) return undefined;
    throw new ContainerConfigError(`couldn't find key ${key} in ${kind} ${name}`);
  }
  return source[key];
}

export function resolveEnv(pod: k8s.V1Pod, container: k8s.V1Container, sources: EnvSources): Map<string, string> {
  const env = new Map<string, string>();
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const data = sources.configMap(from.configMapRef.name ?? '');
      if (!data && !from.configMapRef.optional) {
        throw new ContainerConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [key, value] of Object.entries(data ?? {})) env.set(prefix + key, value);
    }
    if (from.secretRef) {
      const data = sources.secret(from.secretRef.name ?? '');
      if (!data && !from.secretRef.optional) {
        throw new ContainerConfigError(`secret "${from.secretRef.name}" not found`);
      }
      for (const [key, value] of Object.entries(data ?? {})) env.set(prefix + key, value);
    }
  }
  for (const variable of container.env ?? []) {
    let value: string | undefined;
    const from = variable.valueFrom;
    if (from?.secretKeyRef) {
      const ref = from.secretKeyRef;
      value = lookup('Secret', sources.secret(ref.name ?? ''), ref.name ?? '', ref.key, ref.optional ?? false);
    } else if (from?.configMapKeyRef) {
      const ref = from.configMapKeyRef;
      value = lookup('ConfigMap', sources.configMap(ref.name ?? ''), ref.name ?? '', ref.key, ref.optional ?? false);
    } else if (from?.fieldRef) {
      value = fieldValue(pod, from.fieldRef.fieldPath);
    } else if (from?.resourceFieldRef) {
      value = resourceValue(container, from.resourceFieldRef);
    } else {
      value = expandReferences(variable.value ?? '', env);
    }
    if (value !== undefined) env.set(variable.name, value);
  }
  return env;
}

/** The container's command line: command and args with `$(VAR)` expanded. */
export function resolveCommandLine(container: k8s.V1Container, env: Map<string, string>): { command?: string[]; args?: string[] } {
  const expand = (items: string[] | undefined) => items?.map((item) => expandReferences(item, env));
  return { command: expand(container.command), args: expand(container.args) };
}
