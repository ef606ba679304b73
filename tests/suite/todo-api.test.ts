import { describe, expect, it } from 'vitest';
import { freshCredentials } from '../../suites/lib/frontend-session.js';
import { Redactor } from '../../suites/lib/redact.js';
import { nextOccurrence, waitForNextOccurrence, type Task } from '../../suites/lib/todo-api.js';

const completed: Task = { id: 't1', title: 'water the plants', completed: true };

describe('the next occurrence of a completed recurring task', () => {
  it('is the task naming it as parent, else an open task with its title', () => {
    const child: Task = { id: 't2', title: 'renamed', parent_task_id: 't1' };
    const sameTitle: Task = { id: 't3', title: 'water the plants' };
    expect(nextOccurrence([completed, sameTitle, child], completed)).toBe(child);
    expect(nextOccurrence([completed, sameTitle], completed)).toBe(sameTitle);
    expect(nextOccurrence([completed, { ...sameTitle, is_completed: true }], completed)).toBeUndefined();
    expect(nextOccurrence([completed], completed)).toBeUndefined();
  });

  it('is waited for until it appears, with the time waited', async () => {
    const lists: Task[][] = [[completed], [completed], [completed, { id: 't2', title: 'x', parent_task_id: 't1' }]];
    let reads = 0;
    const found = await waitForNextOccurrence(async () => lists[Math.min(reads++, lists.length - 1)] ?? [], completed, 5_000, { pollMs: 10 });
    expect(found.next?.id).toBe('t2');
    expect(reads).toBe(3);
    expect(found.ms).toBeGreaterThanOrEqual(15);
    expect(found.seen).toBe('1 task(s): water the plants (done)');
  });

  it('gives up at its deadline, saying what the list showed', async () => {
    const found = await waitForNextOccurrence(async () => [completed], completed, 60, { pollMs: 10 });
    expect(found.next).toBeUndefined();
    expect(found.ms).toBeGreaterThanOrEqual(60);
    expect(found.seen).toContain('1 task(s)');
  });
});

describe("a fresh user's credentials", () => {
  it('are new each time, under .invalid, and their password is redacted before use', () => {
    const redactor = new Redactor();
    const first = freshCredentials('journey-http-run1', redactor, 'Journey http');
    const second = freshCredentials('journey-http-run1', redactor);
    expect(first.email).toMatch(/^journey-http-run1-[0-9a-f]{6}@example\.invalid$/);
    expect(first.email).not.toBe(second.email);
    expect(first.name).toBe('Journey http');
    expect(second.name).toBe('journey-http-run1');
    expect(redactor.scrub(`signed in with ${first.password} and ${second.password}`)).toBe('signed in with [REDACTED] and [REDACTED]');
  });
});
