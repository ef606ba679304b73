// The one way the suite builds its Kubernetes client, and the preflight that turns a bad
// target (no kubeconfig, wrong context, unreachable API, missing namespace or release,
// RBAC) into one InputError before any check runs.
import { existsSync, readFileSync } from 'node:fs';
import { delimiter } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { SuiteConfig } from './config.js';
import { apiStatus, InputError, networkErrorCode, oneLine } from './errors.js';
import { withTimeout } from './wait.js';

export interface Kube {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  batch: k8s.BatchV1Api;
  networking: k8s.NetworkingV1Api;
  policy: k8s.PolicyV1Api;
  discovery: k8s.DiscoveryV1Api;
  admission: k8s.AdmissionregistrationV1Api;
  custom: k8s.CustomObjectsApi;
  authz: k8s.AuthorizationV1Api;
  version: k8s.VersionApi;
  /** The context in use, or "in-cluster". */
  contextName: string;
  server: string;
}

/** The kubeconfig files of a KUBECONFIG-style list (`a:b`), as kubectl reads them. */
export const kubeconfigFiles = (kubeconfig: string): string[] => kubeconfig.split(delimiter).filter((file) => file !== '');

interface KubeconfigData {
  clusters: k8s.Cluster[];
  users: k8s.User[];
  contexts: k8s.Context[];
  currentContext: string;
}

/**
 * Every file of the list merged as kubectl merges them: files that do not exist are left out
 * (unless none exists), the first file to name a cluster, user or context wins, and so does
 * the first current-context.
 */
function readKubeconfigs(kubeconfig: string): KubeconfigData {
  const files = kubeconfigFiles(kubeconfig);
  const present = files.filter((file) => existsSync(file));
  if (present.length === 0) {
    throw new InputError('kubeconfigMissing', `kubeconfig ${kubeconfig} does not exist (set --kubeconfig or KUBECONFIG)`);
  }
  const merged: KubeconfigData = { clusters: [], users: [], contexts: [], currentContext: '' };
  for (const file of present) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new InputError('kubeconfigMissing', `kubeconfig ${file} cannot be read: ${oneLine(error)}`);
    }
    if (text.trim() === '') continue;
    const one = new k8s.KubeConfig();
    try {
      one.loadFromString(text);
    } catch (error) {
      throw new InputError('kubeconfigMissing', `kubeconfig ${file} is not a valid kubeconfig: ${oneLine(error)}`);
    }
    const add = <T extends { name: string }>(into: T[], items: T[]) => {
      for (const item of items) if (!into.some((known) => known.name === item.name)) into.push(item);
    };
    add(merged.clusters, one.getClusters());
    add(merged.users, one.getUsers());
    add(merged.contexts, one.getContexts());
    merged.currentContext ||= one.getCurrentContext() ?? '';
  }
  return merged;
}

/** The namespace the kubeconfig's context names (kubectl's default namespace), if any. */
export function contextNamespace(kubeconfig: string, context: string | undefined): string | undefined {
  try {
    const data = readKubeconfigs(kubeconfig);
    const name = context ?? data.currentContext;
    return data.contexts.find((candidate) => candidate.name === name)?.namespace || undefined;
  } catch {
    // loadKubeConfig reports what is wrong with the kubeconfig.
    return undefined;
  }
}

export function loadKubeConfig(config: Pick<SuiteConfig, 'kubeconfig' | 'context'>): { kc: k8s.KubeConfig; contextName: string } {
  const kc = new k8s.KubeConfig();
  if (config.kubeconfig === undefined) {
    try {
      kc.loadFromCluster();
    } catch {
      throw new InputError('kubeconfigMissing', 'no kubeconfig: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config');
    }
    return { kc, contextName: 'in-cluster' };
  }
  const data = readKubeconfigs(config.kubeconfig);
  const names = data.contexts.map((context) => context.name);
  if (names.length === 0) {
    throw new InputError('kubeconfigMissing', `kubeconfig ${config.kubeconfig} defines no context (empty or not a kubeconfig); pass one that does with --kubeconfig`);
  }
  const wanted = config.context ?? data.currentContext;
  if (!wanted) {
    throw new InputError('contextInvalid', `kubeconfig ${config.kubeconfig} has no current context; pass --context (contexts: ${names.join(', ')})`);
  }
  if (!names.includes(wanted)) {
    throw new InputError('contextInvalid', `context "${wanted}" is not in kubeconfig ${config.kubeconfig} (contexts: ${names.join(', ')})`);
  }
  kc.loadFromOptions({ clusters: data.clusters, users: data.users, contexts: data.contexts, currentContext: wanted });
  if (!kc.getCurrentCluster()) {
    throw new InputError('contextInvalid', `context "${wanted}" names a cluster that kubeconfig ${config.kubeconfig} does not define`);
  }
  return { kc, contextName: wanted };
}

export function buildKube(config: Pick<SuiteConfig, 'kubeconfig' | 'context'>): Kube {
  const { kc, contextName } = loadKubeConfig(config);
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    batch: kc.makeApiClient(k8s.BatchV1Api),
    networking: kc.makeApiClient(k8s.NetworkingV1Api),
    policy: kc.makeApiClient(k8s.PolicyV1Api),
    discovery: kc.makeApiClient(k8s.DiscoveryV1Api),
    admission: kc.makeApiClient(k8s.AdmissionregistrationV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    authz: kc.makeApiClient(k8s.AuthorizationV1Api),
    version: kc.makeApiClient(k8s.VersionApi),
    contextName,
    server: kc.getCurrentCluster()?.server ?? 'unknown',
  };
}

export interface ReleaseInfo {
  name: string;
  revision: number;
  status: string;
  /** Where Helm keeps the release: secrets or configmaps. */
  storage: 'secrets' | 'configmaps';
}

export interface Preflight {
  serverVersion: string;
  release: ReleaseInfo;
}

const preflightTimeoutMs = 15_000;

/** Map an API failure during preflight to the InputError a user can act on. */
function asInputError(error: unknown, kube: Kube, doing: string): InputError {
  if (error instanceof InputError) return error;
  const status = apiStatus(error);
  if (status === 403) return new InputError('forbidden', `RBAC forbids ${doing} (403 for context "${kube.contextName}"); see suites/README.md for the Role the suite needs`);
  if (status === 401) return new InputError('contextInvalid', `the API server at ${kube.server} rejected the credentials of context "${kube.contextName}" (401)`);
  if (status === undefined) {
    const code = networkErrorCode(error);
    if (code) return new InputError('clusterUnreachable', `cannot reach the Kubernetes API at ${kube.server} for context "${kube.contextName}" (${code})`);
    // No answer and no network failure: the context's connection settings are unusable.
    return new InputError('contextInvalid', `cannot talk to the Kubernetes API at ${kube.server} with context "${kube.contextName}": ${oneLine(error)}`);
  }
  return new InputError('internal', `${doing} failed: ${oneLine(error)}`);
}

async function call<T>(kube: Kube, doing: string, work: () => Promise<T>): Promise<T> {
  try {
    return await withTimeout(doing, preflightTimeoutMs, () => work());
  } catch (error) {
    if (error instanceof Error && error.message.includes('did not finish within') && apiStatus(error) === undefined) {
      throw new InputError('clusterUnreachable', `cannot reach the Kubernetes API at ${kube.server} for context "${kube.contextName}" (no answer within ${preflightTimeoutMs / 1000} s)`);
    }
    throw asInputError(error, kube, doing);
  }
}

/** Find the newest revision of a Helm release from Helm's own storage objects. */
export async function findRelease(kube: Kube, namespace: string, release: string): Promise<ReleaseInfo | undefined> {
  const labelSelector = `owner=helm,name=${release}`;
  const fromLabels = (items: { metadata?: k8s.V1ObjectMeta }[], storage: ReleaseInfo['storage']): ReleaseInfo | undefined => {
    let newest: ReleaseInfo | undefined;
    for (const item of items) {
      const labels = item.metadata?.labels ?? {};
      const revision = Number(labels.version ?? '0');
      if (!newest || revision > newest.revision) newest = { name: release, revision, status: labels.status ?? 'unknown', storage };
    }
    return newest;
  };
  const secrets = await kube.core.listNamespacedSecret({ namespace, labelSelector });
  const inSecrets = fromLabels(secrets.items, 'secrets');
  if (inSecrets) return inSecrets;
  try {
    const maps = await kube.core.listNamespacedConfigMap({ namespace, labelSelector });
    return fromLabels(maps.items, 'configmaps');
  } catch (error) {
    if (apiStatus(error) === 403) return undefined;
    throw error;
  }
}

/** The verbs the suite needs beyond reads it tries directly; checked with SelfSubjectAccessReview. */
const neededAccess: { verb: string; resource: string; subresource?: string; why: string }[] = [
  { verb: 'create', resource: 'pods', subresource: 'portforward', why: 'port-forward to services' },
  { verb: 'get', resource: 'pods', subresource: 'log', why: 'container logs for diagnostics' },
];

/** The server answers /version as a Kubernetes API server does (exit 4 or 5 otherwise). */
export async function serverVersion(kube: Kube): Promise<k8s.VersionInfo> {
  try {
    return await call(kube, 'reading the server version', () => kube.version.getCode());
  } catch (error) {
    if (error instanceof InputError && error.kind === 'internal') {
      throw new InputError('clusterUnreachable', `${kube.server} for context "${kube.contextName}" is not a Kubernetes API server (${error.message})`);
    }
    throw error;
  }
}

/** Cluster reachable, namespace there (exit 5, 4 or 6 otherwise). */
export async function checkTarget(kube: Kube, namespace: string): Promise<k8s.VersionInfo> {
  const version = await serverVersion(kube);
  try {
    await withTimeout('reading the namespace', preflightTimeoutMs, () => kube.core.readNamespace({ name: namespace }));
  } catch (error) {
    if (apiStatus(error) === 404) throw new InputError('namespaceMissing', `namespace "${namespace}" does not exist in context "${kube.contextName}" (set --namespace)`);
    // A namespaced Role cannot grant get on namespaces: reading pods in it shows it is there.
    if (apiStatus(error) !== 403) throw asInputError(error, kube, `get namespace ${namespace}`);
    await call(kube, `get namespace ${namespace} or list pods in it`, () => kube.core.listNamespacedPod({ namespace, limit: 1 }));
  }
  return version;
}

/** The release is there (exit 7 otherwise). */
export async function checkRelease(kube: Kube, namespace: string, release: string): Promise<ReleaseInfo> {
  const found = await call(kube, `list secrets in namespace ${namespace}`, () => findRelease(kube, namespace, release));
  if (!found) {
    throw new InputError('releaseMissing', `Helm release "${release}" not found in namespace "${namespace}" (no Helm storage Secret or ConfigMap labelled name=${release}; set --release)`);
  }
  return found;
}

export async function preflight(kube: Kube, config: Pick<SuiteConfig, 'namespace' | 'release' | 'access'>): Promise<Preflight> {
  const { namespace, release } = config;
  const version = await checkTarget(kube, namespace);
  await call(kube, `list pods in namespace ${namespace}`, () => kube.core.listNamespacedPod({ namespace, limit: 1 }));
  await call(kube, `list deployments in namespace ${namespace}`, () => kube.apps.listNamespacedDeployment({ namespace, limit: 1 }));
  await call(kube, `list services in namespace ${namespace}`, () => kube.core.listNamespacedService({ namespace, limit: 1 }));
  await call(kube, `list events in namespace ${namespace}`, () => kube.core.listNamespacedEvent({ namespace, limit: 1 }));
  const found = await checkRelease(kube, namespace, release);
  if (config.access !== 'url' && config.access !== 'in-cluster') {
    for (const need of neededAccess) {
      let allowed = true;
      try {
        const review = await withTimeout('access review', preflightTimeoutMs, () =>
          kube.authz.createSelfSubjectAccessReview({
            body: { spec: { resourceAttributes: { namespace, verb: need.verb, resource: need.resource, subresource: need.subresource } } },
          }),
        );
        allowed = review.status?.allowed ?? true;
      } catch {
        // A cluster that forbids access reviews still lets the real call decide.
      }
      if (!allowed) {
        throw new InputError('forbidden', `RBAC forbids ${need.verb} ${need.resource}/${need.subresource} in namespace ${namespace}, needed for ${need.why}; see suites/README.md`);
      }
    }
  }
  return { serverVersion: version.gitVersion, release: found };
}
