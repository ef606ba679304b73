// Small reads shared by several checks.
import type * as k8s from '@kubernetes/client-node';
import { CheckFailure, type CheckContext } from './check.js';
import { isNotFound } from './errors.js';

/** The three backend services of the contract, with their Dapr app-ids and ports. */
export const backendServices = [
  { service: 'backend', appId: 'backend', port: 8000 },
  { service: 'recurring-task-service', appId: 'recurring-task-service', port: 8001 },
  { service: 'notification-service', appId: 'notification-service', port: 8002 },
] as const;

export async function readService(ctx: CheckContext, name: string): Promise<k8s.V1Service | undefined> {
  try {
    return await ctx.kube.core.readNamespacedService({ name, namespace: ctx.config.namespace });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Pods selected by a Service, which is how the contract names a workload. */
export async function podsOfService(ctx: CheckContext, name: string): Promise<k8s.V1Pod[]> {
  const service = await readService(ctx, name);
  if (!service) throw new CheckFailure(`Service ${ctx.config.namespace}/${name} does not exist`, `Service ${name}`, 'absent');
  const selector = service.spec?.selector ?? {};
  if (Object.keys(selector).length === 0) throw new CheckFailure(`Service ${name} has no selector`, 'a selector', 'none');
  const labelSelector = Object.entries(selector).map(([key, value]) => `${key}=${value}`).join(',');
  const pods = await ctx.kube.core.listNamespacedPod({ namespace: ctx.config.namespace, labelSelector });
  return pods.items.filter((pod) => !pod.metadata?.deletionTimestamp);
}

export const podName = (pod: k8s.V1Pod): string => pod.metadata?.name ?? '?';

/** Whether a label selector selects these labels (an empty selector selects everything). */
export function selects(selector: k8s.V1LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const expression of selector.matchExpressions ?? []) {
    const value = labels[expression.key];
    const values = expression.values ?? [];
    switch (expression.operator) {
      case 'In':
        if (value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (value === undefined) return false;
        break;
      case 'DoesNotExist':
        if (value !== undefined) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}
