// The `daprd` container that Dapr's sidecar injector (1.16) adds to an annotated pod, as a
// JSON patch. The sandbox cannot run Dapr's own injector (its serving certificate comes
// from Dapr Sentry and names only the in-cluster Service), so this reproduces its shape:
// container name, image, ports, arguments in order, probes, env, security context, and the
// labels and env it adds to the pod.

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}

export interface Container {
  name: string;
  image?: string;
  env?: EnvVar[];
  [key: string]: unknown;
}

export interface Pod {
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
  };
  spec?: { containers?: Container[] };
}

export interface PatchOperation {
  op: 'add' | 'replace';
  path: string;
  value: unknown;
}

export interface InjectorOptions {
  daprVersion: string;
  trustAnchors: string;
  controlPlaneNamespace?: string;
}

export const sidecarName = 'daprd';
const httpPort = 3500;
const grpcPort = 50001;
const internalGrpcPort = 50002;
const publicPort = 3501;
const metricsPort = 9090;

const annotation = {
  enabled: 'dapr.io/enabled',
  appId: 'dapr.io/app-id',
  appPort: 'dapr.io/app-port',
  appProtocol: 'dapr.io/app-protocol',
  config: 'dapr.io/config',
  logLevel: 'dapr.io/log-level',
  logAsJson: 'dapr.io/log-as-json',
  apiLogging: 'dapr.io/enable-api-logging',
  maxConcurrency: 'dapr.io/app-max-concurrency',
  metricsEnabled: 'dapr.io/enable-metrics',
  gracefulShutdown: 'dapr.io/graceful-shutdown-seconds',
  cpuRequest: 'dapr.io/sidecar-cpu-request',
  cpuLimit: 'dapr.io/sidecar-cpu-limit',
  memoryRequest: 'dapr.io/sidecar-memory-request',
  memoryLimit: 'dapr.io/sidecar-memory-limit',
} as const;

function isTrue(value: string | undefined): boolean {
  return value !== undefined && ['true', 'yes', 'on', '1', 'y'].includes(value.toLowerCase());
}

/** Dapr's default app-id: the annotation, else the pod's name (or its generated prefix). */
export function appIdOf(pod: Pod): string {
  const metadata = pod.metadata ?? {};
  const fromAnnotation = metadata.annotations?.[annotation.appId];
  if (fromAnnotation) return fromAnnotation;
  if (metadata.name) return metadata.name;
  return (metadata.generateName ?? 'app').replace(/-$/, '');
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

function sidecarResources(annotations: Record<string, string>): Record<string, unknown> | undefined {
  const pick = (entries: [string, string | undefined][]): Record<string, string> =>
    Object.fromEntries(entries.filter((entry): entry is [string, string] => Boolean(entry[1])));
  const requests = pick([
    ['cpu', annotations[annotation.cpuRequest]],
    ['memory', annotations[annotation.memoryRequest]],
  ]);
  const limits = pick([
    ['cpu', annotations[annotation.cpuLimit]],
    ['memory', annotations[annotation.memoryLimit]],
  ]);
  const resources: Record<string, unknown> = {};
  if (Object.keys(requests).length > 0) resources.requests = requests;
  if (Object.keys(limits).length > 0) resources.limits = limits;
  return Object.keys(resources).length > 0 ? resources : undefined;
}

export function sidecarArgs(pod: Pod): string[] {
  const annotations = pod.metadata?.annotations ?? {};
  const args = [
    '/daprd',
    '--dapr-http-port', String(httpPort),
    '--dapr-grpc-port', String(grpcPort),
    '--dapr-internal-grpc-port', String(internalGrpcPort),
    '--dapr-listen-addresses', '[::1],127.0.0.1',
    '--dapr-public-port', String(publicPort),
    '--app-id', appIdOf(pod),
    '--app-protocol', annotations[annotation.appProtocol] ?? 'http',
    '--log-level', annotations[annotation.logLevel] ?? 'info',
    '--dapr-graceful-shutdown-seconds', annotations[annotation.gracefulShutdown] ?? '-1',
    '--mode', 'kubernetes',
    '--control-plane-address', 'dapr-api.dapr-system.svc.cluster.local:443',
    '--sentry-address', 'dapr-sentry.dapr-system.svc.cluster.local:443',
  ];
  const appPort = annotations[annotation.appPort];
  if (appPort) args.push('--app-port', appPort);
  const config = annotations[annotation.config];
  if (config) args.push('--config', config);
  if (isTrue(annotations[annotation.logAsJson])) args.push('--log-as-json');
  const maxConcurrency = annotations[annotation.maxConcurrency];
  if (maxConcurrency) args.push('--app-max-concurrency', maxConcurrency);
  if (isTrue(annotations[annotation.apiLogging])) args.push('--enable-api-logging');
  const metricsEnabled = annotations[annotation.metricsEnabled] === undefined ||
    isTrue(annotations[annotation.metricsEnabled]);
  if (metricsEnabled) args.push('--enable-metrics', '--metrics-port', String(metricsPort));
  args.push(
    '--placement-host-address', 'dapr-placement-server.dapr-system.svc.cluster.local:50005',
    '--enable-mtls',
  );
  return args;
}

export function sidecarContainer(pod: Pod, options: InjectorOptions): Container {
  const controlPlane = options.controlPlaneNamespace ?? 'dapr-system';
  const annotations = pod.metadata?.annotations ?? {};
  const container: Container = {
    name: sidecarName,
    image: `ghcr.io/dapr/daprd:${options.daprVersion}`,
    imagePullPolicy: 'IfNotPresent',
    args: sidecarArgs(pod),
    ports: [
      { name: 'dapr-http', containerPort: httpPort, protocol: 'TCP' },
      { name: 'dapr-grpc', containerPort: grpcPort, protocol: 'TCP' },
      { name: 'dapr-internal', containerPort: internalGrpcPort, protocol: 'TCP' },
      { name: 'dapr-metrics', containerPort: metricsPort, protocol: 'TCP' },
    ],
    env: [
      { name: 'NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'DAPR_CONTROLPLANE_NAMESPACE', value: controlPlane },
      { name: 'DAPR_CONTROLPLANE_TRUST_DOMAIN', value: 'cluster.local' },
      { name: 'DAPR_TRUST_ANCHORS', value: options.trustAnchors },
      { name: 'DAPR_SCHEDULER_HOST_ADDRESS', value: `dapr-scheduler-server-0.dapr-scheduler-server.${controlPlane}.svc.cluster.local:50006` },
    ],
    readinessProbe: {
      httpGet: { path: '/v1.0/healthz', port: publicPort, scheme: 'HTTP' },
      initialDelaySeconds: 3,
      periodSeconds: 6,
      timeoutSeconds: 3,
      failureThreshold: 3,
    },
    livenessProbe: {
      tcpSocket: { port: publicPort },
      initialDelaySeconds: 3,
      periodSeconds: 6,
      timeoutSeconds: 3,
      failureThreshold: 3,
    },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  };
  const resources = sidecarResources(annotations);
  if (resources) container.resources = resources;
  return container;
}

/**
 * The JSON patch for an admission request, or an empty list when the pod is not annotated
 * `dapr.io/enabled: "true"` or already has its sidecar (the webhook may be reinvoked).
 */
export function sidecarPatch(pod: Pod, options: InjectorOptions): PatchOperation[] {
  const annotations = pod.metadata?.annotations ?? {};
  if (!isTrue(annotations[annotation.enabled])) return [];
  const containers = pod.spec?.containers ?? [];
  if (containers.some((container) => container.name === sidecarName)) return [];

  const patch: PatchOperation[] = [];
  const appProtocol = annotations[annotation.appProtocol] ?? 'http';
  const appEnv: EnvVar[] = [
    { name: 'DAPR_HTTP_PORT', value: String(httpPort) },
    { name: 'DAPR_GRPC_PORT', value: String(grpcPort) },
    { name: 'APP_PROTOCOL', value: appProtocol },
  ];
  containers.forEach((container, index) => {
    const existing = new Set((container.env ?? []).map((variable) => variable.name));
    const missing = appEnv.filter((variable) => !existing.has(variable.name));
    if (missing.length === 0) return;
    if (container.env === undefined) {
      patch.push({ op: 'add', path: `/spec/containers/${index}/env`, value: missing });
    } else {
      for (const variable of missing) {
        patch.push({ op: 'add', path: `/spec/containers/${index}/env/-`, value: variable });
      }
    }
  });

  patch.push({ op: 'add', path: '/spec/containers/-', value: sidecarContainer(pod, options) });

  const labels: Record<string, string> = {
    'dapr.io/sidecar-injected': 'true',
    'dapr.io/app-id': appIdOf(pod),
    'dapr.io/metrics-enabled': String(
      annotations[annotation.metricsEnabled] === undefined || isTrue(annotations[annotation.metricsEnabled]),
    ),
  };
  if (pod.metadata?.labels === undefined) {
    patch.push({ op: 'add', path: '/metadata/labels', value: labels });
  } else {
    for (const [key, value] of Object.entries(labels)) {
      patch.push({ op: 'add', path: `/metadata/labels/${escapePointer(key)}`, value });
    }
  }
  return patch;
}
