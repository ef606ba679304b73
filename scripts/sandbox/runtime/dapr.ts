// The `daprd` container of a pod, run as a self-hosted daprd. In a cluster, Dapr's
// operator hands the sidecar the namespace's Components, Subscriptions and Configuration,
// with secret references resolved from Kubernetes Secrets. Here the same resources are read
// from the cluster, resolved the same way, and written to a resources folder for that
// sidecar. A component the chart got wrong (a missing Secret or key) stops the sidecar, as
// it would in a cluster.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { parseImage } from './images.js';

export interface DaprResource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  scopes?: string[];
  auth?: { secretStore?: string };
}

interface MetadataItem {
  name: string;
  value?: unknown;
  secretKeyRef?: { name: string; key?: string };
}

export interface DaprSources {
  components: DaprResource[];
  subscriptions: DaprResource[];
  configurations: DaprResource[];
  secret(name: string): Record<string, string> | undefined;
}

export interface WrittenResources {
  resourcesPath: string;
  configFile?: string;
}

export function isDaprdImage(image: string | undefined): boolean {
  return image !== undefined && parseImage(image).repository.endsWith('dapr/daprd');
}

/** The value of `--flag value` in an argument list. */
export function flagValue(args: string[], flag: string): string | undefined {
  const index = args.indexOf(flag);
  return index >= 0 ? args[index + 1] : undefined;
}

function inScope(resource: DaprResource, appId: string): boolean {
  return !resource.scopes || resource.scopes.length === 0 || resource.scopes.includes(appId);
}

/** Resolve one component's secret references and Service names; an error names the cause. */
export function resolveComponent(
  component: DaprResource,
  sources: Pick<DaprSources, 'secret'>,
  substitute: (value: string) => string,
): DaprResource | { error: string } {
  const spec = { ...(component.spec ?? {}) };
  const metadata = (spec.metadata as MetadataItem[] | undefined) ?? [];
  const resolved: { name: string; value: string }[] = [];
  for (const item of metadata) {
    if (item.secretKeyRef) {
      const secretName = item.secretKeyRef.name;
      const key = item.secretKeyRef.key ?? secretName;
      const secret = sources.secret(secretName);
      if (!secret) {
        return { error: `error loading component ${component.metadata.name}: secret "${secretName}" not found` };
      }
      if (!(key in secret)) {
        return { error: `error loading component ${component.metadata.name}: key "${key}" not found in secret "${secretName}"` };
      }
      resolved.push({ name: item.name, value: substitute(secret[key]!) });
    } else {
      resolved.push({ name: item.name, value: substitute(String(item.value ?? '')) });
    }
  }
  spec.metadata = resolved;
  return {
    apiVersion: component.apiVersion,
    kind: component.kind,
    metadata: { name: component.metadata.name },
    spec,
    scopes: component.scopes,
  };
}

export async function writeDaprResources(
  pod: k8s.V1Pod,
  sidecarArgs: string[],
  dir: string,
  sources: DaprSources,
  substitute: (value: string) => string,
): Promise<WrittenResources | { error: string }> {
  const appId = flagValue(sidecarArgs, '--app-id') ?? pod.metadata?.name ?? 'app';
  const resourcesPath = join(dir, 'resources');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(resourcesPath, { recursive: true, mode: 0o700 });
  for (const component of sources.components.filter((candidate) => inScope(candidate, appId))) {
    const resolved = resolveComponent(component, sources, substitute);
    if ('error' in resolved) return resolved;
    writeFileSync(join(resourcesPath, `component-${component.metadata.name}.yaml`), stringify(resolved), { mode: 0o600 });
  }
  for (const subscription of sources.subscriptions.filter((candidate) => inScope(candidate, appId))) {
    const { metadata, ...rest } = subscription;
    writeFileSync(join(resourcesPath, `subscription-${metadata.name}.yaml`), stringify({ ...rest, metadata: { name: metadata.name } }));
  }
  const configName = flagValue(sidecarArgs, '--config');
  if (!configName) return { resourcesPath };
  const configuration = sources.configurations.find((candidate) => candidate.metadata.name === configName);
  if (!configuration) {
    return { error: `error loading configuration: configuration "${configName}" not found in namespace ${pod.metadata?.namespace}` };
  }
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, stringify({ ...configuration, metadata: { name: configName } }));
  return { resourcesPath, configFile };
}

/**
 * The self-hosted daprd command line for a pod's sidecar: the app-id, app-port,
 * app-protocol and logging the pod's injector arguments carry, the sidecar's own host
 * ports, and the resources read from the cluster in place of the Kubernetes-mode flags
 * (operator, sentry, placement and mTLS, which need Dapr's control plane).
 */
export function daprdCommandLine(
  daprd: string,
  sidecarArgs: string[],
  written: WrittenResources,
  hostPortOf: (containerPort: number) => number | undefined,
): string[] {
  const port = (containerPort: number) => String(hostPortOf(containerPort));
  const args = [
    daprd,
    '--mode', 'standalone',
    '--app-id', flagValue(sidecarArgs, '--app-id') ?? 'app',
    '--dapr-http-port', port(Number(flagValue(sidecarArgs, '--dapr-http-port') ?? 3500)),
    '--dapr-grpc-port', port(Number(flagValue(sidecarArgs, '--dapr-grpc-port') ?? 50001)),
    '--dapr-internal-grpc-port', port(Number(flagValue(sidecarArgs, '--dapr-internal-grpc-port') ?? 50002)),
    '--dapr-public-port', port(Number(flagValue(sidecarArgs, '--dapr-public-port') ?? 3501)),
    '--dapr-listen-addresses', '127.0.0.1',
    '--resources-path', written.resourcesPath,
    '--log-level', flagValue(sidecarArgs, '--log-level') ?? 'info',
    '--app-protocol', flagValue(sidecarArgs, '--app-protocol') ?? 'http',
    // Dapr's scheduler and placement services are control-plane parts that do not run here.
    '--scheduler-host-address', '',
    '--placement-host-address', '',
  ];
  const appPort = flagValue(sidecarArgs, '--app-port');
  if (appPort) args.push('--app-port', port(Number(appPort)));
  if (sidecarArgs.includes('--enable-metrics')) {
    args.push('--enable-metrics', '--metrics-port', port(Number(flagValue(sidecarArgs, '--metrics-port') ?? 9090)));
  } else {
    args.push('--enable-metrics=false');
  }
  if (written.configFile) args.push('--config', written.configFile);
  const maxConcurrency = flagValue(sidecarArgs, '--app-max-concurrency');
  if (maxConcurrency) args.push('--app-max-concurrency', maxConcurrency);
  if (sidecarArgs.includes('--enable-api-logging')) args.push('--enable-api-logging');
  if (sidecarArgs.includes('--log-as-json')) args.push('--log-as-json');
  const graceful = flagValue(sidecarArgs, '--dapr-graceful-shutdown-seconds');
  if (graceful && graceful !== '-1') args.push('--dapr-graceful-shutdown-seconds', graceful);
  return args;
}
