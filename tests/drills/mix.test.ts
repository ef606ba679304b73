import { describe, expect, it } from 'vitest';
import { InputError } from '../../suites/lib/errors.js';
import { defaultMix, mixRequests, mixSequence, mixText, pageAssets, parseMix } from '../../suites/load/mix.js';
import type { UserRequest } from '../../suites/load/users.js';

describe('the load mix', () => {
  it('reads KIND=N pairs over the defaults and refuses what it cannot use, as bad usage', () => {
    expect(parseMix(undefined)).toEqual(defaultMix);
    expect(parseMix('signin=0, page=10')).toEqual({ ...defaultMix, signin: 0, page: 10 });
    expect(mixText(parseMix('signin=0'))).toBe('page=5,asset=10,list=44,create=12,update=10,complete=8,delete=10');
    for (const [text, message] of [
      ['lists=3', '--mix: unknown request kind "lists"'],
      ['list=', '--mix: list needs a whole number from 0 to 1000, got ""'],
      ['list=1.5', 'got "1.5"'],
      ['list=-1', 'got "-1"'],
      ['list=0,create=0,update=0,complete=0,delete=0', 'at least one API request kind'],
    ] as const) {
      expect(() => parseMix(text)).toThrow(InputError);
      expect(() => parseMix(text)).toThrow(message);
    }
  });

  it('spreads each kind evenly over a cycle in its proportion, a create first', () => {
    const sequence = mixSequence(defaultMix);
    expect(sequence).toHaveLength(100);
    expect(sequence[0]).toBe('create');
    for (const [op, weight] of Object.entries(defaultMix)) expect(sequence.filter((s) => s === op)).toHaveLength(weight);
    // Evenly: every 20 requests hold 2 of the 10 asset fetches and 1 of the 5 page loads.
    for (let start = 0; start < 100; start += 20) {
      const window = sequence.slice(start, start + 20);
      expect(window.filter((s) => s === 'asset').length).toBeGreaterThanOrEqual(1);
      expect(window.filter((s) => s === 'page').length).toBeGreaterThanOrEqual(1);
    }
  });

  it("finds the page's scripts and style sheets as a browser would", () => {
    const html = '<link rel="stylesheet" href="/_next/static/css/a.css" data-precedence="next"/><script src="/_next/static/chunks/main.js" async=""></script><script src="/_next/static/chunks/main.js"></script><img src="/logo.png">';
    expect(pageAssets(html)).toEqual(['/_next/static/css/a.css', '/_next/static/chunks/main.js']);
  });

  it("acts on the user's own tasks: writes take a task it created or listed, and fall back to a list without one", () => {
    const byOp: Record<string, number> = {};
    const user = { user: 'u 1', headers: { cookie: 'todo_session=t' }, credentials: { email: 'a@example.invalid', password: 'pw-pw-pw-pw' } };
    const requests = mixRequests(user, ['update', 'create', 'update', 'complete', 'list', 'delete', 'signin', 'page', 'asset', 'asset'], ['/_next/static/a.js', '/_next/static/b.css'], '/api/auth/sign-in/email', (op) => {
      byOp[op] = (byOp[op] ?? 0) + 1;
    });
    const context = {};
    const send = (i: number): UserRequest => {
      const request = requests[i] as UserRequest;
      return request.setupRequest ? request.setupRequest(request, context) : request;
    };
    const answer = (i: number, status: number, body: unknown) => requests[i]?.onResponse?.(status, JSON.stringify(body), context);
    expect(send(0)).toMatchObject({ method: 'GET', path: '/api/u%201/tasks' });
    const created = send(1);
    expect(created.method).toBe('POST');
    expect(JSON.parse(String(created.body))).toMatchObject({ is_recurring: true, recurrence_pattern: 'daily' });
    answer(1, 201, { id: 't1' });
    expect(send(2)).toMatchObject({ method: 'PUT', path: '/api/u%201/tasks/t1' });
    expect(send(3)).toMatchObject({ method: 'PATCH', path: '/api/u%201/tasks/t1/complete' });
    answer(4, 200, [{ id: 't1', completed: true }, { id: 't2', parent_task_id: 't1' }]);
    const deleted = send(5);
    expect(deleted).toMatchObject({ method: 'DELETE', path: '/api/u%201/tasks/t1', body: undefined });
    // A request without a body carries no content headers.
    expect(deleted.headers).toEqual({ cookie: 'todo_session=t', accept: 'application/json' });
    expect(send(6)).toMatchObject({ method: 'POST', path: '/api/auth/sign-in/email', body: JSON.stringify(user.credentials) });
    expect(send(7)).toMatchObject({ method: 'GET', path: '/', headers: { cookie: 'todo_session=t', accept: 'text/html' } });
    expect([send(8).path, send(9).path]).toEqual(['/_next/static/a.js', '/_next/static/b.css']);
    expect(byOp).toEqual({ list: 1, create: 1, update: 1, complete: 1, delete: 1, signin: 1, page: 1, asset: 2 });
  });
});
