// Failures come first in every report, and failures that name the same pod are grouped
// under it: one crashing pod often fails several checks, and the reader should see the pod
// before the six symptoms.
import type { CheckResult } from '../check.js';

export interface FailureGroup {
  /** The pod the grouped failures name; undefined for failures with no shared cause. */
  pod?: string;
  results: CheckResult[];
}

const mentions = (result: CheckResult, pod: string): boolean =>
  [result.reason, result.actual ?? ''].some((text) => new RegExp(`(^|[^a-z0-9-])${pod.replace(/[.]/g, '\\.')}($|[^a-z0-9-])`).test(text));

/** Failed checks, grouped by a pod that two or more of them name (most named first). */
export function groupFailures(results: CheckResult[]): FailureGroup[] {
  const failed = results.filter((r) => r.verdict === 'fail');
  const pods = [...new Set(results.flatMap((r) => r.pods))];
  const named = pods
    .map((pod) => ({ pod, count: failed.filter((r) => mentions(r, pod)).length }))
    .filter(({ count }) => count >= 2)
    .sort((a, b) => b.count - a.count || a.pod.localeCompare(b.pod));
  const groups: FailureGroup[] = [];
  const placed = new Set<string>();
  for (const { pod } of named) {
    const members = failed.filter((r) => !placed.has(r.id) && mentions(r, pod));
    if (members.length < 2) continue;
    members.forEach((r) => placed.add(r.id));
    groups.push({ pod, results: members });
  }
  const rest = failed.filter((r) => !placed.has(r.id));
  if (rest.length > 0) groups.push({ results: rest });
  return groups;
}

const verdictOrder = { fail: 0, skip: 1, pass: 2 } as const;

/** Failures, then skips, then passes; run order kept within each. */
export function failuresFirst(results: CheckResult[]): CheckResult[] {
  return results
    .map((result, index) => ({ result, index }))
    .sort((a, b) => verdictOrder[a.result.verdict] - verdictOrder[b.result.verdict] || a.index - b.index)
    .map(({ result }) => result);
}

/** The heading of a group of failures that share a pod: the pod, its state when known, how many checks name it. */
export function groupHeading(group: FailureGroup, podStates: Record<string, string> | undefined): string {
  const state = group.pod !== undefined ? podStates?.[group.pod] : undefined;
  return `pod ${group.pod ?? ''}${state ? ` (${state})` : ''}: named by ${group.results.length} failing checks`;
}
