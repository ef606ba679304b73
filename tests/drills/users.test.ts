// The virtual users against a server on 127.0.0.1: their first requests spread over the
// first interval (no burst of every user at once), each user's own context carried from
// answer to request, and failures reported by code.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runUsers, type UserFailure, type UserRequest, type UserResponse } from '../../suites/load/users.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the virtual users', () => {
  it('spread their first requests over the first interval and keep to their pace, each with its own context', async () => {
    const arrivals: { user: string; at: number }[] = [];
    const origin = await serve((request, response) => {
      arrivals.push({ user: String(request.headers['x-user']), at: Date.now() });
      response.end(String(arrivals.length));
    });
    const seen: string[][] = [[], [], [], []];
    const cycle = (user: number): UserRequest[] => [{
      method: 'GET',
      path: '/',
      headers: { 'x-user': String(user) },
      setupRequest: (request, context) => ({ ...request, path: `/${(context as { last?: string }).last ?? 'first'}` }),
      onResponse: (_status, body, context) => {
        (context as { last?: string }).last = body;
        seen[user]?.push(body);
      },
    }];
    const responses: UserResponse[] = [];
    const started = Date.now();
    await runUsers({ origin, cycles: [0, 1, 2, 3].map(cycle), intervalMs: 400, durationMs: 1000, timeoutMs: 5000 }, (r) => responses.push(r), () => undefined);
    // Each user's first request no earlier than its share of the first interval.
    for (const user of [1, 2, 3]) {
      const first = arrivals.find((a) => a.user === String(user));
      expect(first?.at, `user ${user}`).toBeGreaterThanOrEqual(started + user * 100 - 5);
    }
    // 1000 ms at one request per 400 ms: three slots for the first users, at most three for each.
    expect(responses.length).toBeGreaterThanOrEqual(8);
    expect(responses.length).toBeLessThanOrEqual(12);
    expect(responses.every((r) => r.status === 200 && r.index === 0)).toBe(true);
    for (const bodies of seen) expect(bodies.length).toBeGreaterThanOrEqual(2);
  });

  it('reports a request that is not answered in time as a timeout, and a refused connection by its code', async () => {
    const origin = await serve(() => undefined);
    const failures: UserFailure[] = [];
    await runUsers({ origin, cycles: [[{ method: 'GET', path: '/' }]], intervalMs: 1000, durationMs: 200, timeoutMs: 100 }, () => undefined, (f) => failures.push(f));
    expect(failures).toEqual([{ user: 0, index: 0, code: 'timeout' }]);

    // An answer that trickles in, a byte every 50 ms, is still cut at the deadline.
    const trickling = await serve((_request, response) => {
      response.writeHead(200);
      const drip = setInterval(() => response.write('.'), 50);
      response.on('close', () => clearInterval(drip));
    });
    const slow: UserFailure[] = [];
    await runUsers({ origin: trickling, cycles: [[{ method: 'GET', path: '/' }]], intervalMs: 1000, durationMs: 200, timeoutMs: 300 }, () => undefined, (f) => slow.push(f));
    expect(slow).toEqual([{ user: 0, index: 0, code: 'timeout' }]);

    const closed = await serve(() => undefined);
    const server = servers.pop() as Server;
    await new Promise((done) => server.close(done));
    const refused: UserFailure[] = [];
    await runUsers({ origin: closed, cycles: [[{ method: 'GET', path: '/' }]], intervalMs: 1000, durationMs: 200, timeoutMs: 1000 }, () => undefined, (f) => refused.push(f));
    expect(refused).toEqual([{ user: 0, index: 0, code: 'ECONNREFUSED' }]);
  });
});
