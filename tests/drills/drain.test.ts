// The drain drill's choices: which pods a drain evicts, which node it drains by default, and
// which workloads a drain could take down all at once.
import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { budgetGaps, busiestNode, drainablePods, isSchedulable } from '../../suites/drills/drain.js';

const pod = (name: string, nodeName: string, extra: { owner?: string; phase?: string; mirror?: boolean; deleting?: boolean } = {}): k8s.V1Pod => ({
  metadata: {
    name,
    ownerReferences: extra.owner ? [{ apiVersion: 'apps/v1', kind: extra.owner, name: 'x', uid: '1' }] : [],
    annotations: extra.mirror ? { 'kubernetes.io/config.mirror': 'abc' } : {},
    deletionTimestamp: extra.deleting ? new Date() : undefined,
  },
  spec: { nodeName, containers: [] },
  status: { phase: extra.phase ?? 'Running' },
});

const node = (name: string, ready = true, unschedulable = false): k8s.V1Node => ({
  metadata: { name },
  spec: { unschedulable },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

describe('drainablePods', () => {
  it('evicts what kubectl drain evicts', () => {
    const pods = [
      pod('web', 'a', { owner: 'ReplicaSet' }),
      pod('kafka-0', 'a', { owner: 'StatefulSet' }),
      pod('speaker', 'a', { owner: 'DaemonSet' }),
      pod('static', 'a', { mirror: true }),
      pod('done', 'a', { phase: 'Succeeded' }),
      pod('leaving', 'a', { deleting: true }),
      pod('elsewhere', 'b', { owner: 'ReplicaSet' }),
    ];
    expect(drainablePods(pods, 'a').map((entry) => entry.metadata?.name)).toEqual(['web', 'kafka-0']);
    expect(drainablePods(pods, 'a', true).map((entry) => entry.metadata?.name)).toEqual(['web', 'kafka-0', 'leaving']);
  });
});

describe('busiestNode', () => {
  it('picks the schedulable node running most of the release, the first by name on a tie', () => {
    const nodes = [node('a'), node('b'), node('c', true, true), node('d', false)];
    const pods = [pod('1', 'b'), pod('2', 'b'), pod('3', 'a'), pod('4', 'c'), pod('5', 'c'), pod('6', 'c'), pod('7', 'd'), pod('8', 'd'), pod('9', 'd')];
    expect(busiestNode(nodes, pods)).toBe('b');
    expect(busiestNode([node('b'), node('a')], [])).toBe('a');
    expect(busiestNode([node('a', true, true)], [])).toBeUndefined();
    expect(nodes.filter(isSchedulable).map((entry) => entry.metadata?.name)).toEqual(['a', 'b']);
  });
});

describe('budgetGaps', () => {
  const workload = (name: string, replicas: number) => ({ kind: 'Deployment', name, replicas, labels: { app: name, tier: 'x' } });
  const budget = (name: string, app: string, spec: Partial<k8s.V1PodDisruptionBudgetSpec>): k8s.V1PodDisruptionBudget => ({ metadata: { name }, spec: { selector: { matchLabels: { app } }, ...spec } });

  it('names each replicated workload a drain could take down at once', () => {
    const budgets = [
      budget('frontend', 'frontend', { minAvailable: 1 }),
      budget('backend', 'backend', { maxUnavailable: '100%' }),
      budget('worker', 'worker', { maxUnavailable: 1 }),
      budget('kafka', 'kafka', { minAvailable: '0%' }),
    ];
    expect(budgetGaps([workload('frontend', 3), workload('backend', 3), workload('worker', 2), workload('kafka', 3), workload('api', 2), workload('single', 1)], budgets)).toEqual([
      'Deployment backend (3 replicas): its PodDisruptionBudget backend lets every replica go at once',
      'Deployment kafka (3 replicas): its PodDisruptionBudget kafka lets every replica go at once',
      'Deployment api (2 replicas) has no PodDisruptionBudget: a drain may evict every replica at once',
    ]);
  });
});
