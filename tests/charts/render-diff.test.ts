/**
 * The umbrella renders the same objects (kinds, names, labels, specs) as before the three
 * Dapr service charts shared one implementation: snapshots/ holds the renders of that time.
 * The only differences allowed are the ones listed in INTENDED, each applied to the old
 * render before the comparison, so this file is also the list of what changed on purpose.
 * All four environments, with Helm 3 and Helm 4.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ENVIRONMENTS,
  UMBRELLA_DIR,
  ensureUmbrellaDependencies,
  environmentValues,
  helmBinaries,
  parseManifests,
  render,
  type Environment,
  type HelmBinary,
  type K8sObject,
} from '../support/helm.js';
import { podTemplate, type Container } from './model.js';

const SNAPSHOT_DIR = join(dirname(fileURLToPath(import.meta.url)), 'snapshots');

interface IntendedChange {
  /** What changed and why, as a failure message would need it. */
  why: string;
  /**
   * Turns an object of the old render into what the charts render now; `all` is that whole
   * render, `current` the new one (for a part whose own content render.test.ts checks).
   */
  apply(object: K8sObject, all: K8sObject[], current: K8sObject[], environment: Environment): void;
}

/** Secret keys each Dapr service reads, the rest of what the old charts gave all three. */
const SECRET_KEYS_NOT_READ: Record<string, string[]> = {
  'recurring-task-service': ['BETTER_AUTH_SECRET', 'JWT_SECRET'],
  'notification-service': ['BETTER_AUTH_SECRET', 'JWT_SECRET'],
};

const DAPR_SERVICES = ['backend', 'recurring-task-service', 'notification-service'];

const INTENDED: IntendedChange[] = [
  {
    why: 'the frontend\'s CPU limit is 1 where it was 500m (default and staging): under 100 users its sign-ins (a password hash each) throttled it in 29 % of its CPU periods',
    apply(object) {
      if (object.kind !== 'Deployment' || object.metadata.name !== 'frontend') return;
      const container = podTemplate(object).spec.containers.find((c) => c.name === 'frontend');
      const limits = (container?.resources as { limits?: Record<string, string> } | undefined)?.limits;
      if (limits?.cpu === '500m') limits.cpu = '1';
    },
  },
  {
    why: "staging's frontend requests 250m of CPU where it asked 100m: 100 users take 290m, 145m per replica, which is 58 % of 250m, under the HPA's 70 % target (at 100m the plan's load alone drove it to its maximum)",
    apply(object, all) {
      if (object.kind !== 'Deployment' || object.metadata.name !== 'frontend') return;
      const hpa = all.find((other) => other.kind === 'HorizontalPodAutoscaler' && other.metadata.name === 'frontend') as { spec?: { maxReplicas?: number } } | undefined;
      if (hpa?.spec?.maxReplicas !== 4) return;
      const container = podTemplate(object).spec.containers.find((c) => c.name === 'frontend');
      const requests = (container?.resources as { requests?: Record<string, string> } | undefined)?.requests;
      if (requests?.cpu === '100m') requests.cpu = '250m';
    },
  },
  {
    why: 'pod templates of Deployments and StatefulSets no longer carry helm.sh/chart: a release that changes only the chart version restarts no pod',
    apply(object) {
      if (object.kind !== 'Deployment' && object.kind !== 'StatefulSet') return;
      delete podTemplate(object).metadata.labels?.['helm.sh/chart'];
    },
  },
  {
    why: 'the default values run two frontend pods, as the deployment plan sizes it (one restarting, rolling out or on a drained node leaves the other serving); dev keeps one',
    apply(object, _all, _current, environment) {
      if (environment !== 'default' || object.kind !== 'Deployment' || object.metadata.name !== 'frontend') return;
      const spec = object.spec as { replicas?: number };
      if (spec.replicas === 1) spec.replicas = 2;
    },
  },
  {
    why: 'topology spread counts only the pods of the same revision (matchLabelKeys pod-template-hash): counting the old ones, a rollout after a drain put every new pod on the emptied node',
    apply(object) {
      if (object.kind !== 'Deployment') return;
      for (const constraint of (podTemplate(object).spec.topologySpreadConstraints ?? []) as Record<string, unknown>[]) {
        constraint.matchLabelKeys = ['pod-template-hash'];
      }
    },
  },
  {
    why: "prod's frontend (a LoadBalancer with externalTrafficPolicy Local) is probed for readiness every 2 s, unready after 2 failures, and keeps serving 15 s after SIGTERM (SHUTDOWN_DELAY_MS): the balancer moves to the other nodes before the pod closes, where a drained node dropped 4.6 s of requests",
    apply(object, all) {
      const service = all.find((other) => other.kind === 'Service' && other.metadata.name === 'frontend') as { spec?: { externalTrafficPolicy?: string } } | undefined;
      if (service?.spec?.externalTrafficPolicy !== 'Local') return;
      if (object.kind === 'ConfigMap' && object.metadata.name === 'frontend-env') {
        (object.data as Record<string, string>).SHUTDOWN_DELAY_MS = '15000';
      }
      if (object.kind === 'Deployment' && object.metadata.name === 'frontend') {
        const readiness = podTemplate(object).spec.containers.find((c) => c.name === 'frontend')?.readinessProbe as Record<string, unknown> | undefined;
        if (readiness) Object.assign(readiness, { periodSeconds: 2, failureThreshold: 2 });
      }
    },
  },
  {
    why: "checksum/config of the frontend and the Dapr services hashes their own ConfigMap's data (sorted JSON) instead of the whole rendered ConfigMap, whose labels change with the chart version",
    apply(object, all) {
      if (object.kind !== 'Deployment') return;
      const annotations = podTemplate(object).metadata.annotations ?? {};
      if (!annotations['checksum/config']) return;
      const configMap = all.find((other) => other.kind === 'ConfigMap' && other.metadata.name === `${object.metadata.name}-env`);
      const data = (configMap?.data ?? {}) as Record<string, string>;
      const sorted = Object.fromEntries(Object.keys(data).sort().map((key) => [key, data[key]]));
      annotations['checksum/config'] = createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
    },
  },
  {
    why: 'recurring-task-service and notification-service no longer receive BETTER_AUTH_SECRET and JWT_SECRET: they check no sessions (each workload gets only the Secret keys it reads)',
    apply(object) {
      const notRead = SECRET_KEYS_NOT_READ[object.metadata.name];
      if (object.kind !== 'Deployment' || !notRead) return;
      for (const container of podTemplate(object).spec.containers) {
        container.env = container.env?.filter((variable) => !notRead.includes(variable.valueFrom?.secretKeyRef?.key ?? ''));
      }
    },
  },
  {
    why: "the Dapr services' pods wait for a Kafka broker in an init container (wait-for-kafka): their sidecar exits while no broker answers, and crash-looped on a fresh install",
    apply(object, _all, current) {
      if (object.kind !== 'Deployment' || !DAPR_SERVICES.includes(object.metadata.name)) return;
      const now = current.find((other) => other.kind === 'Deployment' && other.metadata.name === object.metadata.name);
      const wait = now ? podTemplate(now).spec.initContainers?.filter((c) => c.name === 'wait-for-kafka') : undefined;
      if (wait?.length) podTemplate(object).spec.initContainers = wait;
    },
  },
  {
    why: "the Dapr services' pods reserve the sidecar's ports (net.ipv4.ip_local_reserved_ports): a connection made before daprd listened took 50002 as its local port, and daprd exited with 'address already in use' until it closed",
    apply(object) {
      if (object.kind !== 'Deployment' || !DAPR_SERVICES.includes(object.metadata.name)) return;
      const spec = podTemplate(object).spec as { securityContext?: Record<string, unknown> };
      spec.securityContext = { ...spec.securityContext, sysctls: [{ name: 'net.ipv4.ip_local_reserved_ports', value: '3500,3501,9090,50001,50002' }] };
    },
  },
  {
    why: "each chart's test-health pod is labelled component test (with its chart's component it matched the selector of the Service it calls, became one of its endpoints, and its request could land on itself), and calls up to six times (a new pod's first packets may precede the network-policy rules that admit it)",
    apply(object, _all, current) {
      if (object.kind !== 'Pod' || !object.metadata.name.endsWith('-test-health')) return;
      const labels = object.metadata.labels;
      if (labels?.['app.kubernetes.io/component']) labels['app.kubernetes.io/component'] = 'test';
      const now = current.find((other) => other.kind === 'Pod' && other.metadata.name === object.metadata.name);
      const [health] = (object.spec as { containers: Container[] }).containers;
      const [healthNow] = now ? (now.spec as { containers: Container[] }).containers : [];
      const url = health?.command?.at(-1);
      if (!health || !healthNow || healthNow.env?.[0]?.value !== url) return;
      health.command = healthNow.command;
      health.env = healthNow.env;
    },
  },
];

function identity(object: K8sObject): string {
  return `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

function snapshot(environment: Environment): K8sObject[] {
  return parseManifests(readFileSync(join(SNAPSHOT_DIR, `todo-app-${environment}.yaml`), 'utf8'));
}

describe.each(helmBinaries())('umbrella render compared with the snapshot ($label)', (binary: HelmBinary) => {
  beforeAll(async () => {
    await ensureUmbrellaDependencies(binary);
  });

  it.each(ENVIRONMENTS)('%s: the same objects, differing only as INTENDED lists', async (environment) => {
    const { objects: actual } = await render(binary, UMBRELLA_DIR, {
      namespace: 'todo-app',
      valuesFiles: environmentValues(environment),
    });
    const expected = snapshot(environment);
    for (const change of INTENDED) for (const object of expected) change.apply(object, expected, actual, environment);

    expect(actual.map(identity).sort()).toEqual(expected.map(identity).sort());
    const rendered = new Map(actual.map((object) => [identity(object), object]));
    const intended = INTENDED.map((change) => `- ${change.why}`).join('\n') || '(none)';
    for (const object of expected) {
      expect(rendered.get(identity(object)), `${identity(object)} differs beyond the intended changes:\n${intended}`).toEqual(object);
    }
  });
});
