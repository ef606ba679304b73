// The plan's security requirement as the cluster enforces it: the backend services and Kafka
// admit only their allowed peers (their own namespace, Dapr's control plane), whatever
// Service type they have. First the NetworkPolicies are read: each guarded Service's pods
// must be selected by one that restricts ingress. Then a probe proves it on the network,
// from a namespace of its own, outside every allow-list: a canary pod behind a deny-all
// policy shows whether the cluster enforces policies at all (where it does not, the check
// says so and skips), a Service of the probe's own namespace must answer (so the cluster
// DNS and Service routing work, and a refusal is the policy's), and every guarded Service
// must refuse. The probe's namespace is deleted after.
import type * as k8s from '@kubernetes/client-node';
import { CheckFailure, CheckSkip, type Check, type CheckContext, type Recorder } from '../lib/check.js';
import { backendServices, readService, selects } from '../lib/cluster.js';
import { isForbidden } from '../lib/errors.js';
import { Hopeless, sleep, waitUntil } from '../lib/wait.js';
import { kafkaService } from './kafka.js';

export const guardedServices = [...backendServices.map((entry) => entry.service), kafkaService];

/** The policies that restrict ingress to pods with these labels. */
export function ingressPolicies(policies: k8s.V1NetworkPolicy[], labels: Record<string, string>): k8s.V1NetworkPolicy[] {
  return policies.filter((policy) => {
    // Without policyTypes a policy always restricts ingress (and egress too, when it has rules for it).
    const types = policy.spec?.policyTypes ?? ['Ingress'];
    return types.includes('Ingress') && selects(policy.spec?.podSelector, labels);
  });
}

/** An ingress rule that admits every source on every port undoes the restriction. */
export function admitsEverything(policy: k8s.V1NetworkPolicy): boolean {
  return (policy.spec?.ingress ?? []).some((rule) => (rule._from ?? []).length === 0 && (rule.ports ?? []).length === 0);
}

interface Target {
  service: string;
  host: string;
  port: number;
}

function target(namespace: string, service: k8s.V1Service): Target | undefined {
  const name = service.metadata?.name ?? '?';
  const port = service.spec?.ports?.find((entry) => (entry.protocol ?? 'TCP') === 'TCP')?.port;
  return port === undefined ? undefined : { service: name, host: `${name}.${namespace}.svc.cluster.local`, port };
}

/** Step 1: each guarded Service's pods are behind an ingress policy. One line per gap. */
async function policyGaps(ctx: CheckContext, rec: Recorder, services: k8s.V1Service[]): Promise<string[]> {
  const policies = (await ctx.kube.networking.listNamespacedNetworkPolicy({ namespace: ctx.config.namespace })).items;
  rec.measure('NetworkPolicies', policies.length, 'policies');
  const gaps: string[] = [];
  for (const found of services) {
    const service = found.metadata?.name ?? '?';
    const labels = found.spec?.selector ?? {};
    const covering = ingressPolicies(policies, labels);
    if (covering.length === 0) {
      gaps.push(`no NetworkPolicy selects the pods of Service ${service}: they accept connections from any pod of the cluster`);
    } else if (covering.some(admitsEverything)) {
      gaps.push(`NetworkPolicy ${covering.find(admitsEverything)?.metadata?.name} admits every source on every port to the pods of Service ${service}`);
    } else {
      rec.note(`Service ${service}: ingress restricted by ${covering.map((policy) => `NetworkPolicy ${policy.metadata?.name}`).join(', ')}`);
    }
  }
  return gaps;
}

const probeLabel = 'todo.suite/probe';
const canaryPort = 8080;
// The Service of the probe's namespace that no policy selects: the control.
const openService = 'open';
// How long the probe keeps trying the canary: a policy controller programs a new pod's rules
// within a second or two of seeing it.
const canaryAttempts = 10;

function restricted(): k8s.V1SecurityContext {
  return { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } };
}

function podSpec(image: string, command: string[]): k8s.V1PodSpec {
  return {
    restartPolicy: 'Never',
    automountServiceAccountToken: false,
    terminationGracePeriodSeconds: 1,
    containers: [{
      name: 'probe',
      image,
      command,
      securityContext: restricted(),
      resources: { requests: { cpu: '10m', memory: '8Mi' }, limits: { cpu: '100m', memory: '32Mi' } },
    }],
  };
}

/**
 * The probe: tries the canary until it is refused (policies enforced) or every attempt got
 * in (not enforced), then every target at once, each once (the control up to three times).
 * One line per result: `canary open|closed` and `HOST:PORT open|closed`.
 */
export const probeScript = `
canary=$1; shift
state=open
i=0
while [ $i -lt ${canaryAttempts} ]; do
  if ! nc -w 2 \${canary%:*} \${canary##*:} -e true 2>/dev/null; then state=closed; break; fi
  i=$((i + 1)); sleep 1
done
echo "canary $state"
for target in "$@"; do
  (
    state=closed
    for attempt in 1 2 3; do
      if nc -w 3 \${target%:*} \${target##*:} -e true 2>/dev/null; then state=open; break; fi
      [ "\${target%%.*}" = "${openService}" ] || break
      sleep 2
    done
    echo "$target $state"
  ) &
done
wait
`;

/** The probe's answers, by "canary" or HOST:PORT. */
export function parseProbe(log: string): Map<string, 'open' | 'closed'> {
  const results = new Map<string, 'open' | 'closed'>();
  for (const line of log.split('\n')) {
    const match = /^(\S+) (open|closed)$/.exec(line.trim());
    if (match?.[1] && (match[2] === 'open' || match[2] === 'closed')) results.set(match[1], match[2]);
  }
  return results;
}

/** The busybox image the release already runs (its wait-for-kafka init container), so the cluster can pull it. */
export function probeImage(pods: k8s.V1Pod[]): string {
  for (const pod of pods) {
    for (const container of pod.spec?.initContainers ?? []) {
      if (container.image && /(^|\/)busybox(:|@|$)/.test(container.image)) return container.image;
    }
  }
  return 'busybox:1.37';
}

async function waitForPod(ctx: CheckContext, namespace: string, name: string, phases: string[], timeoutMs: number): Promise<k8s.V1Pod> {
  return waitUntil(`pod ${namespace}/${name} to be ${phases.join(' or ')}`, async () => {
    const pod = await ctx.kube.core.readNamespacedPod({ name, namespace });
    const phase = pod.status?.phase ?? 'Pending';
    const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting;
    if (waiting && ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError'].includes(waiting.reason ?? '')) {
      throw new Hopeless(`${waiting.reason}: ${waiting.message ?? ''}`.trim());
    }
    if (phases.includes(phase) && (phase !== 'Running' || pod.status?.podIP)) return { done: true, value: pod };
    if (phase === 'Failed') throw new Hopeless(`pod ${name} failed: ${pod.status?.containerStatuses?.[0]?.state?.terminated?.reason ?? 'unknown'}`);
    return { done: false, seen: `${phase}${waiting?.reason ? ` (${waiting.reason})` : ''}` };
  }, { timeoutMs, intervalMs: 1000, signal: ctx.signal });
}

/** Step 2: the probe from a namespace outside every allow-list. */
async function probe(ctx: CheckContext, rec: Recorder, targets: Target[], image: string): Promise<{ namespace: string; results: Map<string, 'open' | 'closed'> }> {
  const suffix = Math.random().toString(36).slice(2, 8);
  const namespace = `${ctx.config.namespace.slice(0, 40)}-netprobe-${suffix}`;
  try {
    await ctx.kube.core.createNamespace({ body: { metadata: { name: namespace, labels: { [probeLabel]: 'true', 'app.kubernetes.io/managed-by': 'todo-suite' } } } });
  } catch (error) {
    if (isForbidden(error)) throw new CheckSkip(`the policies are in place, but the probe cannot run: creating a namespace is forbidden to this identity (it needs create on namespaces, and on pods and networkpolicies in its own)`);
    throw error;
  }
  rec.note(`probe namespace ${namespace}, image ${image}`);
  try {
    await ctx.kube.networking.createNamespacedNetworkPolicy({ namespace, body: {
      metadata: { name: 'deny-canary' },
      spec: { podSelector: { matchLabels: { [probeLabel]: 'canary' } }, policyTypes: ['Ingress'] },
    } });
    await ctx.kube.core.createNamespacedPod({ namespace, body: {
      metadata: { name: 'canary', labels: { [probeLabel]: 'canary' } },
      // httpd, which every busybox build has (its nc's listening options differ between builds).
      spec: podSpec(image, ['httpd', '-f', '-p', String(canaryPort), '-h', '/tmp']),
    } });
    await ctx.kube.core.createNamespacedPod({ namespace, body: {
      metadata: { name: openService, labels: { [probeLabel]: openService } },
      spec: podSpec(image, ['httpd', '-f', '-p', String(canaryPort), '-h', '/tmp']),
    } });
    await ctx.kube.core.createNamespacedService({ namespace, body: {
      metadata: { name: openService },
      spec: { selector: { [probeLabel]: openService }, ports: [{ port: canaryPort, targetPort: canaryPort }] },
    } });
    const canary = await waitForPod(ctx, namespace, 'canary', ['Running'], 90_000);
    await waitForPod(ctx, namespace, openService, ['Running'], 90_000);
    const control = `${openService}.${namespace}.svc.cluster.local:${canaryPort}`;
    const args = [`${canary.status?.podIP}:${canaryPort}`, control, ...targets.map((entry) => `${entry.host}:${entry.port}`)];
    await ctx.kube.core.createNamespacedPod({ namespace, body: {
      metadata: { name: 'probe', labels: { [probeLabel]: 'client' } },
      spec: podSpec(image, ['sh', '-c', probeScript, 'probe', ...args]),
    } });
    await waitForPod(ctx, namespace, 'probe', ['Succeeded'], 120_000);
    const log = await ctx.kube.core.readNamespacedPodLog({ name: 'probe', namespace });
    return { namespace, results: parseProbe(log) };
  } catch (error) {
    if (error instanceof Hopeless) throw new CheckSkip(`the probe pod could not run (${error.message}); the policies were only read`);
    throw error;
  } finally {
    await ctx.kube.core.deleteNamespace({ name: namespace, propagationPolicy: 'Background' }).catch(() => undefined);
  }
}

const networkPolicy: Check = {
  id: 'network-policy',
  title: 'The backend services and Kafka admit only their allowed peers',
  group: 'security',
  criterion: 'security: backend services reachable only from their allowed peers',
  async run(ctx, rec) {
    const services: k8s.V1Service[] = [];
    for (const name of guardedServices) {
      const found = await readService(ctx, name);
      if (found) services.push(found);
    }
    const gaps = await policyGaps(ctx, rec, services);
    const targets = services.flatMap((service) => target(ctx.config.namespace, service) ?? []);
    let probed: { namespace: string; results: Map<string, 'open' | 'closed'> };
    try {
      probed = await probe(ctx, rec, targets, probeImage(await ctx.shared.releasePods()));
    } catch (error) {
      if (error instanceof CheckSkip && gaps.length > 0) throw new CheckFailure(gaps.join('; '), 'ingress restricted by a NetworkPolicy', 'unrestricted');
      throw error;
    }
    const { results } = probed;
    const answer = (entry: Target) => results.get(`${entry.host}:${entry.port}`);
    const enforced = results.get('canary') === 'closed';
    rec.note(`canary behind a deny-all policy: ${enforced ? 'refused (the cluster enforces NetworkPolicies)' : 'answered (the cluster does not enforce NetworkPolicies)'}`);
    const control = `${openService}.${probed.namespace}.svc.cluster.local:${canaryPort}`;
    if (results.get(control) !== 'open') {
      if (gaps.length > 0) throw new CheckFailure(gaps.join('; '), 'ingress restricted by a NetworkPolicy', 'unrestricted');
      throw new CheckSkip(`the probe could not reach a Service of its own namespace (${control}), so a refusal would prove nothing: the cluster DNS or Service routing fails from new pods; the policies were only read`);
    }
    const open = targets.filter((entry) => answer(entry) === 'open');
    rec.measure('guarded services reachable from outside', open.length, 'services', 0);
    for (const entry of targets) rec.note(`${entry.service} :${entry.port} from another namespace: ${answer(entry) ?? 'not probed'}`);
    if (gaps.length > 0 || (enforced && open.length > 0)) {
      const reachable = enforced ? open.map((entry) => `${entry.service} (:${entry.port}) answered a pod in another namespace`) : [];
      throw new CheckFailure([...gaps, ...reachable].join('; '), 'refused from outside the allowed peers', `${open.map((entry) => entry.service).join(', ') || 'none'} reachable`);
    }
    if (!enforced) {
      const reached = open.length > 0 ? `a pod in another namespace reached ${open.map((entry) => entry.service).join(', ')}` : 'the guarded services refused the probe all the same';
      throw new CheckSkip(`the policies are in place, but this cluster does not enforce NetworkPolicies (a pod behind a deny-all policy answered; ${reached}); install a policy controller (Calico, Cilium, kube-router)`);
    }
    rec.summary = `${targets.length} guarded services refused a pod in another namespace, which reached a Service of its own`;
  },
};

export const networkChecks: Check[] = [networkPolicy];
