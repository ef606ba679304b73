// network-policy: which policies restrict a Service's pods, how the probe's answers are read,
// and that the shipped charts put every guarded Service behind one in each environment.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { admitsEverything, guardedServices, ingressPolicies, parseProbe, probeImage, probeScript } from '../../suites/checks/network.js';
import { selects } from '../../suites/lib/cluster.js';
import { ENVIRONMENTS, UMBRELLA_DIR, ensureUmbrellaDependencies, environmentValues, helmBinaries, render, type HelmBinary } from '../support/helm.js';

const policy = (name: string, spec: k8s.V1NetworkPolicySpec): k8s.V1NetworkPolicy => ({ metadata: { name }, spec });

describe('selects', () => {
  const labels = { app: 'backend', tier: 'api' };

  it('matches labels and every expression operator', () => {
    expect(selects(undefined, labels)).toBe(true);
    expect(selects({}, labels)).toBe(true);
    expect(selects({ matchLabels: { app: 'backend' } }, labels)).toBe(true);
    expect(selects({ matchLabels: { app: 'frontend' } }, labels)).toBe(false);
    expect(selects({ matchExpressions: [{ key: 'app', operator: 'In', values: ['backend', 'x'] }] }, labels)).toBe(true);
    expect(selects({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['backend'] }] }, labels)).toBe(false);
    expect(selects({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, labels)).toBe(true);
    expect(selects({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels)).toBe(true);
    expect(selects({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, labels)).toBe(false);
    expect(selects({ matchExpressions: [{ key: 'tier', operator: 'Unknown' }] }, labels)).toBe(false);
  });
});

describe('ingressPolicies', () => {
  const labels = { app: 'backend' };

  it('keeps the policies that select the pods and restrict ingress', () => {
    const policies = [
      policy('backend', { podSelector: { matchLabels: { app: 'backend' } }, policyTypes: ['Ingress'] }),
      policy('egress-only', { podSelector: {}, policyTypes: ['Egress'] }),
      policy('implicit', { podSelector: {} }),
      policy('other', { podSelector: { matchLabels: { app: 'kafka' } }, policyTypes: ['Ingress'] }),
    ];
    expect(ingressPolicies(policies, labels).map((entry) => entry.metadata?.name)).toEqual(['backend', 'implicit']);
  });

  it('sees a rule that admits every source on every port', () => {
    expect(admitsEverything(policy('open', { podSelector: {}, ingress: [{}] }))).toBe(true);
    expect(admitsEverything(policy('ports', { podSelector: {}, ingress: [{ ports: [{ port: 8000 }] }] }))).toBe(false);
    expect(admitsEverything(policy('peers', { podSelector: {}, ingress: [{ _from: [{ podSelector: {} }] }] }))).toBe(false);
    expect(admitsEverything(policy('deny', { podSelector: {} }))).toBe(false);
  });
});

describe('the probe', () => {
  it('reads one answer per line and ignores the rest', () => {
    const answers = parseProbe('canary closed\nfrontend.todo-app.svc.cluster.local:3000 open\nbackend.todo-app.svc.cluster.local:8000 closed\nnc: bad address\n');
    expect(Object.fromEntries(answers)).toEqual({
      canary: 'closed',
      'frontend.todo-app.svc.cluster.local:3000': 'open',
      'backend.todo-app.svc.cluster.local:8000': 'closed',
    });
  });

  it('answers for the canary and every target, with a stand-in for busybox nc that admits only the hosts it is told', () => {
    const dir = mkdtempSync(join(tmpdir(), 'probe-'));
    try {
      // nc -w SECONDS HOST PORT -e true
      writeFileSync(join(dir, 'nc'), '#!/bin/sh\ncase " $OPEN " in *" $3 "*) exit 0 ;; esac\nexit 1\n', { mode: 0o755 });
      writeFileSync(join(dir, 'sleep'), '#!/bin/sh\n', { mode: 0o755 });
      const run = spawnSync('sh', ['-c', probeScript, 'probe', '10.0.0.9:8080', 'open.p.svc.cluster.local:8080', 'backend.t.svc.cluster.local:8000', 'kafka.t.svc.cluster.local:9092'], {
        env: { PATH: `${dir}:/usr/bin:/bin`, OPEN: 'open.p.svc.cluster.local kafka.t.svc.cluster.local' },
        encoding: 'utf8',
      });
      expect(run.status).toBe(0);
      expect(Object.fromEntries(parseProbe(run.stdout))).toEqual({
        canary: 'closed',
        'open.p.svc.cluster.local:8080': 'open',
        'backend.t.svc.cluster.local:8000': 'closed',
        'kafka.t.svc.cluster.local:9092': 'open',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the busybox image the release already pulls, else busybox:1.37', () => {
    const pod = (image: string): k8s.V1Pod => ({ spec: { initContainers: [{ name: 'wait-for-kafka', image }], containers: [] } });
    expect(probeImage([pod('10.220.0.1:5000/busybox:1.37')])).toBe('10.220.0.1:5000/busybox:1.37');
    expect(probeImage([pod('registry.example.com/library/busybox@sha256:abc')])).toBe('registry.example.com/library/busybox@sha256:abc');
    expect(probeImage([pod('registry.example.com/busyboxes:1')])).toBe('busybox:1.37');
    expect(probeImage([])).toBe('busybox:1.37');
  });
});

describe.each(helmBinaries().slice(0, 1))('network-policy on the shipped charts ($label)', (binary: HelmBinary) => {
  beforeAll(() => ensureUmbrellaDependencies(binary), 120_000);

  it.each(ENVIRONMENTS)('puts every guarded Service behind an ingress policy in %s', async (environment) => {
    const { objects, text } = await render(binary, UMBRELLA_DIR, { valuesFiles: environmentValues(environment) });
    const services = objects.filter((object) => object.kind === 'Service') as unknown as k8s.V1Service[];
    // As the API client reads them (a rule's `from` becomes `_from`).
    const policies = (k8s.loadAllYaml(text) as (k8s.KubernetesObject | null)[])
      .filter((object): object is k8s.V1NetworkPolicy => object?.kind === 'NetworkPolicy');
    for (const name of guardedServices) {
      const service = services.find((object) => object.metadata?.name === name);
      expect(service, `Service ${name}`).toBeDefined();
      const covering = ingressPolicies(policies, service?.spec?.selector ?? {});
      expect(covering.length, `policies selecting ${name}`).toBeGreaterThan(0);
      expect(covering.some(admitsEverything), `${name} admits everything`).toBe(false);
    }
  });
});
