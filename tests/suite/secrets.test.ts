import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { overGrants, readSecretKeys } from '../../suites/checks/secrets.js';

const SECRET = 'app-secrets';
const KEYS = ['DATABASE_URL', 'BETTER_AUTH_SECRET', 'JWT_SECRET'];

function pod(containers: k8s.V1Container[]): k8s.V1Pod {
  return { metadata: { name: 'recurring-task-service-abc' }, spec: { containers } };
}

function fromSecret(variable: string, key: string, secret = SECRET): k8s.V1EnvVar {
  return { name: variable, valueFrom: { secretKeyRef: { name: secret, key } } };
}

describe('overGrants (secret-references)', () => {
  it('finds nothing when a workload receives only the keys it reads', () => {
    const p = pod([{ name: 'recurring-task-service', env: [fromSecret('DATABASE_URL', 'DATABASE_URL')] }]);
    expect(overGrants(p, SECRET, KEYS, readSecretKeys['recurring-task-service'] ?? [])).toEqual([]);
    // A reference to a key the Secret does not hold grants nothing (it is a broken reference).
    const broken = pod([{ name: 'recurring-task-service', env: [fromSecret('DATABASE_URL', 'DATABASE_URL_TYPO')] }]);
    expect(overGrants(broken, SECRET, KEYS, readSecretKeys['recurring-task-service'] ?? [])).toEqual([]);
  });

  it('names the container and the key a workload receives but does not read, under any variable name', () => {
    const p = pod([
      { name: 'recurring-task-service', env: [fromSecret('DATABASE_URL', 'DATABASE_URL'), fromSecret('SIGNING_KEY', 'JWT_SECRET')] },
    ]);
    expect(overGrants(p, SECRET, KEYS, readSecretKeys['recurring-task-service'] ?? [])).toEqual([
      { container: 'recurring-task-service', key: 'JWT_SECRET' },
    ]);
  });

  it('counts envFrom of the whole Secret as every key, and ignores other Secrets and the daprd sidecar', () => {
    const p = pod([
      { name: 'notification-service', envFrom: [{ secretRef: { name: SECRET } }], env: [fromSecret('TOKEN', 'token', 'other')] },
      { name: 'daprd', env: [fromSecret('JWT_SECRET', 'JWT_SECRET')] },
    ]);
    expect(overGrants(p, SECRET, KEYS, readSecretKeys['notification-service'] ?? [])).toEqual([
      { container: 'notification-service', key: 'BETTER_AUTH_SECRET' },
      { container: 'notification-service', key: 'JWT_SECRET' },
    ]);
  });

  it('lets the backend receive all three keys it reads', () => {
    const p = pod([{ name: 'backend', env: KEYS.map((key) => fromSecret(key, key)) }]);
    expect(overGrants(p, SECRET, KEYS, readSecretKeys.backend ?? [])).toEqual([]);
  });
});
