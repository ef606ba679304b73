/**
 * What the charts render, checked object by object: the stack contract (names, ports,
 * secrets, config, Dapr), the production-grade defaults (probes, resources, securityContext,
 * rollouts, PDBs, spread, NetworkPolicies, checksums) and the schema's and validateValues'
 * refusals. Rendering is offline (`helm template`), with Helm 3 and Helm 4.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ENVIRONMENTS,
  HELM_DIR,
  SUBCHARTS,
  UMBRELLA_DIR,
  ensureChartDependencies,
  ensureUmbrellaDependencies,
  environmentValues,
  findObject,
  helm,
  helmBinaries,
  render,
  templateArgs,
  type Environment,
  type HelmBinary,
  type K8sObject,
  type RenderOptions,
} from '../support/helm.js';
import {
  allContainers,
  ingressAllowed,
  podOwners,
  podTemplate,
  targetFor,
  type PodSpec,
  type PodTemplate,
  workloads,
  type NetworkPolicy,
  type Source,
  type Workload,
} from './model.js';

const NAMESPACE = 'todo-app';
/** The Dapr services, their contract ports and the app-secrets keys each reads (fixtures/todo-stack). */
const DAPR_SERVICES = [
  { name: 'backend', port: 8000, secrets: ['BETTER_AUTH_SECRET', 'DATABASE_URL', 'JWT_SECRET'] },
  { name: 'recurring-task-service', port: 8001, secrets: ['DATABASE_URL'] },
  { name: 'notification-service', port: 8002, secrets: ['DATABASE_URL'] },
] as const;
const APP_DEPLOYMENTS = ['frontend', ...DAPR_SERVICES.map((service) => service.name)];
const SECRET_NAME = 'app-secrets';
/** Env names whose value must never be a literal in a rendered manifest. */
const SENSITIVE_ENV = /SECRET|PASSWORD|TOKEN|DATABASE_URL|CREDENTIAL/i;

interface Component extends K8sObject {
  spec: {
    type: string;
    metadata: { name: string; value?: string; secretKeyRef?: { name: string; key: string } }[];
  };
  scopes?: string[];
  auth?: { secretStore: string };
}

function umbrella(binary: HelmBinary, environment: Environment, options: RenderOptions = {}) {
  return render(binary, UMBRELLA_DIR, {
    ...options,
    namespace: NAMESPACE,
    valuesFiles: [...environmentValues(environment), ...(options.valuesFiles ?? [])],
  });
}

function deployment(objects: K8sObject[], name: string): Workload {
  return findObject(objects, 'Deployment', name) as Workload;
}

function metadataValue(component: Component, name: string) {
  return component.spec.metadata.find((entry) => entry.name === name);
}

describe.each(helmBinaries())('umbrella chart rendered with $label', (binary: HelmBinary) => {
  const renders = new Map<Environment, K8sObject[]>();

  beforeAll(async () => {
    await ensureUmbrellaDependencies(binary);
    for (const environment of ENVIRONMENTS) {
      const { objects, durationMs } = await umbrella(binary, environment);
      renders.set(environment, objects);
      console.info(`[${binary.label}] ${environment}: ${objects.length} objects rendered in ${durationMs.toFixed(0)} ms`);
    }
  });

  const objectsOf = (environment: Environment): K8sObject[] => {
    const objects = renders.get(environment);
    if (!objects) throw new Error(`no render for ${environment}`);
    return objects;
  };

  describe.each(ENVIRONMENTS)('environment %s', (environment) => {
    it('names the Services as the contract does, on the contract ports', () => {
      const objects = objectsOf(environment);
      const ports = (name: string) =>
        ((findObject(objects, 'Service', name).spec as { ports: { port: number }[] }).ports ?? []).map((p) => p.port);
      expect(ports('frontend')).toEqual([80]);
      expect(ports('backend')).toEqual([8000]);
      expect(ports('recurring-task-service')).toEqual([8001]);
      expect(ports('notification-service')).toEqual([8002]);
      expect(ports('kafka')).toEqual([9092]);
      expect(findObject(objects, 'Service', 'kafka-headless').spec).toMatchObject({ clusterIP: 'None' });
      for (const name of ['backend', 'recurring-task-service', 'notification-service', 'kafka']) {
        expect(findObject(objects, 'Service', name).spec, name).toMatchObject({ type: 'ClusterIP' });
      }
    });

    it('gives every container requests and limits for cpu and memory', () => {
      for (const owner of podOwners(objectsOf(environment))) {
        for (const container of allContainers(owner)) {
          const where = `${owner.kind}/${owner.metadata.name} container ${container.name}`;
          expect(container.resources?.requests?.cpu, where).toBeDefined();
          expect(container.resources?.requests?.memory, where).toBeDefined();
          expect(container.resources?.limits?.cpu, where).toBeDefined();
          expect(container.resources?.limits?.memory, where).toBeDefined();
        }
      }
    });

    it('gives every long-running container startup, liveness and readiness probes', () => {
      for (const owner of workloads(objectsOf(environment)).filter((w) => w.kind !== 'Job')) {
        for (const container of podTemplate(owner).spec.containers) {
          const where = `${owner.kind}/${owner.metadata.name} container ${container.name}`;
          expect(container.startupProbe, where).toBeDefined();
          expect(container.livenessProbe, where).toBeDefined();
          expect(container.readinessProbe, where).toBeDefined();
        }
      }
    });

    it('runs every pod non-root with seccomp RuntimeDefault, no privilege escalation, no capabilities', () => {
      for (const owner of podOwners(objectsOf(environment))) {
        const spec = podTemplate(owner).spec;
        expect(spec.securityContext?.runAsNonRoot, owner.metadata.name).toBe(true);
        expect(spec.securityContext?.seccompProfile?.type, owner.metadata.name).toBe('RuntimeDefault');
        for (const container of allContainers(owner)) {
          const where = `${owner.kind}/${owner.metadata.name} container ${container.name}`;
          expect(container.securityContext?.allowPrivilegeEscalation, where).toBe(false);
          expect(container.securityContext?.readOnlyRootFilesystem, where).toBe(true);
          expect(container.securityContext?.capabilities?.drop, where).toContain('ALL');
        }
      }
    });

    it("keeps the Dapr sidecar's ports out of each Dapr service pod's ephemeral ports", () => {
      for (const { name } of DAPR_SERVICES) {
        expect(podTemplate(deployment(objectsOf(environment), name)).spec.securityContext?.sysctls, name).toEqual([
          { name: 'net.ipv4.ip_local_reserved_ports', value: '3500,3501,9090,50001,50002' },
        ]);
      }
    });

    it('rolls Deployments out with maxUnavailable 0 and covers every workload with a PodDisruptionBudget', () => {
      const objects = objectsOf(environment);
      const pdbs = objects.filter((object) => object.kind === 'PodDisruptionBudget');
      for (const workload of workloads(objects).filter((w) => w.kind !== 'Job')) {
        if (workload.kind === 'Deployment') {
          expect(workload.spec.strategy, workload.metadata.name).toMatchObject({
            type: 'RollingUpdate',
            rollingUpdate: { maxUnavailable: 0 },
          });
        }
        const selector = workload.spec.selector?.matchLabels ?? {};
        const covering = pdbs.filter((pdb) => {
          const pdbSelector = (pdb.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
          return JSON.stringify(pdbSelector) === JSON.stringify(selector);
        });
        expect(covering, `PDB for ${workload.metadata.name}`).toHaveLength(1);
      }
    });

    it('labels every object with app.kubernetes.io/* and selects pods by name, instance and component only', () => {
      const objects = objectsOf(environment);
      for (const object of objects) {
        const labels = object.metadata.labels ?? {};
        for (const key of ['name', 'instance', 'version', 'component', 'part-of', 'managed-by']) {
          expect(labels[`app.kubernetes.io/${key}`], `${object.kind}/${object.metadata.name} ${key}`).toBeDefined();
        }
        expect(labels['helm.sh/chart'], `${object.kind}/${object.metadata.name}`).toBeDefined();
      }
      for (const workload of workloads(objects).filter((w) => w.kind !== 'Job')) {
        expect(Object.keys(workload.spec.selector?.matchLabels ?? {}).sort()).toEqual([
          'app.kubernetes.io/component',
          'app.kubernetes.io/instance',
          'app.kubernetes.io/name',
        ]);
      }
    });

    it('annotates every Dapr-enabled Deployment with app-id, app-port, log level and sidecar resources', () => {
      const objects = objectsOf(environment);
      for (const { name, port } of DAPR_SERVICES) {
        const annotations = podTemplate(deployment(objects, name)).metadata.annotations ?? {};
        expect(annotations).toMatchObject({
          'dapr.io/enabled': 'true',
          'dapr.io/app-id': name,
          'dapr.io/app-port': String(port),
        });
        expect(annotations['dapr.io/log-level']).toMatch(/^(debug|info|warn|error)$/);
        for (const key of ['cpu-request', 'cpu-limit', 'memory-request', 'memory-limit']) {
          expect(annotations[`dapr.io/sidecar-${key}`], `${name} dapr.io/sidecar-${key}`).toBeDefined();
        }
      }
      const frontend = podTemplate(deployment(objects, 'frontend')).metadata.annotations ?? {};
      expect(Object.keys(frontend).filter((key) => key.startsWith('dapr.io/'))).toEqual([]);
    });

    it('sets the user per container in the Dapr services, leaving the injected sidecar its own (65532)', () => {
      const objects = objectsOf(environment);
      for (const { name } of DAPR_SERVICES) {
        const spec = podTemplate(deployment(objects, name)).spec;
        expect(spec.securityContext?.runAsUser, name).toBeUndefined();
        expect(spec.securityContext?.runAsGroup, name).toBeUndefined();
        expect(spec.containers[0]?.securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 1000 });
      }
    });

    it('gives each backend service exactly the app-secrets keys it reads, by key, and the shared app-config', () => {
      const objects = objectsOf(environment);
      for (const { name, secrets } of DAPR_SERVICES) {
        const container = podTemplate(deployment(objects, name)).spec.containers[0];
        const references = (container?.env ?? []).flatMap((entry) => {
          const ref = entry.valueFrom?.secretKeyRef;
          return ref ? [{ variable: entry.name, ...ref }] : [];
        });
        expect(references, name).toEqual(secrets.map((key) => ({ variable: key, name: SECRET_NAME, key })));
        expect(container?.envFrom?.some((source) => source.secretRef), `${name} loads a whole Secret`).toBe(false);
        expect(container?.envFrom?.map((source) => source.configMapRef?.name)).toContain('app-config');
      }
    });

    it('gives the frontend BACKEND_URL at run time and its database and auth secrets', () => {
      const objects = objectsOf(environment);
      const container = podTemplate(deployment(objects, 'frontend')).spec.containers[0];
      const configMaps = container?.envFrom?.map((source) => source.configMapRef?.name) ?? [];
      const data = configMaps.map((name) => (findObject(objects, 'ConfigMap', name ?? '').data ?? {}) as Record<string, string>);
      expect(data.some((entry) => entry.BACKEND_URL === 'http://backend:8000')).toBe(true);
      for (const key of ['DATABASE_URL', 'BETTER_AUTH_SECRET']) {
        const variable = container?.env?.find((entry) => entry.name === key);
        expect(variable?.valueFrom?.secretKeyRef, key).toEqual({ name: SECRET_NAME, key });
      }
      expect(container?.env?.some((entry) => entry.name.startsWith('NEXT_PUBLIC_'))).toBe(false);
    });

    it('renders app-config with the contract keys', () => {
      const data = findObject(objectsOf(environment), 'ConfigMap', 'app-config').data as Record<string, string>;
      expect(data).toMatchObject({
        KAFKA_BROKERS: 'kafka:9092',
        DAPR_HTTP_PORT: '3500',
        DAPR_GRPC_PORT: '50001',
        PUBSUB_NAME: 'kafka-pubsub',
        TASK_EVENTS_TOPIC: 'task-events',
        REMINDERS_TOPIC: 'reminders',
      });
      expect(data.LOG_LEVEL).toBeTruthy();
    });

    it('holds no literal credential: no Secret from committed values, secrets only by reference', () => {
      const objects = objectsOf(environment);
      expect(objects.filter((object) => object.kind === 'Secret')).toEqual([]);
      for (const owner of podOwners(objects)) {
        for (const container of allContainers(owner)) {
          for (const variable of container.env ?? []) {
            if (SENSITIVE_ENV.test(variable.name)) {
              expect(variable.value, `${owner.metadata.name} ${variable.name} is a literal`).toBeUndefined();
            }
          }
        }
      }
      for (const object of objects.filter((o) => o.kind === 'ConfigMap')) {
        for (const key of Object.keys((object.data ?? {}) as Record<string, string>)) {
          expect(SENSITIVE_ENV.test(key), `ConfigMap ${object.metadata.name} key ${key}`).toBe(false);
        }
      }
      const statestore = findObject(objects, 'Component', 'statestore') as Component;
      expect(metadataValue(statestore, 'connectionString')?.secretKeyRef).toEqual({ name: SECRET_NAME, key: 'DATABASE_URL' });
      expect(metadataValue(statestore, 'connectionString')?.value).toBeUndefined();
    });

    it('renders the Dapr components of the contract, each scoped', () => {
      const objects = objectsOf(environment);
      const components = objects.filter((object): object is Component => object.kind === 'Component');
      expect(Object.fromEntries(components.map((c) => [c.metadata.name, c.spec.type]))).toEqual({
        'kafka-pubsub': 'pubsub.kafka',
        'pubsub-kafka': 'pubsub.kafka',
        statestore: 'state.postgresql',
        'reminder-cron': 'bindings.cron',
        'kubernetes-secrets': 'secretstores.kubernetes',
      });
      for (const component of components) {
        expect(component.scopes?.length, component.metadata.name).toBeGreaterThan(0);
      }
      const pubsub = findObject(objects, 'Component', 'kafka-pubsub') as Component;
      expect(pubsub.scopes).toEqual(DAPR_SERVICES.map((service) => service.name));
      expect(metadataValue(pubsub, 'brokers')?.value).toBe('kafka:9092');
      expect(metadataValue(pubsub, 'authType')?.value).toBe('none');
      expect(metadataValue(pubsub, 'consumerGroup')?.value).toBe('{appID}');
      expect(metadataValue(pubsub, 'initialOffset')?.value).toBe('oldest');
      const statestore = findObject(objects, 'Component', 'statestore') as Component;
      expect(statestore.auth).toEqual({ secretStore: 'kubernetes' });
      const cron = findObject(objects, 'Component', 'reminder-cron') as Component;
      expect(cron.scopes).toEqual(['backend']);
      expect(metadataValue(cron, 'schedule')?.value).toBe('@every 1m');
      expect(metadataValue(cron, 'direction')?.value).toBe('input');
    });

    it('runs Kafka 4 in KRaft mode with a quorum voter per node, storage claims and a topics hook', () => {
      const objects = objectsOf(environment);
      const kafka = findObject(objects, 'StatefulSet', 'kafka') as Workload;
      const replicas = kafka.spec.replicas ?? 1;
      expect([1, 3]).toContain(replicas);
      const container = podTemplate(kafka).spec.containers[0];
      expect(container?.image).toBe('apache/kafka:4.1.1');
      const env = Object.fromEntries((container?.env ?? []).map((entry) => [entry.name, entry.value]));
      expect(env.KAFKA_PROCESS_ROLES).toBe('broker,controller');
      const voters = (env.KAFKA_CONTROLLER_QUORUM_VOTERS ?? '').split(',');
      expect(voters).toEqual(
        Array.from({ length: replicas }, (_, i) => `${i}@kafka-${i}.kafka-headless.${NAMESPACE}.svc.cluster.local:9093`),
      );
      const nodeId = container?.env?.find((entry) => entry.name === 'KAFKA_NODE_ID');
      expect(nodeId?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.labels['apps.kubernetes.io/pod-index']");
      expect(env.CLUSTER_ID).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(kafka.spec.volumeClaimTemplates?.[0]?.metadata.name).toBe('data');

      const job = findObject(objects, 'Job', 'kafka-topics');
      expect(job.metadata.annotations?.['helm.sh/hook']).toBe('post-install,post-upgrade');
      const replication = environment === 'staging' || environment === 'prod' ? 3 : 1;
      const invocations = podTemplate(job).spec.containers.map((c) => [...(c.command ?? []), ...(c.args ?? [])].join(' '));
      expect(invocations).toEqual(
        ['task-events', 'reminders', 'task-updates'].map(
          (topic) =>
            `/opt/kafka/bin/kafka-topics.sh --bootstrap-server kafka:9092 --create --if-not-exists --topic ${topic} --partitions 3 --replication-factor ${replication}`,
        ),
      );
    });

    it('ships helm test hook pods for every workload chart', () => {
      const tests = objectsOf(environment).filter(
        (object) => object.kind === 'Pod' && object.metadata.annotations?.['helm.sh/hook'] === 'test',
      );
      expect(tests.map((pod) => pod.metadata.name).sort()).toEqual(
        [...APP_DEPLOYMENTS.map((name) => `${name}-test-health`), 'kafka-test-topics'].sort(),
      );
      // A test pod a Service selects becomes one of its endpoints, and its own request may land on itself.
      const services = objectsOf(environment).filter((object) => object.kind === 'Service');
      for (const pod of tests) {
        const labels = pod.metadata.labels ?? {};
        for (const service of services) {
          const selector = (service.spec as { selector?: Record<string, string> }).selector ?? {};
          const selects = Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);
          expect(selects, `Service ${service.metadata.name} selects test pod ${pod.metadata.name}`).toBe(false);
        }
      }
    });
  });

  describe('environment differences', () => {
    it('spreads pods over zones and hosts in prod only', () => {
      for (const name of APP_DEPLOYMENTS) {
        const prod = podTemplate(deployment(objectsOf('prod'), name)).spec.topologySpreadConstraints ?? [];
        expect(prod.map((c) => c.topologyKey), name).toContain('topology.kubernetes.io/zone');
        expect(podTemplate(deployment(objectsOf('default'), name)).spec.topologySpreadConstraints, name).toBeUndefined();
      }
      const kafka = podTemplate(findObject(objectsOf('prod'), 'StatefulSet', 'kafka')).spec.topologySpreadConstraints;
      expect(kafka?.map((c) => c.topologyKey)).toEqual(['kubernetes.io/hostname']);
    });

    it('exposes the frontend with NodePort on Minikube and dev, LoadBalancer in staging and prod', () => {
      const type = (environment: Environment) =>
        (findObject(objectsOf(environment), 'Service', 'frontend').spec as { type: string }).type;
      expect(type('default')).toBe('NodePort');
      expect(type('dev')).toBe('NodePort');
      expect(type('staging')).toBe('LoadBalancer');
      expect(type('prod')).toBe('LoadBalancer');
    });

    it('autoscales in staging and prod, leaving replicas to the HPA', () => {
      const hpas = (environment: Environment) =>
        objectsOf(environment).filter((object) => object.kind === 'HorizontalPodAutoscaler').map((o) => o.metadata.name);
      expect(hpas('default')).toEqual([]);
      expect(hpas('prod').sort()).toEqual([...APP_DEPLOYMENTS].sort());
      expect(deployment(objectsOf('prod'), 'backend').spec.replicas).toBeUndefined();
    });

    it('runs three Kafka nodes with larger storage in staging and prod', () => {
      for (const environment of ['staging', 'prod'] as const) {
        const kafka = findObject(objectsOf(environment), 'StatefulSet', 'kafka') as Workload;
        expect(kafka.spec.replicas).toBe(3);
      }
      const storage = (environment: Environment) =>
        (findObject(objectsOf(environment), 'StatefulSet', 'kafka') as Workload).spec.volumeClaimTemplates?.[0]?.spec
          .resources.requests.storage;
      expect(storage('dev')).toBe('2Gi');
      expect(storage('prod')).toBe('50Gi');
    });
  });

  describe('NetworkPolicies', () => {
    const sameNamespacePod: Source = {
      kind: 'pod',
      namespace: NAMESPACE,
      labels: { 'app.kubernetes.io/name': 'frontend' },
      namespaceLabels: { 'kubernetes.io/metadata.name': NAMESPACE },
    };
    const daprControlPlane: Source = {
      kind: 'pod',
      namespace: 'dapr-system',
      labels: { app: 'dapr-sentry' },
      namespaceLabels: { 'kubernetes.io/metadata.name': 'dapr-system' },
    };
    const otherNamespacePod: Source = {
      kind: 'pod',
      namespace: 'default',
      labels: { app: 'intruder' },
      namespaceLabels: { 'kubernetes.io/metadata.name': 'default' },
    };
    const internet: Source = { kind: 'external', ip: '203.0.113.7' };

    const policies = () =>
      objectsOf('prod').filter((object): object is NetworkPolicy => object.kind === 'NetworkPolicy');

    it.each(DAPR_SERVICES)(
      'admits only same-namespace pods and the Dapr control plane to $name',
      ({ name, port }) => {
        const target = targetFor(deployment(objectsOf('prod'), name));
        expect(ingressAllowed(policies(), target, sameNamespacePod, port)).toBe(true);
        expect(ingressAllowed(policies(), target, daprControlPlane, port)).toBe(true);
        expect(ingressAllowed(policies(), target, otherNamespacePod, port)).toBe(false);
        expect(ingressAllowed(policies(), target, internet, port)).toBe(false);
      },
    );

    it('leaves the frontend public on its HTTP port and closed on any other', () => {
      const target = targetFor(deployment(objectsOf('prod'), 'frontend'));
      expect(ingressAllowed(policies(), target, internet, 3000)).toBe(true);
      expect(ingressAllowed(policies(), target, otherNamespacePod, 3000)).toBe(true);
      expect(ingressAllowed(policies(), target, internet, 9229)).toBe(false);
    });

    it('admits namespace clients to the Kafka client port and only Kafka nodes to the controller port', () => {
      const kafka = findObject(objectsOf('prod'), 'StatefulSet', 'kafka');
      const target = targetFor(kafka);
      const kafkaNode: Source = {
        kind: 'pod',
        namespace: NAMESPACE,
        labels: podTemplate(kafka).metadata.labels ?? {},
        namespaceLabels: { 'kubernetes.io/metadata.name': NAMESPACE },
      };
      expect(ingressAllowed(policies(), target, sameNamespacePod, 9092)).toBe(true);
      expect(ingressAllowed(policies(), target, otherNamespacePod, 9092)).toBe(false);
      expect(ingressAllowed(policies(), target, sameNamespacePod, 9093)).toBe(false);
      expect(ingressAllowed(policies(), target, kafkaNode, 9093)).toBe(true);
    });
  });

  describe('rollouts follow configuration', () => {
    it('changes the pod template checksum when an app-config value changes, and only then', async () => {
      const { objects: changed } = await umbrella(binary, 'default', {
        set: { 'global.appConfig.data.LOG_LEVEL': 'debug' },
      });
      for (const { name } of DAPR_SERVICES) {
        const before = podTemplate(deployment(objectsOf('default'), name)).metadata.annotations ?? {};
        const after = podTemplate(deployment(changed, name)).metadata.annotations ?? {};
        expect(after['checksum/app-config'], name).not.toBe(before['checksum/app-config']);
        expect(after['checksum/config'], name).toBe(before['checksum/config']);
      }
      const { objects: again } = await umbrella(binary, 'default');
      expect(podTemplate(deployment(again, 'backend')).metadata.annotations).toEqual(
        podTemplate(deployment(objectsOf('default'), 'backend')).metadata.annotations,
      );
    });

    it("changes the pod template checksum when a service's own ConfigMap changes", async () => {
      const { objects: changed } = await umbrella(binary, 'default', { set: { 'frontend.backendUrl': 'http://api:8000' } });
      const before = podTemplate(deployment(objectsOf('default'), 'frontend')).metadata.annotations ?? {};
      const after = podTemplate(deployment(changed, 'frontend')).metadata.annotations ?? {};
      expect(after['checksum/config']).not.toBe(before['checksum/config']);
    });

    it('rolls the pods when an existing Secret is declared rotated', async () => {
      const { objects: changed } = await umbrella(binary, 'default', { setString: { 'global.appSecrets.revision': '2' } });
      for (const name of APP_DEPLOYMENTS) {
        const before = podTemplate(deployment(objectsOf('default'), name)).metadata.annotations ?? {};
        const after = podTemplate(deployment(changed, name)).metadata.annotations ?? {};
        expect(after['checksum/app-secrets'], name).not.toBe(before['checksum/app-secrets']);
      }
    });
  });

  describe('values on request', () => {
    it('creates app-secrets from values only when asked, JWT_SECRET defaulting to BETTER_AUTH_SECRET', async () => {
      const { objects } = await umbrella(binary, 'dev', {
        set: { 'global.appSecrets.create': true },
        setString: {
          'global.appSecrets.databaseUrl': 'postgresql://test:test@db:5432/todo',
          'global.appSecrets.betterAuthSecret': 'render-test-secret',
        },
      });
      const secret = findObject(objects, 'Secret', SECRET_NAME);
      const data = secret.data as Record<string, string>;
      const decode = (value: string | undefined) => Buffer.from(value ?? '', 'base64').toString('utf8');
      expect(decode(data.BETTER_AUTH_SECRET)).toBe('render-test-secret');
      expect(decode(data.JWT_SECRET)).toBe('render-test-secret');
      expect(decode(data.DATABASE_URL)).toBe('postgresql://test:test@db:5432/todo');
    });

    it('takes the broker address from one value for the Service, app-config and the Dapr pub/sub', async () => {
      const { objects } = await umbrella(binary, 'default', { set: { 'global.kafka.serviceName': 'events' } });
      expect(findObject(objects, 'Service', 'events').metadata.name).toBe('events');
      expect(findObject(objects, 'StatefulSet', 'events').metadata.name).toBe('events');
      expect((findObject(objects, 'ConfigMap', 'app-config').data as Record<string, string>).KAFKA_BROKERS).toBe('events:9092');
      const pubsub = findObject(objects, 'Component', 'kafka-pubsub') as Component;
      expect(metadataValue(pubsub, 'brokers')?.value).toBe('events:9092');
    });

    it('switches to a managed Kafka with SASL credentials from a Secret', async () => {
      const { objects } = await umbrella(binary, 'prod', {
        set: {
          'kafka.enabled': false,
          'dapr-components.pubsub.authType': 'password',
          'dapr-components.pubsub.sasl.secretName': 'kafka-sasl',
          'dapr-components.pubsub.alias.enabled': false,
        },
        setString: { 'global.kafka.brokers': 'broker.example.com:9092' },
      });
      expect(objects.some((object) => object.kind === 'StatefulSet')).toBe(false);
      expect(objects.some((object) => object.metadata.name === 'pubsub-kafka')).toBe(false);
      const pubsub = findObject(objects, 'Component', 'kafka-pubsub') as Component;
      expect(metadataValue(pubsub, 'brokers')?.value).toBe('broker.example.com:9092');
      expect(metadataValue(pubsub, 'saslPassword')?.secretKeyRef).toEqual({ name: 'kafka-sasl', key: 'KAFKA_SASL_PASSWORD' });
      expect(metadataValue(pubsub, 'saslPassword')?.value).toBeUndefined();
    });

    it("takes every Dapr service's sidecar settings from global.dapr, a service's own dapr block overriding them key by key", async () => {
      const { objects } = await umbrella(binary, 'prod', {
        set: { 'backend.dapr.logLevel': 'debug', 'backend.dapr.enableApiLogging': true },
        setString: { 'notification-service.dapr.sidecarResources.limits.memory': '1Gi' },
      });
      const annotations = (name: string) => podTemplate(deployment(objects, name)).metadata.annotations ?? {};
      expect(annotations('backend')).toMatchObject({ 'dapr.io/log-level': 'debug', 'dapr.io/enable-api-logging': 'true', 'dapr.io/sidecar-memory-limit': '512Mi' });
      expect(annotations('recurring-task-service')).toMatchObject({ 'dapr.io/log-level': 'warn', 'dapr.io/enable-api-logging': 'false', 'dapr.io/sidecar-memory-limit': '512Mi' });
      expect(annotations('notification-service')).toMatchObject({
        'dapr.io/log-level': 'warn',
        'dapr.io/sidecar-memory-limit': '1Gi',
        'dapr.io/sidecar-memory-request': '128Mi',
      });
    });

    it("keeps a pod's own sysctls beside the reserved ports, and leaves the ports free with dapr.reservePorts off", async () => {
      const { objects } = await umbrella(binary, 'default', {
        set: { 'recurring-task-service.dapr.reservePorts': false },
        extraArgs: ['--set-json', 'backend.podSecurityContext.sysctls=[{"name":"net.ipv4.tcp_keepalive_time","value":"60"}]'],
      });
      const sysctls = (name: string) => podTemplate(deployment(objects, name)).spec.securityContext?.sysctls;
      expect(sysctls('backend')).toEqual([
        { name: 'net.ipv4.tcp_keepalive_time', value: '60' },
        { name: 'net.ipv4.ip_local_reserved_ports', value: '3500,3501,9090,50001,50002' },
      ]);
      expect(sysctls('recurring-task-service')).toBeUndefined();
    });

    it('prefixes every app image with global.imageRegistry and tags it with the appVersion', async () => {
      const { objects } = await umbrella(binary, 'default', { set: { 'global.imageRegistry': 'registry.example.com/todo' } });
      for (const name of APP_DEPLOYMENTS) {
        expect(podTemplate(deployment(objects, name)).spec.containers[0]?.image).toBe(
          `registry.example.com/todo/todo-${name}:1.0.0`,
        );
      }
    });

    it("holds each Dapr service's pod until a Kafka broker accepts connections, at the stack's broker address; not when turned off", async () => {
      const { objects } = await umbrella(binary, 'default', { set: { 'global.imageRegistry': 'registry.example.com/todo', 'backend.waitForKafka.enabled': false, 'kafka.enabled': false }, setString: { 'global.kafka.brokers': 'b1:9092\\,b2:9092' } });
      expect(podTemplate(deployment(objects, 'backend')).spec.initContainers).toBeUndefined();
      expect(podTemplate(deployment(objects, 'frontend')).spec.initContainers).toBeUndefined();
      for (const name of ['recurring-task-service', 'notification-service']) {
        const [wait, ...others] = podTemplate(deployment(objects, name)).spec.initContainers ?? [];
        expect(others).toEqual([]);
        expect(wait).toMatchObject({ name: 'wait-for-kafka', image: 'registry.example.com/todo/busybox:1.37' });
        expect(wait?.env).toEqual([{ name: 'KAFKA_BROKERS', value: 'b1:9092,b2:9092' }, { name: 'TIMEOUT_SECONDS', value: '300' }]);
        expect(wait?.command?.join(' ')).toContain('nc -w 3');
      }
    });

    it('prefixes the helm test pods\' image with global.imageRegistry too', async () => {
      const { objects } = await umbrella(binary, 'default', { set: { 'global.imageRegistry': 'registry.example.com/todo' } });
      const testPods = objects.filter((object) => object.kind === 'Pod' && object.metadata.annotations?.['helm.sh/hook'] === 'test');
      expect(testPods.length).toBeGreaterThan(0);
      for (const pod of testPods) {
        for (const container of (pod as unknown as { spec: PodSpec }).spec.containers) {
          expect(container.image, pod.metadata.name).toMatch(/^registry\.example\.com\/todo\//);
        }
      }
    });
  });

  describe('in-cluster validation (validation.enabled)', () => {
    const VALIDATION_OBJECTS = ['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding', 'Pod'];
    interface Rule {
      apiGroups: string[];
      resources: string[];
      verbs: string[];
    }
    /** "group/resource verb" for every grant of a Role or ClusterRole. */
    const grants = (role: K8sObject): string[] =>
      ((role as unknown as { rules: Rule[] }).rules ?? []).flatMap((rule) =>
        rule.apiGroups.flatMap((group) => rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${group || 'core'}/${resource} ${verb}`))),
      ).sort();

    it('renders nothing for it by default, in every environment', () => {
      for (const environment of ENVIRONMENTS) {
        const objects = objectsOf(environment);
        expect(objects.filter((object) => object.metadata.name.startsWith('todo-validation')), environment).toEqual([]);
        expect(objects.some((object) => object.kind === 'ClusterRole' || object.kind === 'ClusterRoleBinding'), environment).toBe(false);
      }
    });

    it('when enabled, grants get and list on exactly what the suite reads, nothing else', async () => {
      const { objects } = await umbrella(binary, 'prod', { set: { 'validation.enabled': true } });
      const validation = objects.filter((object) => object.metadata.labels?.['app.kubernetes.io/component'] === 'validation');
      expect([...new Set(validation.map((object) => object.kind))].sort()).toEqual([...VALIDATION_OBJECTS].sort());
      const roles = validation.filter((object) => object.kind === 'Role');
      const own = roles.find((role) => role.metadata.namespace === NAMESPACE);
      const dapr = roles.find((role) => role.metadata.namespace === 'dapr-system');
      expect(grants(own as K8sObject)).toEqual(
        [
          'core/pods get', 'core/pods list', 'core/services get', 'core/services list', 'core/secrets get', 'core/secrets list',
          'core/events list', 'core/pods/log get', 'apps/deployments list', 'apps/statefulsets list', 'apps/replicasets list',
          'batch/jobs list', 'networking.k8s.io/ingresses list', 'networking.k8s.io/networkpolicies list', 'gateway.networking.k8s.io/httproutes list', 'gateway.networking.k8s.io/grpcroutes list',
          'gateway.networking.k8s.io/tlsroutes list', 'gateway.networking.k8s.io/tcproutes list', 'metrics.k8s.io/pods list',
        ].sort(),
      );
      expect(grants(dapr as K8sObject)).toEqual(['apps/deployments list', 'apps/statefulsets list']);
      expect(grants(findObject(validation, 'ClusterRole', `todo-validation-${NAMESPACE}`))).toEqual(
        ['core/namespaces get', 'core/nodes list', 'admissionregistration.k8s.io/mutatingwebhookconfigurations list'].sort(),
      );
      const everyVerb = [...roles, findObject(validation, 'ClusterRole', `todo-validation-${NAMESPACE}`)].flatMap(grants).map((grant) => grant.split(' ')[1]);
      expect(new Set(everyVerb)).toEqual(new Set(['get', 'list']));
      for (const binding of validation.filter((object) => object.kind.endsWith('Binding'))) {
        expect((binding as unknown as { subjects: unknown[] }).subjects, binding.metadata.name).toEqual([
          { kind: 'ServiceAccount', name: 'todo-validation', namespace: NAMESPACE },
        ]);
      }
    });

    it('when enabled, runs the suite in-cluster as a helm test hook Pod, restricted like every other pod', async () => {
      const { objects } = await umbrella(binary, 'default', {
        set: { 'validation.enabled': true, 'global.imageRegistry': 'registry.example.com/todo' },
        extraArgs: ['--set-json', 'validation.args=["--skip","frontend-load"]'],
      });
      const pod = findObject(objects, 'Pod', 'todo-validation');
      expect(pod.metadata.annotations?.['helm.sh/hook']).toBe('test');
      const spec = podTemplate(pod).spec as PodTemplate['spec'] & { serviceAccountName?: string; restartPolicy?: string };
      expect(spec.serviceAccountName).toBe('todo-validation');
      expect(spec.restartPolicy).toBe('Never');
      expect(spec.securityContext?.runAsNonRoot).toBe(true);
      expect(spec.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
      const container = spec.containers[0];
      expect(container?.image).toBe('registry.example.com/todo/todo-validation:1.0.0');
      expect(container?.command).toEqual(['node', '--import', 'tsx', 'suites/cli.ts']);
      expect(container?.args).toEqual([
        '--namespace', NAMESPACE, '--release', 'todo-app', '--access', 'in-cluster', '--report-dir', '/reports', '--skip', 'frontend-load',
      ]);
      expect(container?.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      for (const key of ['cpu', 'memory']) {
        expect(container?.resources?.requests?.[key], key).toBeDefined();
        expect(container?.resources?.limits?.[key], key).toBeDefined();
      }
      const account = findObject(objects, 'ServiceAccount', 'todo-validation') as K8sObject & { automountServiceAccountToken?: boolean };
      expect(account.automountServiceAccountToken).toBe(false);
    });

    it('rejects an unknown key under validation', async () => {
      const result = await helm(binary, templateArgs(UMBRELLA_DIR, { set: { 'validation.enabld': true } }));
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/additional properties 'enabld' not allowed/);
    });
  });

  describe('refusals', () => {
    const failure = async (chartDir: string, options: RenderOptions) => {
      const result = await helm(binary, templateArgs(chartDir, options));
      expect(result.code, 'render should fail').not.toBe(0);
      return result.stderr;
    };

    it('rejects an unknown key in a subchart through its closed schema, naming the key', async () => {
      const stderr = await failure(UMBRELLA_DIR, { set: { 'backend.replicaCont': 2 } });
      expect(stderr).toMatch(/backend/);
      expect(stderr).toMatch(/additional properties 'replicaCont' not allowed/);
    });

    it('rejects an unknown top-level key of the umbrella', async () => {
      const stderr = await failure(UMBRELLA_DIR, { set: { frontnd: 'x' } });
      expect(stderr).toMatch(/additional properties 'frontnd' not allowed/);
    });

    it.each(SUBCHARTS)('rejects an unknown key when %s is installed on its own', async (chart) => {
      await ensureChartDependencies(binary, `${HELM_DIR}/${chart}`);
      const stderr = await failure(`${HELM_DIR}/${chart}`, { set: { 'typoKey': 1 } });
      expect(stderr).toMatch(/additional properties 'typoKey' not allowed/);
    });

    it('refuses an even number of KRaft nodes, saying why', async () => {
      const stderr = await failure(`${HELM_DIR}/kafka`, { set: { replicaCount: 2, 'listeners.external.enabled': false } });
      expect(stderr).toMatch(/replicaCount must be odd/);
    });

    it('refuses to create app-secrets without values', async () => {
      const stderr = await failure(UMBRELLA_DIR, { set: { 'global.appSecrets.create': true } });
      expect(stderr).toMatch(/global\.appSecrets\.databaseUrl is required/);
    });

    it('refuses SASL without a credentials Secret', async () => {
      const stderr = await failure(`${HELM_DIR}/dapr-components`, { set: { 'pubsub.authType': 'password' } });
      expect(stderr).toMatch(/pubsub\.sasl\.secretName must name the Secret/);
    });
  });
});

describe.each(helmBinaries())('charts installed on their own ($label)', (binary: HelmBinary) => {
  it.each(SUBCHARTS)('%s renders with its own defaults', async (chart) => {
    await ensureChartDependencies(binary, `${HELM_DIR}/${chart}`);
    const { objects } = await render(binary, `${HELM_DIR}/${chart}`, { release: chart, namespace: 'standalone' });
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) expect(object.metadata.namespace, `${object.kind}/${object.metadata.name}`).toBe('standalone');
  });
});
