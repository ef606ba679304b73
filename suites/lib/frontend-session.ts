// A user of the frontend over HTTP: signs up and in through the frontend's own routes and
// keeps the cookies it sets, as a browser does, so that task calls through the public
// address's /api carry the session the frontend issued, never a token the suite signed.
import { randomBytes } from 'node:crypto';
import type { Endpoint } from './access.js';
import type { AuthRoutes } from './config.js';
import { http, snippet, type HttpResult } from './http.js';
import type { Redactor } from './redact.js';
import type { ApiAuth } from './todo-api.js';

export interface Credentials {
  email: string;
  password: string;
  name?: string;
}

/**
 * A fresh user's credentials: the address is under .invalid, so no mail can ever go anywhere,
 * and the password goes into the redactor before it is used.
 */
export function freshCredentials(prefix: string, redactor: Pick<Redactor, 'add'>, name = prefix): Credentials {
  const password = randomBytes(18).toString('base64url');
  redactor.add(password);
  return { email: `${prefix}-${randomBytes(3).toString('hex')}@example.invalid`, password, name };
}

export interface SessionUser {
  id: string;
  email?: string;
}

/** The user in a sign-up, sign-in or session answer: `{user: {id}}` (Better Auth and most others) or `{id}`. */
export function userIn(json: unknown): SessionUser | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const body = json as { user?: { id?: unknown; email?: unknown }; id?: unknown; email?: unknown };
  const user = typeof body.user === 'object' && body.user !== null ? body.user : body;
  if (typeof user.id !== 'string' && typeof user.id !== 'number') return undefined;
  return { id: String(user.id), email: typeof user.email === 'string' ? user.email : undefined };
}

/** A cookie line's name and value, or the name alone when the line deletes it. */
export function parseSetCookie(line: string, now = Date.now()): { name: string; value: string | undefined } | undefined {
  const [pair = '', ...attributes] = line.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return undefined;
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  const expired = attributes.some((attribute) => {
    const [key = '', ...rest] = attribute.split('=');
    const text = rest.join('=').trim();
    if (key.trim().toLowerCase() === 'max-age') return Number(text) <= 0;
    if (key.trim().toLowerCase() === 'expires') return Date.parse(text) <= now;
    return false;
  });
  return { name, value: expired || value === '' ? undefined : value };
}

export class FrontendSession implements ApiAuth {
  private readonly cookies = new Map<string, string>();
  private bearer: string | undefined;

  constructor(
    readonly endpoint: Endpoint,
    readonly routes: AuthRoutes,
    readonly timeoutMs: number,
  ) {}

  headers(): Record<string, string> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    return headers;
  }

  get cookieNames(): string[] {
    return [...this.cookies.keys()];
  }

  /** Take over the cookies of a browser context (to clean up after a browser journey). */
  adopt(cookies: { name: string; value: string }[]): void {
    for (const cookie of cookies) this.cookies.set(cookie.name, cookie.value);
  }

  /** A call to the frontend's own routes; the Origin header is the frontend's, as a browser sends it. */
  async send(method: string, path: string, body?: unknown): Promise<HttpResult> {
    const origin = new URL(this.endpoint.url).origin;
    const result = await http(this.endpoint, path, { method, body, headers: { ...this.headers(), origin }, timeoutMs: this.timeoutMs });
    for (const line of result.headers.getSetCookie()) {
      const cookie = parseSetCookie(line);
      if (!cookie) continue;
      if (cookie.value === undefined) this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
    return result;
  }

  /** A session of a fresh user, signed up through the frontend's own routes as a person would be. */
  static async signUpFresh(endpoint: Endpoint, routes: AuthRoutes, timeoutMs: number, prefix: string, redactor: Pick<Redactor, 'add'>): Promise<{ session: FrontendSession; user: SessionUser; credentials: Credentials }> {
    const session = new FrontendSession(endpoint, routes, timeoutMs);
    const credentials = freshCredentials(prefix, redactor);
    const user = await session.signIn('signUp', credentials);
    return { session, user, credentials };
  }

  /** Sign up or in; the user the frontend answers with. Throws with what the frontend said. */
  async signIn(kind: 'signUp' | 'signIn', credentials: Credentials): Promise<SessionUser> {
    const path = this.routes[kind];
    const result = await this.send('POST', path, credentials);
    if (result.status !== 200 && result.status !== 201) throw new Error(`POST ${path} answered ${result.status}: ${snippet(result.text, 160)}`);
    const user = userIn(result.json);
    if (!user) throw new Error(`POST ${path} answered ${result.status} without a user id: ${snippet(result.text, 160)}`);
    if (this.cookies.size === 0) throw new Error(`POST ${path} answered ${result.status} but set no cookie, so the browser would hold no session`);
    if (this.routes.token) await this.fetchToken(this.routes.token);
    return user;
  }

  private async fetchToken(path: string): Promise<void> {
    const result = await this.send('GET', path);
    const token = (result.json as { token?: unknown } | undefined)?.token;
    if (result.status !== 200 || typeof token !== 'string') throw new Error(`GET ${path} answered ${result.status} without a token: ${snippet(result.text, 160)}`);
    this.bearer = token;
  }

  /** The signed-in user, or undefined when the frontend says there is none (401, or a body without a user). */
  async currentUser(): Promise<SessionUser | undefined> {
    const path = this.routes.session;
    const result = await this.send('GET', path);
    if (result.status === 401) return undefined;
    if (result.status !== 200) throw new Error(`GET ${path} answered ${result.status}: ${snippet(result.text, 160)}`);
    return userIn(result.json);
  }

  async signOut(): Promise<void> {
    const path = this.routes.signOut;
    const result = await this.send('POST', path, {});
    if (result.status < 200 || result.status >= 300) throw new Error(`POST ${path} answered ${result.status}: ${snippet(result.text, 160)}`);
    this.bearer = undefined;
  }
}
