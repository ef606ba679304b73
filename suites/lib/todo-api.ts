// A client of the contract's REST API for one test user. Every task it creates is tracked
// and deleted by `cleanup`, which checks call in `finally` so a failing check leaves no data.
import { randomBytes } from 'node:crypto';
import type { Endpoint } from './access.js';
import { CheckFailure } from './check.js';
import { http, signJwt, snippet, type HttpResult } from './http.js';
import { sleep } from './wait.js';

export interface Task {
  id: string;
  title: string;
  completed?: boolean;
  is_completed?: boolean;
  due_date?: string | null;
  remind_at?: string | null;
  parent_task_id?: string | null;
  recurrence_pattern?: string;
  [key: string]: unknown;
}

export function testUserId(runId: string): string {
  return `suite-${runId.replace(/[^a-zA-Z0-9]/g, '').slice(-16)}-${randomBytes(3).toString('hex')}`;
}

export function tokenFor(user: string, secret: string, ttlSeconds = 3600): string {
  return signJwt({ sub: user, id: user, user_id: user, email: `${user}@example.invalid` }, secret, ttlSeconds);
}

/** What proves who calls: a token the suite signed, or what a frontend session sends. */
export interface ApiAuth {
  headers(): Record<string, string>;
}

/** A token signed with the cluster's secret, for checks that test the backend itself. */
export const mintedAuth = (user: string, secret: string): ApiAuth => {
  const authorization = `Bearer ${tokenFor(user, secret)}`;
  return { headers: () => ({ authorization }) };
};

export class TodoApi {
  readonly created = new Set<string>();
  readonly timings: { op: string; ms: number; status: number }[] = [];

  constructor(
    readonly endpoint: Endpoint,
    readonly user: string,
    readonly auth: ApiAuth,
    readonly timeoutMs: number,
  ) {}

  private async call(op: string, method: string, path: string, body?: unknown): Promise<HttpResult> {
    const result = await http(this.endpoint, `/api/${encodeURIComponent(this.user)}${path}`, { method, body, headers: this.auth.headers(), timeoutMs: this.timeoutMs });
    this.timings.push({ op, ms: result.ms, status: result.status });
    return result;
  }

  private expect(result: HttpResult, op: string, ok: number[]): void {
    if (!ok.includes(result.status)) {
      throw new CheckFailure(`${op} answered ${result.status}: ${snippet(result.text, 200)}`, `${op}: ${ok.join(' or ')}`, `${result.status}`);
    }
  }

  async create(task: Record<string, unknown>): Promise<Task> {
    const result = await this.call('create', 'POST', '/tasks', task);
    this.expect(result, 'POST /tasks', [200, 201]);
    const created = result.json as Task;
    if (!created?.id) throw new CheckFailure(`POST /tasks returned no id: ${snippet(result.text, 200)}`, 'a task with an id', snippet(result.text, 100));
    this.created.add(String(created.id));
    return created;
  }

  async get(id: string): Promise<Task> {
    const result = await this.call('get', 'GET', `/tasks/${encodeURIComponent(id)}`);
    this.expect(result, 'GET /tasks/{id}', [200]);
    return result.json as Task;
  }

  async list(query = ''): Promise<Task[]> {
    const result = await this.call('list', 'GET', `/tasks${query}`);
    this.expect(result, 'GET /tasks', [200]);
    const body = result.json as Task[] | { tasks?: Task[]; items?: Task[] };
    const tasks = Array.isArray(body) ? body : (body?.tasks ?? body?.items ?? []);
    for (const task of tasks) this.created.add(String(task.id));
    return tasks;
  }

  async update(id: string, patch: Record<string, unknown>): Promise<Task> {
    const result = await this.call('update', 'PUT', `/tasks/${encodeURIComponent(id)}`, patch);
    this.expect(result, 'PUT /tasks/{id}', [200]);
    return result.json as Task;
  }

  async complete(id: string): Promise<Task> {
    const result = await this.call('complete', 'PATCH', `/tasks/${encodeURIComponent(id)}/complete`, { completed: true, is_completed: true });
    this.expect(result, 'PATCH /tasks/{id}/complete', [200]);
    return result.json as Task;
  }

  async remove(id: string): Promise<void> {
    const result = await this.call('delete', 'DELETE', `/tasks/${encodeURIComponent(id)}`);
    this.expect(result, 'DELETE /tasks/{id}', [200, 204, 404]);
    this.created.delete(id);
  }

  /** Delete everything this user owns; returns what could not be deleted. */
  async cleanup(): Promise<string[]> {
    const left: string[] = [];
    try {
      await this.list();
    } catch {
      // Deleting what we know of is still worth doing.
    }
    for (const id of [...this.created]) {
      try {
        await this.remove(id);
      } catch (error) {
        left.push(`${id}: ${(error as Error).message}`);
      }
    }
    return left;
  }
}

export const today = (offsetDays = 0): string => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);

const isCompleted = (task: Task): boolean => Boolean(task.completed ?? task.is_completed);

/** The next occurrence of a completed recurring task: the task naming it as parent, else an open task with its title. */
export function nextOccurrence(tasks: readonly Task[], completed: Pick<Task, 'id' | 'title'>): Task | undefined {
  return tasks.find((t) => t.parent_task_id === completed.id) ?? tasks.find((t) => t.id !== completed.id && t.title === completed.title && !isCompleted(t));
}

/** What waiting for a next occurrence found: the task (or none), the time waited, and the last list seen. */
export interface NextOccurrenceWait {
  next: Task | undefined;
  ms: number;
  seen: string;
}

/**
 * Reads the user's task list until the completed task's next occurrence is in it, or `withinMs`
 * has passed. Call it right after the completion: `ms` is the time from the call.
 */
export async function waitForNextOccurrence(
  list: () => Promise<Task[]>,
  completed: Pick<Task, 'id' | 'title'>,
  withinMs: number,
  options: { pollMs?: number; signal?: AbortSignal } = {},
): Promise<NextOccurrenceWait> {
  const started = performance.now();
  let seen = 'no list yet';
  while (performance.now() - started < withinMs && !options.signal?.aborted) {
    const tasks = await list();
    const next = nextOccurrence(tasks, completed);
    if (next) return { next, ms: performance.now() - started, seen };
    const titles = tasks.slice(0, 5).map((t) => `${t.title}${isCompleted(t) ? ' (done)' : ''}`);
    seen = `${tasks.length} task(s)${titles.length > 0 ? `: ${titles.join(', ')}${tasks.length > 5 ? ', ...' : ''}` : ''}`;
    await sleep(options.pollMs ?? 150, options.signal).catch(() => undefined);
  }
  return { next: undefined, ms: performance.now() - started, seen };
}
