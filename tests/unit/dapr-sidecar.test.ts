import { describe, expect, it } from 'vitest';
import { appIdOf, sidecarArgs, sidecarPatch, type Pod } from '../../scripts/sandbox/lib/dapr-sidecar.js';

const options = { daprVersion: '1.16.5', trustAnchors: '-----BEGIN CERTIFICATE-----' };

function annotatedPod(annotations: Record<string, string>, labels?: Record<string, string>): Pod {
  return {
    metadata: { generateName: 'backend-7d9f-', namespace: 'todo-app', annotations, labels },
    spec: { containers: [{ name: 'backend', image: 'todo-backend:1.0.0', env: [{ name: 'PORT', value: '8000' }] }] },
  };
}

describe('the Dapr sidecar patch', () => {
  it('leaves pods without dapr.io/enabled alone', () => {
    expect(sidecarPatch(annotatedPod({}), options)).toEqual([]);
    expect(sidecarPatch(annotatedPod({ 'dapr.io/enabled': 'false' }), options)).toEqual([]);
  });

  it('does not inject twice when the webhook is reinvoked', () => {
    const pod = annotatedPod({ 'dapr.io/enabled': 'true' });
    pod.spec!.containers!.push({ name: 'daprd' });
    expect(sidecarPatch(pod, options)).toEqual([]);
  });

  it('gives the real injector\'s arguments in its order for app-id backend, app-port 8000', () => {
    const args = sidecarArgs(annotatedPod({ 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'backend', 'dapr.io/app-port': '8000' }));
    expect(args.join(' ')).toBe([
      '/daprd --dapr-http-port 3500 --dapr-grpc-port 50001 --dapr-internal-grpc-port 50002',
      '--dapr-listen-addresses [::1],127.0.0.1 --dapr-public-port 3501 --app-id backend',
      '--app-protocol http --log-level info --dapr-graceful-shutdown-seconds -1 --mode kubernetes',
      '--control-plane-address dapr-api.dapr-system.svc.cluster.local:443',
      '--sentry-address dapr-sentry.dapr-system.svc.cluster.local:443 --app-port 8000',
      '--enable-metrics --metrics-port 9090',
      '--placement-host-address dapr-placement-server.dapr-system.svc.cluster.local:50005 --enable-mtls',
    ].join(' '));
  });

  it('adds --config and --enable-api-logging only when annotated', () => {
    const plain = sidecarArgs(annotatedPod({ 'dapr.io/enabled': 'true' }));
    expect(plain).not.toContain('--config');
    expect(plain).not.toContain('--enable-api-logging');
    const annotated = sidecarArgs(annotatedPod({
      'dapr.io/enabled': 'true', 'dapr.io/config': 'tracing', 'dapr.io/enable-api-logging': 'true', 'dapr.io/log-level': 'debug',
    }));
    expect(annotated.slice(annotated.indexOf('--config'), annotated.indexOf('--config') + 2)).toEqual(['--config', 'tracing']);
    expect(annotated).toContain('--enable-api-logging');
    expect(annotated[annotated.indexOf('--log-level') + 1]).toBe('debug');
  });

  it('appends daprd, adds the app container\'s Dapr env and the pod labels', () => {
    const patch = sidecarPatch(annotatedPod({ 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'backend' }, { app: 'backend' }), options);
    const paths = patch.map((operation) => operation.path);
    expect(paths).toEqual([
      '/spec/containers/0/env/-', '/spec/containers/0/env/-', '/spec/containers/0/env/-',
      '/spec/containers/-',
      '/metadata/labels/dapr.io~1sidecar-injected', '/metadata/labels/dapr.io~1app-id', '/metadata/labels/dapr.io~1metrics-enabled',
    ]);
    const sidecar = patch[3]!.value as { name: string; image: string; resources?: unknown; securityContext: Record<string, unknown> };
    expect(sidecar.name).toBe('daprd');
    expect(sidecar.image).toBe('ghcr.io/dapr/daprd:1.16.5');
    expect(sidecar.resources).toBeUndefined();
    expect(sidecar.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true });
  });

  it('sets sidecar resources from the dapr.io/sidecar-* annotations', () => {
    const patch = sidecarPatch(annotatedPod({
      'dapr.io/enabled': 'true', 'dapr.io/sidecar-cpu-request': '100m', 'dapr.io/sidecar-memory-limit': '256Mi',
    }), options);
    const sidecar = patch.find((operation) => operation.path === '/spec/containers/-')!.value as { resources: unknown };
    expect(sidecar.resources).toEqual({ requests: { cpu: '100m' }, limits: { memory: '256Mi' } });
  });

  it('defaults the app-id to the pod name, or its generated prefix', () => {
    expect(appIdOf({ metadata: { name: 'worker-0' } })).toBe('worker-0');
    expect(appIdOf({ metadata: { generateName: 'backend-7d9f-' } })).toBe('backend-7d9f');
  });
});
