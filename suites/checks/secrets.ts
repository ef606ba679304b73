// Criterion 7: pods get the database and JWT secrets from the Secret. Values are read only
// into the redactor's memory; reports name keys, never values.
import type * as k8s from '@kubernetes/client-node';
import { CheckFailure, CheckSkip, type Check } from '../lib/check.js';
import { backendServices, podName, podsOfService } from '../lib/cluster.js';
import { isNotFound } from '../lib/errors.js';
import { http } from '../lib/http.js';

/** Which secret-backed variables each service must take by reference: alternatives joined by "|". */
export const requiredSecretEnv: Record<string, string[]> = {
  backend: ['DATABASE_URL', 'BETTER_AUTH_SECRET|JWT_SECRET'],
  'recurring-task-service': ['DATABASE_URL'],
  'notification-service': [],
};

/**
 * The app Secret's keys each service reads (fixtures/todo-stack): the required ones above
 * plus those read when present (the notification service keeps its notifications in the
 * database when it has one). A key beyond these is an over-grant.
 */
export const readSecretKeys: Record<string, string[]> = {
  backend: ['DATABASE_URL', 'BETTER_AUTH_SECRET', 'JWT_SECRET'],
  'recurring-task-service': ['DATABASE_URL'],
  'notification-service': ['DATABASE_URL'],
};

/**
 * The keys of Secret `secretName` a pod's containers receive that the workload does not read,
 * by `secretKeyRef` under any variable name or by `envFrom` of the whole Secret (which grants
 * every key in `secretKeys`, the Secret's keys). The injected `daprd` container is not the
 * workload's.
 */
export function overGrants(pod: k8s.V1Pod, secretName: string, secretKeys: string[], read: string[]): { container: string; key: string }[] {
  const out: { container: string; key: string }[] = [];
  for (const container of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    if (container.name === 'daprd') continue;
    const received = new Set<string>();
    for (const env of container.env ?? []) {
      const ref = env.valueFrom?.secretKeyRef;
      if (ref?.name === secretName) received.add(ref.key);
    }
    for (const from of container.envFrom ?? []) {
      if (from.secretRef?.name === secretName) for (const key of secretKeys) received.add(key);
    }
    // A reference to a key the Secret does not hold grants nothing; it is reported as broken.
    for (const key of [...received].sort()) if (secretKeys.includes(key) && !read.includes(key)) out.push({ container: container.name, key });
  }
  return out;
}

export interface SecretSource {
  variable: string;
  container: string;
  /** "ref" when taken from the Secret, "literal" when written into the pod spec. */
  kind: 'ref' | 'envFrom' | 'literal' | 'other-ref';
  secret?: string;
  key?: string;
}

/** Where each container of a pod gets the variables named in `names`. */
export function secretSources(pod: k8s.V1Pod, names: string[], secretName: string, secretKeys: string[]): SecretSource[] {
  const out: SecretSource[] = [];
  for (const container of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    if (container.name === 'daprd') continue;
    for (const env of container.env ?? []) {
      if (!names.includes(env.name)) continue;
      const ref = env.valueFrom?.secretKeyRef;
      if (ref) out.push({ variable: env.name, container: container.name, kind: ref.name === secretName ? 'ref' : 'other-ref', secret: ref.name, key: ref.key });
      else if (env.value !== undefined) out.push({ variable: env.name, container: container.name, kind: 'literal' });
    }
    for (const from of container.envFrom ?? []) {
      if (from.secretRef?.name === secretName) {
        for (const key of secretKeys) {
          const variable = `${from.prefix ?? ''}${key}`;
          if (names.includes(variable) && !out.some((s) => s.container === container.name && s.variable === variable)) {
            out.push({ variable, container: container.name, kind: 'envFrom', secret: secretName, key });
          }
        }
      }
    }
  }
  return out;
}

const secretKeysCheck: Check = {
  id: 'secret-keys',
  title: 'The app Secret exists with the required keys',
  group: 'secrets',
  criterion: '7. Pods get the database and JWT secrets from the Secret',
  async run(ctx, rec) {
    const { secretName, secretKeys, namespace } = ctx.config;
    let secret: k8s.V1Secret;
    try {
      secret = await ctx.kube.core.readNamespacedSecret({ name: secretName, namespace });
    } catch (error) {
      if (isNotFound(error)) throw new CheckFailure(`Secret ${namespace}/${secretName} does not exist`, `Secret ${secretName}`, 'absent');
      throw error;
    }
    ctx.redactor.addSecretData(secret.data, secret.stringData);
    const present = Object.keys({ ...(secret.data ?? {}), ...(secret.stringData ?? {}) });
    const empty = present.filter((key) => (secret.data?.[key] ?? '') === '' && !secret.stringData?.[key]);
    const missing = secretKeys.filter((key) => !present.includes(key));
    rec.note(`Secret ${secretName} keys: ${present.sort().join(', ')} (values not read into the report)`);
    if (missing.length > 0) throw new CheckFailure(`Secret ${secretName} lacks key(s) ${missing.join(', ')}`, `keys ${secretKeys.join(', ')}`, `keys ${present.join(', ') || 'none'}`);
    const emptyRequired = empty.filter((key) => secretKeys.includes(key));
    if (emptyRequired.length > 0) throw new CheckFailure(`Secret ${secretName} has empty value(s) for ${emptyRequired.join(', ')}`, 'non-empty values', `empty: ${emptyRequired.join(', ')}`);
    const data = secret.data ?? {};
    if (data.BETTER_AUTH_SECRET && data.JWT_SECRET && data.BETTER_AUTH_SECRET !== data.JWT_SECRET) {
      throw new CheckFailure(`Secret ${secretName}: JWT_SECRET differs from BETTER_AUTH_SECRET (the contract wants the same value)`, 'JWT_SECRET == BETTER_AUTH_SECRET', 'different values');
    }
    rec.summary = `Secret ${secretName} holds ${secretKeys.join(', ')}`;
  },
};

const secretRefs: Check = {
  id: 'secret-references',
  title: 'Pods take the database and JWT secrets from the Secret by reference, and only the keys they read',
  group: 'secrets',
  criterion: '7. Pods get the database and JWT secrets from the Secret',
  async run(ctx, rec) {
    const { secretName, secretKeys, namespace } = ctx.config;
    let keys: string[] = [];
    try {
      const secret = await ctx.kube.core.readNamespacedSecret({ name: secretName, namespace });
      keys = Object.keys({ ...(secret.data ?? {}), ...(secret.stringData ?? {}) });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    const problems: string[] = [];
    for (const { service } of backendServices) {
      const pods = (await podsOfService(ctx, service)).filter((p) => p.status?.phase !== 'Succeeded');
      if (pods.length === 0) {
        problems.push(`${service}: no pods`);
        continue;
      }
      const required = requiredSecretEnv[service] ?? [];
      const names = [...new Set([...secretKeys, ...required.flatMap((r) => r.split('|'))])];
      for (const pod of pods) {
        rec.involve(podName(pod));
        const sources = secretSources(pod, names, secretName, secretKeys);
        for (const source of sources) {
          if (source.kind === 'literal') problems.push(`pod ${podName(pod)} container ${source.container}: ${source.variable} is written into the pod spec, not taken from Secret ${secretName}`);
          else if (source.kind === 'other-ref') problems.push(`pod ${podName(pod)} container ${source.container}: ${source.variable} comes from Secret ${source.secret}, expected ${secretName}`);
          else if (source.key && !keys.includes(source.key)) problems.push(`pod ${podName(pod)} container ${source.container}: ${source.variable} references key ${source.key}, which Secret ${secretName} does not hold`);
        }
        for (const { container, key } of overGrants(pod, secretName, keys.length > 0 ? keys : secretKeys, readSecretKeys[service] ?? [])) {
          problems.push(`workload ${service} (pod ${podName(pod)} container ${container}) receives key ${key} of Secret ${secretName}, which it does not read`);
        }
        for (const need of required) {
          const options = need.split('|');
          const found = sources.find((s) => options.includes(s.variable) && (s.kind === 'ref' || s.kind === 'envFrom'));
          if (!found) problems.push(`pod ${podName(pod)} (${service}) does not take ${options.join(' or ')} from Secret ${secretName}`);
          else rec.note(`${podName(pod)}: ${found.variable} <- ${secretName}/${found.key} (${found.kind === 'envFrom' ? 'envFrom' : 'secretKeyRef'}, container ${found.container})`);
        }
      }
    }
    if (problems.length > 0) throw new CheckFailure(problems.join('; '), `secret variables by reference to ${secretName}`, problems.join('; '));
    rec.summary = `backend services take their secrets from ${secretName} by reference, each only the keys it reads`;
  },
};

const databaseConnected: Check = {
  id: 'database-connected',
  title: 'The backend reports its database connected (/health)',
  group: 'secrets',
  criterion: '7. Pods get the database and JWT secrets from the Secret',
  async run(ctx, rec) {
    const endpoint = await ctx.access.service('backend', 8000);
    const response = await http(endpoint, '/health', { timeoutMs: ctx.config.limits.httpTimeoutMs });
    const body = (response.json ?? {}) as { database?: unknown };
    rec.note(`GET /health via ${endpoint.via}: ${response.status} database=${String(body.database)}`);
    if (body.database === undefined) throw new CheckSkip(`backend /health (${response.status}) does not report the database`);
    const ok = body.database === 'connected' || body.database === true || body.database === 'ok' || body.database === 'healthy';
    if (!ok) throw new CheckFailure(`backend /health reports database ${JSON.stringify(body.database)}`, 'database connected', JSON.stringify(body.database));
    rec.summary = 'backend reports its database connected';
  },
};

export const secretChecks: Check[] = [secretKeysCheck, secretRefs, databaseConnected];
