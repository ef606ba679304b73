// What a virtual user does, in proportions a person using the app produces: page loads (the
// page rendered for the signed-in user) with the static assets a browser fetches for it,
// now and then a sign-in, task reads, writes, and completions of daily recurring tasks (each
// one an event through Dapr and Kafka to the recurring-task service). Every request goes to
// the frontend's public address; API calls through its /api proxy with the user's session.
import type { UserRequest } from './users.js';
import { InputError } from '../lib/errors.js';

export const mixOps = ['page', 'asset', 'signin', 'list', 'create', 'update', 'complete', 'delete'] as const;
export type MixOp = (typeof mixOps)[number];
export type Mix = Record<MixOp, number>;

/**
 * Requests per 100 of each kind. Reads outnumber writes about three to one; a page load
 * brings two asset fetches (a browser's cache keeps the rest); one request in a hundred is a
 * sign-in, whose password hash is the frontend's most expensive work.
 */
export const defaultMix: Mix = { page: 5, asset: 10, signin: 1, list: 44, create: 12, update: 10, complete: 8, delete: 10 };

export const mixText = (mix: Mix): string => mixOps.filter((op) => mix[op] > 0).map((op) => `${op}=${mix[op]}`).join(',');

/** `list=50,create=20,...`: the ops named replace the defaults' weights; the rest keep theirs. */
export function parseMix(text: string | undefined): Mix {
  const mix = { ...defaultMix };
  if (text === undefined) return mix;
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [op, value] = part.split('=');
    if (!mixOps.includes(op as MixOp)) throw new InputError('usage', `--mix: unknown request kind "${op}" (known: ${mixOps.join(', ')})`);
    const weight = Number(value);
    if (value === undefined || value.trim() === '' || !Number.isInteger(weight) || weight < 0 || weight > 1000) {
      throw new InputError('usage', `--mix: ${op} needs a whole number from 0 to 1000, got "${value ?? ''}"`);
    }
    mix[op as MixOp] = weight;
  }
  const api = mix.list + mix.create + mix.update + mix.complete + mix.delete;
  if (api === 0) throw new InputError('usage', '--mix: at least one API request kind (list, create, update, complete, delete) needs a weight above 0');
  return mix;
}

/**
 * One user's cycle of requests: each kind as often as its weight, spread evenly over the
 * cycle (the kind furthest behind its share goes next), so that a short run already has the
 * stated proportions. A create comes first, so that the writes after it have a task.
 */
export function mixSequence(mix: Mix): MixOp[] {
  const total = mixOps.reduce((sum, op) => sum + mix[op], 0);
  const done = Object.fromEntries(mixOps.map((op) => [op, 0])) as Mix;
  const sequence: MixOp[] = [];
  for (let slot = 1; slot <= total; slot += 1) {
    let best: MixOp | undefined;
    let bestLag = Number.NEGATIVE_INFINITY;
    for (const op of mixOps) {
      if (done[op] >= mix[op]) continue;
      const lag = (mix[op] * slot) / total - done[op];
      if (lag > bestLag) {
        best = op;
        bestLag = lag;
      }
    }
    if (!best) break;
    done[best] += 1;
    sequence.push(best);
  }
  const firstCreate = sequence.indexOf('create');
  if (firstCreate > 0) sequence.unshift(...sequence.splice(firstCreate, 1));
  return sequence;
}

/** The static assets the page names (scripts and style sheets under /_next/static/), as a browser would fetch them. */
export function pageAssets(html: string): string[] {
  const assets = new Set<string>();
  for (const match of html.matchAll(/(?:src|href)="(\/_next\/static\/[^"?#]+)"/g)) assets.add(match[1] as string);
  return [...assets];
}

export interface MixUser {
  user: string;
  headers: Record<string, string>;
  credentials: { email: string; password: string };
}

/** The user's tasks as this connection knows them: all of them, and the open ones. */
interface Known {
  all: string[];
  open: string[];
}

const knownOf = (raw: object): Known => {
  const context = raw as { known?: Known };
  context.known ??= { all: [], open: [] };
  return context.known;
};

const without = (ids: string[], id: string): void => {
  const at = ids.indexOf(id);
  if (at >= 0) ids.splice(at, 1);
};

/**
 * The user's cycle of requests. Writes act on the user's own tasks: a create remembers
 * the new task, a list refreshes what the user has, update and complete take the newest open
 * task, delete the oldest of all (so completed tasks' next occurrences are deleted in turn
 * and the list stays short). With no task at hand, a write becomes a list and counts as one.
 * `onSend` hears the kind of each request as it is sent.
 */
export function mixRequests(user: MixUser, sequence: readonly MixOp[], assets: readonly string[], signInPath: string, onSend: (op: MixOp) => void): UserRequest[] {
  const tasks = `/api/${encodeURIComponent(user.user)}/tasks`;
  const api = (body: boolean): Record<string, string> => ({ ...user.headers, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) });
  let asset = 0;
  const rememberList = (status: number, body: string, raw: object) => {
    if (status !== 200) return;
    try {
      const parsed = JSON.parse(body) as unknown;
      const wrapped = parsed as { tasks?: unknown[]; items?: unknown[] };
      const list = (Array.isArray(parsed) ? parsed : (wrapped.tasks ?? wrapped.items ?? [])) as { id?: unknown; completed?: unknown; is_completed?: unknown }[];
      const known = knownOf(raw);
      known.all = list.filter((task) => task.id !== undefined).map((task) => String(task.id));
      known.open = list.filter((task) => task.id !== undefined && !(task.completed ?? task.is_completed)).map((task) => String(task.id));
    } catch {
      // Not a list: the writes fall back to lists until one is read.
    }
  };
  const listRequest = (request: UserRequest): UserRequest => {
    onSend('list');
    return { ...request, method: 'GET', path: tasks, headers: api(false), body: undefined };
  };
  const onTask = (op: 'update' | 'complete' | 'delete') => (request: UserRequest, raw: object): UserRequest => {
    const known = knownOf(raw);
    const id = op === 'delete' ? known.all[0] : known.open[known.open.length - 1];
    if (!id) return listRequest(request);
    onSend(op);
    if (op !== 'update') without(known.open, id);
    if (op === 'delete') without(known.all, id);
    const path = `${tasks}/${encodeURIComponent(id)}${op === 'complete' ? '/complete' : ''}`;
    const body = op === 'update' ? JSON.stringify({ description: 'updated under load', priority: 'high' }) : op === 'complete' ? JSON.stringify({ completed: true, is_completed: true }) : undefined;
    return { ...request, method: op === 'update' ? 'PUT' : op === 'complete' ? 'PATCH' : 'DELETE', path, headers: api(body !== undefined), body };
  };

  return sequence.map((op): UserRequest => {
    switch (op) {
      case 'page':
        return { method: 'GET', path: '/', headers: { ...user.headers, accept: 'text/html' }, setupRequest: (r: UserRequest) => (onSend('page'), r) };
      case 'asset':
        if (assets.length === 0) return { method: 'GET', path: '/', headers: { ...user.headers, accept: 'text/html' }, setupRequest: (r: UserRequest) => (onSend('page'), r) };
        return {
          method: 'GET',
          path: assets[0] as string,
          setupRequest: (r: UserRequest) => {
            onSend('asset');
            const path = assets[asset % assets.length] as string;
            asset += 1;
            return { ...r, path };
          },
        };
      case 'signin':
        return {
          method: 'POST',
          path: signInPath,
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify(user.credentials),
          setupRequest: (r: UserRequest) => (onSend('signin'), r),
        };
      case 'list':
        return { method: 'GET', path: tasks, headers: api(false), setupRequest: (r: UserRequest) => (onSend('list'), r), onResponse: rememberList };
      case 'create':
        return {
          method: 'POST',
          path: tasks,
          headers: api(true),
          setupRequest: (r: UserRequest) => {
            onSend('create');
            // Daily recurring tasks, so that completing one is an event with a next occurrence.
            return { ...r, body: JSON.stringify({ title: `load ${Math.random().toString(36).slice(2, 8)}`, priority: 'medium', tags: ['load'], due_date: new Date().toISOString().slice(0, 10), is_recurring: true, recurrence_pattern: 'daily', recurrence_frequency: 'daily' }) };
          },
          onResponse: (status: number, body: string, raw: object) => {
            if (status !== 200 && status !== 201) return;
            try {
              const parsed = JSON.parse(body) as { id?: unknown };
              if (parsed.id === undefined) return;
              const known = knownOf(raw);
              known.all.push(String(parsed.id));
              known.open.push(String(parsed.id));
            } catch {
              // No id: the writes fall back to lists.
            }
          },
        };
      case 'update':
        return { method: 'PUT', path: tasks, headers: api(false), setupRequest: onTask('update') };
      case 'complete':
        return { method: 'PATCH', path: tasks, headers: api(false), setupRequest: onTask('complete') };
      case 'delete':
        return { method: 'DELETE', path: tasks, headers: api(false), setupRequest: onTask('delete') };
    }
  });
}
