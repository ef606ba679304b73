import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ContainerConfigError, expandReferences, parseQuantity, resolveCommandLine, resolveEnv, type EnvSources } from '../../scripts/sandbox/runtime/env.js';

const pod: k8s.V1Pod = {
  metadata: { name: 'backend-abc', namespace: 'todo-app', uid: 'u-1', labels: { app: 'backend' } },
  spec: { nodeName: 'sandbox-node', serviceAccountName: 'backend', containers: [] },
  status: { podIP: '10.244.0.7' },
};

const sources: EnvSources = {
  secret: (name) => (name === 'app-secrets' ? { DATABASE_URL: 'postgresql://db', BETTER_AUTH_SECRET: 'x'.repeat(32) } : undefined),
  configMap: (name) => (name === 'app-config' ? { KAFKA_BROKERS: 'kafka:9092', LOG_LEVEL: 'info' } : undefined),
};

function container(spec: Partial<k8s.V1Container>): k8s.V1Container {
  return { name: 'app', ...spec };
}

describe('container environment', () => {
  it('takes envFrom first and lets env override it, in order', () => {
    const env = resolveEnv(pod, container({
      envFrom: [{ configMapRef: { name: 'app-config' } }, { secretRef: { name: 'app-secrets' }, prefix: 'S_' }],
      env: [{ name: 'LOG_LEVEL', value: 'debug' }],
    }), sources);
    expect(env.get('KAFKA_BROKERS')).toBe('kafka:9092');
    expect(env.get('S_DATABASE_URL')).toBe('postgresql://db');
    expect(env.get('LOG_LEVEL')).toBe('debug');
  });

  it('resolves secret and config map keys, fields and resources', () => {
    const env = resolveEnv(pod, container({
      resources: { limits: { cpu: '1500m', memory: '256Mi' } },
      env: [
        { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'app-secrets', key: 'DATABASE_URL' } } },
        { name: 'BROKERS', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'KAFKA_BROKERS' } } },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
        { name: 'MEMORY_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
      ],
    }), sources);
    expect(Object.fromEntries(env)).toEqual({
      DATABASE_URL: 'postgresql://db', BROKERS: 'kafka:9092', POD_NAME: 'backend-abc', APP: 'backend',
      POD_IP: '10.244.0.7', CPU: '2', MEMORY_MI: '256',
    });
  });

  it('fails like the kubelet when a referenced Secret or key is missing, unless optional', () => {
    const missingKey = container({ env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'app-secrets', key: 'NOPE' } } }] });
    expect(() => resolveEnv(pod, missingKey, sources)).toThrow(ContainerConfigError);
    expect(() => resolveEnv(pod, missingKey, sources)).toThrow('couldn\'t find key NOPE in Secret app-secrets');
    const missingSecret = container({ envFrom: [{ secretRef: { name: 'gone' } }] });
    expect(() => resolveEnv(pod, missingSecret, sources)).toThrow('secret "gone" not found');
    const optional = container({ env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'gone', key: 'K', optional: true } } }] });
    expect(resolveEnv(pod, optional, sources).has('X')).toBe(false);
  });

  it('expands $(VAR) from earlier variables and keeps $$( as a literal', () => {
    const known = new Map([['HOST', 'kafka'], ['PORT', '9092']]);
    expect(expandReferences('$(HOST):$(PORT)', known)).toBe('kafka:9092');
    expect(expandReferences('$(UNKNOWN)', known)).toBe('$(UNKNOWN)');
    expect(expandReferences('$$(HOST)', known)).toBe('$(HOST)');
    const env = resolveEnv(pod, container({ env: [{ name: 'A', value: 'one' }, { name: 'B', value: '$(A)-two' }] }), sources);
    expect(env.get('B')).toBe('one-two');
    expect(resolveCommandLine(container({ args: ['--name', '$(A)'] }), env).args).toEqual(['--name', 'one']);
  });

  it('parses quantities', () => {
    expect(parseQuantity('250m')).toBe(0.25);
    expect(parseQuantity('2')).toBe(2);
    expect(parseQuantity('64Mi')).toBe(64 * 2 ** 20);
    expect(parseQuantity('1G')).toBe(1e9);
    expect(() => parseQuantity('lots')).toThrow('bad quantity');
  });
});
