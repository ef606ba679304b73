import type * as k8s from '@kubernetes/client-node';
import * as client from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { resourceChecks } from '../../suites/checks/resources.js';
import type { CheckContext } from '../../suites/lib/check.js';
import { defaultLimits, type SuiteConfig } from '../../suites/lib/config.js';
import { Redactor } from '../../suites/lib/redact.js';
import { runOne } from '../../suites/lib/runner.js';

const usageCheck = resourceChecks.find((c) => c.id === 'resource-usage');

const pod: k8s.V1Pod = {
  metadata: { name: 'backend-1' },
  spec: {
    containers: [
      { name: 'backend', resources: { limits: { cpu: '500m', memory: '512Mi' } } },
      { name: 'daprd', resources: { limits: { cpu: '300m', memory: '256Mi' } } },
    ],
  },
};

function ctx(metrics: () => Promise<unknown>): CheckContext {
  return {
    config: { namespace: 'todo-app', limits: { ...defaultLimits } } as SuiteConfig,
    redactor: new Redactor(),
    kube: { custom: { listNamespacedCustomObject: metrics } },
    shared: { releasePods: async () => [pod], testUser: 'u', users: new Set(), jwtSecret: async () => 's' },
  } as unknown as CheckContext;
}

describe('resource-usage', () => {
  it('passes under the share of every limit and reports the highest', async () => {
    const result = await runOne(usageCheck!, ctx(async () => ({ items: [{ metadata: { name: 'backend-1' }, containers: [{ name: 'backend', usage: { cpu: '50000000n', memory: '100Mi' } }, { name: 'daprd', usage: { cpu: '3m', memory: '40Mi' } }] }] })), 5000);
    expect(result.verdict).toBe('pass');
    expect(result.measurements[0]).toMatchObject({ name: 'highest usage, % of limit', unit: '%', limit: 80 });
    expect(result.measurements[0]?.value).toBeCloseTo(19.53, 1);
  });

  it('fails naming the pod, container, usage and limit over the share', async () => {
    const result = await runOne(usageCheck!, ctx(async () => ({ items: [{ metadata: { name: 'backend-1' }, containers: [{ name: 'backend', usage: { cpu: '10m', memory: '480Mi' } }] }] })), 5000);
    expect(result.verdict).toBe('fail');
    expect(result.reason).toBe('pod backend-1 container backend uses 480Mi memory of limit 512Mi (94 %, limit 80 %)');
  });

  it('is skipped, not passed, where the metrics API is absent', async () => {
    const result = await runOne(usageCheck!, ctx(async () => {
      throw new client.ApiException(404, 'not found', {}, {});
    }), 5000);
    expect(result.verdict).toBe('skip');
    expect(result.reason).toMatch(/^skipped: the cluster serves no metrics\.k8s\.io API \(HTTP 404\)/);
  });
});
