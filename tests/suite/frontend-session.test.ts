import { describe, expect, it } from 'vitest';
import { defaultAuthRoutes, resolveConfig } from '../../suites/lib/config.js';
import { parseSetCookie, userIn } from '../../suites/lib/frontend-session.js';

describe('the frontend session of the user journey', () => {
  it('keeps a cookie a sign-in sets and drops one a sign-out expires', () => {
    const now = Date.parse('2026-06-01T00:00:00Z');
    expect(parseSetCookie('todo_session=abc.def; Path=/; HttpOnly; SameSite=lax; Max-Age=604800', now)).toEqual({ name: 'todo_session', value: 'abc.def' });
    expect(parseSetCookie('better-auth.session_token=x=y; Path=/', now)).toEqual({ name: 'better-auth.session_token', value: 'x=y' });
    expect(parseSetCookie('todo_session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT', now)).toEqual({ name: 'todo_session', value: undefined });
    expect(parseSetCookie('todo_session=abc; Max-Age=0', now)).toEqual({ name: 'todo_session', value: undefined });
    expect(parseSetCookie('=nameless', now)).toBeUndefined();
  });

  it('reads the user of a sign-in or session answer in the common shapes', () => {
    expect(userIn({ user: { id: 'u1', email: 'a@example.invalid' }, token: 't' })).toEqual({ id: 'u1', email: 'a@example.invalid' });
    expect(userIn({ session: { id: 's' }, user: { id: 7 } })).toEqual({ id: '7', email: undefined });
    expect(userIn({ id: 'u2' })).toEqual({ id: 'u2', email: undefined });
    expect(userIn(null)).toBeUndefined();
    expect(userIn({ user: null })).toBeUndefined();
    expect(userIn({ detail: 'Not authenticated' })).toBeUndefined();
  });

  it("uses Better Auth's routes unless the config file names the frontend's own", () => {
    const base = { argv: ['--config', 'c.yaml'], env: {}, cwd: '/work', home: '/home/u' };
    expect(resolveConfig({ ...base, argv: [] }).authRoutes).toEqual(defaultAuthRoutes);
    const own = resolveConfig({ ...base, readFile: () => 'authRoutes:\n  signIn: /auth/login\n  token: /api/auth/token\n' });
    expect(own.authRoutes).toEqual({ ...defaultAuthRoutes, signIn: '/auth/login', token: '/api/auth/token' });
    expect(() => resolveConfig({ ...base, readFile: () => 'authRoutes:\n  login: /x\n' })).toThrow(/unknown route "login" under authRoutes in c\.yaml; known: signUp, signIn, session, signOut, token/);
    expect(() => resolveConfig({ ...base, readFile: () => 'authRoutes:\n  signIn: auth/login\n' })).toThrow(/authRoutes\.signIn in c\.yaml must be a path on the frontend starting with \//);
  });
});
