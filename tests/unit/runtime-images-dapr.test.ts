import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { daprdCommandLine, flagValue, resolveComponent, type DaprResource } from '../../scripts/sandbox/runtime/dapr.js';
import { hostCommandLine, loadCatalogue, parseImage, pullImage } from '../../scripts/sandbox/runtime/images.js';
import { sidecarArgs } from '../../scripts/sandbox/lib/dapr-sidecar.js';
import { repoRoot } from '../support/sandbox.js';

const catalogue = loadCatalogue(join(repoRoot, 'fixtures/sandbox/images.yaml'), { repo: '/repo', tools: '/tools' });

describe('the image catalogue', () => {
  it('splits images into repository and tag, with registries, ports and digests', () => {
    expect(parseImage('todo-backend:1.0.0')).toEqual({ repository: 'todo-backend', tag: '1.0.0' });
    expect(parseImage('localhost:5000/todo-backend')).toEqual({ repository: 'localhost:5000/todo-backend', tag: 'latest' });
    expect(parseImage('apache/kafka:4.1.1@sha256:abc')).toEqual({ repository: 'apache/kafka', tag: '4.1.1' });
  });

  it('finds an image by repository, Docker Hub spellings alike, and fills the placeholders', () => {
    const pulled = pullImage(catalogue, 'todo-backend:2.0.0');
    expect(pulled.ok && pulled.entry.command).toEqual(['node', '/repo/fixtures/todo-stack/dist/backend/server.js']);
    expect(pullImage(catalogue, 'docker.io/apache/kafka:4.1.1').ok).toBe(true);
    expect(pullImage(catalogue, 'docker.io/library/busybox:1.37').ok).toBe(true);
  });

  it('treats another registry\'s copy of an image as an image it does not have', () => {
    expect(pullImage(catalogue, 'unpullable.invalid/todo-backend:1.0.0').ok).toBe(false);
    expect(pullImage(catalogue, 'ghcr.io/acme/todo-backend:1.0.0').ok).toBe(false);
  });

  it('cannot pull an image it does not list', () => {
    const pulled = pullImage(catalogue, 'registry.example/nothing:1');
    expect(pulled.ok).toBe(false);
    expect(!pulled.ok && pulled.message).toContain('Failed to pull image "registry.example/nothing:1"');
  });

  it('maps a container command to the host tool the image path stands for', () => {
    const pulled = pullImage(catalogue, 'apache/kafka:4.1.1');
    if (!pulled.ok) throw new Error(pulled.message);
    expect(hostCommandLine(pulled.entry, ['/opt/kafka/bin/kafka-topics.sh'], ['--list']))
      .toEqual(['bash', '/repo/scripts/sandbox/images/kafka.sh', '/tools', 'topics', '--list']);
    expect(hostCommandLine(pulled.entry, ['/bin/sh', '-c', 'echo'], [])).toEqual({
      error: 'exec: "/bin/sh": not found in the sandbox\'s stand-in for this image',
    });
  });
});

describe('the self-hosted sidecar', () => {
  const component: DaprResource = {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'kafka-pubsub', namespace: 'todo-app' },
    spec: {
      type: 'pubsub.kafka',
      version: 'v1',
      metadata: [
        { name: 'brokers', value: 'kafka:9092' },
        { name: 'saslPassword', secretKeyRef: { name: 'kafka-sasl', key: 'password' } },
      ],
    },
    scopes: ['backend'],
  };
  const substitute = (value: string) => value.replace('kafka:9092', '127.0.0.1:31001');

  it('resolves secret references and Service names in a Component', () => {
    const resolved = resolveComponent(component, { secret: (name) => (name === 'kafka-sasl' ? { password: 'pw' } : undefined) }, substitute);
    expect('error' in resolved ? resolved.error : resolved.spec?.metadata).toEqual([
      { name: 'brokers', value: '127.0.0.1:31001' },
      { name: 'saslPassword', value: 'pw' },
    ]);
  });

  it('names the Secret or key a Component is missing', () => {
    expect(resolveComponent(component, { secret: () => undefined }, substitute))
      .toEqual({ error: 'error loading component kafka-pubsub: secret "kafka-sasl" not found' });
    expect(resolveComponent(component, { secret: () => ({}) }, substitute))
      .toEqual({ error: 'error loading component kafka-pubsub: key "password" not found in secret "kafka-sasl"' });
  });

  it('keeps the injected app settings and gives the sidecar its own host ports', () => {
    const injected = sidecarArgs({ metadata: { annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'backend', 'dapr.io/app-port': '8000', 'dapr.io/log-level': 'debug' } } });
    const hostPorts: Record<number, number> = { 3500: 41000, 50001: 41001, 50002: 41002, 3501: 41003, 9090: 41004, 8000: 41005 };
    const line = daprdCommandLine('/tools/daprd', injected, { resourcesPath: '/state/dapr/resources' }, (port) => hostPorts[port]);
    expect(line[0]).toBe('/tools/daprd');
    expect(flagValue(line, '--app-id')).toBe('backend');
    expect(flagValue(line, '--app-port')).toBe('41005');
    expect(flagValue(line, '--dapr-http-port')).toBe('41000');
    expect(flagValue(line, '--dapr-public-port')).toBe('41003');
    expect(flagValue(line, '--metrics-port')).toBe('41004');
    expect(flagValue(line, '--log-level')).toBe('debug');
    expect(flagValue(line, '--resources-path')).toBe('/state/dapr/resources');
    expect(line).not.toContain('--enable-mtls');
    expect(line).not.toContain('--control-plane-address');
  });
});
