// The virtual users: each one connection (kept alive) that sends its cycle of requests one
// at a time, one every `intervalMs` (its think time), for the run's duration. Their first
// requests are spread evenly over the first interval, as people's are: users started in
// step would send every request of the run in bursts of `users` at once, and the latency
// measured would be the queue of those bursts, not the service's. A request answered later
// than its slot is followed at once by the next, and the schedule goes on from there (no
// burst to catch up).
import http from 'node:http';
import https from 'node:https';

/** One request as a user's cycle holds it; `setupRequest` may rewrite it as it is sent. */
export interface UserRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Called as the request is sent, with the user's own context (what it knows of its tasks). */
  setupRequest?: (request: UserRequest, context: object) => UserRequest;
  /** Called with every answer, with the same context. */
  onResponse?: (status: number, body: string, context: object) => void;
}

export interface UsersRun {
  origin: string;
  /** Each user's cycle of requests. */
  cycles: UserRequest[][];
  /** Milliseconds between one user's requests (0: each follows the previous answer at once). */
  intervalMs: number;
  durationMs: number;
  timeoutMs: number;
}

export interface UserResponse {
  user: number;
  /** Position of the request in the user's cycle. */
  index: number;
  status: number;
  ms: number;
}

export interface UserFailure {
  user: number;
  index: number;
  /** The error's code (ECONNREFUSED, ...), or `timeout`. */
  code: string;
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/**
 * Send one request on the user's agent; resolves with the status and the whole body. The
 * whole exchange, not only each pause in it, has `timeoutMs`: an answer trickling in stays bounded.
 */
function send(agent: http.Agent, origin: URL, request: UserRequest, timeoutMs: number): Promise<{ status: number; body: string }> {
  const headers: Record<string, string | number> = { ...request.headers };
  if (request.body !== undefined) headers['content-length'] = Buffer.byteLength(request.body);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const outgoing = (origin.protocol === 'https:' ? https : http).request(
      { protocol: origin.protocol, hostname: origin.hostname, port: origin.port, method: request.method, path: request.path, headers, agent },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    const deadline = setTimeout(() => outgoing.destroy(Object.assign(new Error('timed out'), { code: 'timeout' })), timeoutMs);
    outgoing.on('close', () => clearTimeout(deadline));
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

async function runUser(user: number, cycle: readonly UserRequest[], run: UsersRun, origin: URL, startMs: number, offsetMs: number, onResponse: (response: UserResponse) => void, onFailure: (failure: UserFailure) => void): Promise<void> {
  const agent = new (origin.protocol === 'https:' ? https : http).Agent({ keepAlive: true, maxSockets: 1 });
  const context = {};
  const endMs = startMs + run.durationMs;
  let due = startMs + offsetMs;
  try {
    for (let sent = 0; cycle.length > 0; sent += 1) {
      if (due >= endMs) return;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      const index = sent % cycle.length;
      const planned = cycle[index] as UserRequest;
      const request = planned.setupRequest ? planned.setupRequest({ ...planned }, context) : planned;
      const began = performance.now();
      try {
        const { status, body } = await send(agent, origin, request, run.timeoutMs);
        onResponse({ user, index, status, ms: performance.now() - began });
        request.onResponse?.(status, body, context);
      } catch (error) {
        onFailure({ user, index, code: (error as NodeJS.ErrnoException).code ?? 'error' });
      }
      due = Math.max(due + run.intervalMs, Date.now());
    }
  } finally {
    agent.destroy();
  }
}

/** Run every user to the end of the duration; resolves when the last answer is in. Bounded by duration + timeout. */
export async function runUsers(run: UsersRun, onResponse: (response: UserResponse) => void, onFailure: (failure: UserFailure) => void): Promise<void> {
  const origin = new URL(run.origin);
  const startMs = Date.now();
  const count = run.cycles.length;
  await Promise.all(run.cycles.map((cycle, user) => runUser(user, cycle, run, origin, startMs, count > 0 ? Math.floor((user * run.intervalMs) / count) : 0, onResponse, onFailure)));
}
