// Continuous probes through the frontend's public address (the Service, never one pod):
// the page itself, the backend API behind the frontend's /api proxy, and the event path
// (complete a daily recurring task, its next occurrence appears). Each target runs at a
// fixed rate, bounded in count and time, and stops by itself.
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { oneLine } from '../lib/errors.js';
import type { AuthRoutes } from '../lib/config.js';
import { FrontendSession, type Credentials } from '../lib/frontend-session.js';
import type { Redactor } from '../lib/redact.js';
import { today, waitForNextOccurrence, type Task } from '../lib/todo-api.js';
import type { ProbeResult } from './stats.js';

export interface ProbeTarget {
  name: string;
  /** Requests per second. */
  rate: number;
  run(signal: AbortSignal): Promise<{ ok: boolean; status?: number; error?: string; latencyMs?: number }>;
}

/** A user of the public address: its calls carry the session the frontend issued it. */
export interface ApiClient {
  base: string;
  user: string;
  /** The session's headers (its cookies, or the bearer the frontend handed out). */
  headers: Record<string, string>;
  /** To sign in again, as the load test's users do now and then. */
  credentials: Credentials;
  timeoutMs: number;
}

/** A fresh user, signed up through the frontend's own routes, as a person would be. */
export async function signedInClient(base: string, routes: AuthRoutes, prefix: string, redactor: Pick<Redactor, 'add'>, timeoutMs = 5000): Promise<ApiClient> {
  const url = base.replace(/\/$/, '');
  try {
    const { session, user, credentials } = await FrontendSession.signUpFresh({ url, via: 'the public address' }, routes, timeoutMs, prefix, redactor);
    return { base: url, user: user.id, headers: session.headers(), credentials, timeoutMs };
  } catch (error) {
    throw new Error(`a ${prefix} user cannot sign up through ${url}: ${oneLine(error)}`);
  }
}

export interface ApiAnswer {
  status: number;
  json: unknown;
  text: string;
}

/**
 * One HTTP request on a connection of its own. A probe measures whether the Service
 * answers a new client; a kept-alive connection would instead measure whether one old
 * connection survives its pod's shutdown, which no Service promises.
 */
export function freshRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; signal: AbortSignal },
): Promise<{ status: number; text: string }> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(target, { method: options.method ?? 'GET', headers: options.headers, agent: false, signal: options.signal }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', (error: NodeJS.ErrnoException) => reject(new Error(`request failed (${error.code ?? error.name})`)));
    request.end(options.body);
  });
}

export async function api(client: ApiClient, method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<ApiAnswer> {
  const headers: Record<string, string> = { accept: 'application/json', ...client.headers };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const timeout = AbortSignal.timeout(client.timeoutMs);
  const response = await freshRequest(`${client.base}/api/${encodeURIComponent(client.user)}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  });
  const text = response.text;
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

export function taskList(json: unknown): Task[] {
  if (Array.isArray(json)) return json as Task[];
  if (json && typeof json === 'object') {
    const body = json as { tasks?: Task[]; items?: Task[] };
    return body.tasks ?? body.items ?? [];
  }
  return [];
}

export function frontendTarget(base: string, rate = 5, timeoutMs = 5000): ProbeTarget {
  return {
    name: 'frontend',
    rate,
    async run(signal) {
      const response = await freshRequest(`${base.replace(/\/$/, '')}/`, { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
      return { ok: response.status === 200, status: response.status, error: response.status === 200 ? undefined : `HTTP ${response.status}` };
    },
  };
}

export function apiTarget(client: ApiClient, rate = 5): ProbeTarget {
  return {
    name: 'api',
    rate,
    async run(signal) {
      const answer = await api(client, 'GET', '/tasks', undefined, signal);
      const ok = answer.status === 200 && Array.isArray(taskList(answer.json));
      return { ok, status: answer.status, error: ok ? undefined : `HTTP ${answer.status} ${answer.text.slice(0, 120)}` };
    },
  };
}

/** Create a daily recurring task, complete it, and wait (bounded) for its next occurrence. */
export async function eventFlowOnce(client: ApiClient, waitMs: number, signal?: AbortSignal): Promise<{ ok: boolean; ms: number; status?: number; error?: string }> {
  const started = performance.now();
  const created = await api(client, 'POST', '/tasks', { title: `drill event ${randomBytes(3).toString('hex')}`, due_date: today(), recurrence_pattern: 'daily', is_recurring: true, recurrence_frequency: 'daily' }, signal);
  const task = created.json as Task | undefined;
  if ((created.status !== 200 && created.status !== 201) || !task?.id) return { ok: false, ms: performance.now() - started, status: created.status, error: `create HTTP ${created.status}` };
  const completed = await api(client, 'PATCH', `/tasks/${encodeURIComponent(task.id)}/complete`, { completed: true, is_completed: true }, signal);
  if (completed.status !== 200) return { ok: false, ms: performance.now() - started, status: completed.status, error: `complete HTTP ${completed.status}` };
  const list = async () => taskList((await api(client, 'GET', '/tasks', undefined, signal)).json);
  const { next, ms } = await waitForNextOccurrence(list, task, waitMs, { signal });
  if (!next) return { ok: false, ms, error: `next occurrence not visible within ${waitMs} ms` };
  await api(client, 'DELETE', `/tasks/${encodeURIComponent(next.id)}`).catch(() => undefined);
  await api(client, 'DELETE', `/tasks/${encodeURIComponent(task.id)}`).catch(() => undefined);
  return { ok: true, ms, status: 200 };
}

/**
 * The event flow as a probe. An event still unprocessed after `lostAfterMs` counts as the flow
 * being down; one processed later than the 5 s target is slow, not down, and its latency is kept.
 */
export function eventTarget(client: ApiClient, rate = 0.5, lostAfterMs = 30_000): ProbeTarget {
  return {
    name: 'event-flow',
    rate,
    async run(signal) {
      const result = await eventFlowOnce(client, lostAfterMs, signal);
      return { ok: result.ok, status: result.status, error: result.error, latencyMs: result.ok ? Math.round(result.ms) : undefined };
    },
  };
}

export interface ProbeOptions {
  /** Hard upper bound on the probing time. */
  maxMs: number;
  /** Hard upper bound on probes per target. */
  maxProbes: number;
  now?: () => number;
}

/** Runs each target at its rate until stop() or a bound; collects every result. */
export class Prober {
  readonly results: ProbeResult[] = [];
  private readonly controller = new AbortController();
  private loops: Promise<void>[] = [];
  startedAt = 0;

  constructor(
    private readonly targets: ProbeTarget[],
    private readonly options: ProbeOptions,
  ) {}

  start(): void {
    const now = this.options.now ?? Date.now;
    this.startedAt = now();
    const endAt = this.startedAt + this.options.maxMs;
    const signal = this.controller.signal;
    // Every probe links its own timeout to this signal; their number is bounded by the rate.
    setMaxListeners(0, signal);
    this.loops = this.targets.map(async (target) => {
      const interval = 1000 / target.rate;
      const inFlight = new Set<Promise<void>>();
      for (let i = 0; i < this.options.maxProbes && !signal.aborted && now() < endAt; i += 1) {
        const due = this.startedAt + i * interval;
        const wait = due - now();
        if (wait > 0) {
          await new Promise<void>((done) => {
            const onAbort = () => {
              clearTimeout(timer);
              done();
            };
            const timer = setTimeout(() => {
              signal.removeEventListener('abort', onAbort);
              done();
            }, wait);
            signal.addEventListener('abort', onAbort, { once: true });
          });
        }
        if (signal.aborted || now() >= endAt) break;
        const at = now();
        const started = performance.now();
        const one = target
          .run(signal)
          .then((r) => ({ ...r }))
          .catch((error: unknown) => ({ ok: false, status: undefined, error: oneLine(error), latencyMs: undefined }))
          .then((r) => {
            if (signal.aborted && !r.ok) return; // cut short by stop(), not a failure of the service
            this.results.push({ target: target.name, at, ms: Math.round(performance.now() - started), ok: r.ok, status: r.status, error: r.error, latencyMs: r.latencyMs });
          });
        // A slow answer must not lower the rate: up to 4 probes of a target overlap.
        inFlight.add(one);
        void one.finally(() => inFlight.delete(one));
        if (inFlight.size >= 4) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    });
  }

  stoppedAt = 0;

  async stop(): Promise<ProbeResult[]> {
    this.stoppedAt = (this.options.now ?? Date.now)();
    this.controller.abort(new Error('probing stopped'));
    await Promise.all(this.loops);
    return this.results.sort((a, b) => a.at - b.at);
  }
}
