// HTTP calls with a timeout per request and the elapsed time measured, so every check can
// put the latency it saw next to the limit.
import { createHmac } from 'node:crypto';
import type { Endpoint } from './access.js';
import { oneLine } from './errors.js';

export interface HttpResult {
  status: number;
  ms: number;
  text: string;
  json: unknown;
  headers: Headers;
}

export interface HttpOptions {
  method?: string;
  body?: unknown;
  token?: string;
  timeoutMs: number;
  headers?: Record<string, string>;
}

export async function http(endpoint: Endpoint, path: string, options: HttpOptions): Promise<HttpResult> {
  const url = `${endpoint.url}${path}`;
  const headers: Record<string, string> = { accept: 'application/json', ...(options.headers ?? {}) };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(url, {
      method: options.method ?? 'GET',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    const tunnel = endpoint.forward?.lastError();
    throw new Error(`${options.method ?? 'GET'} ${path} via ${endpoint.via} failed: ${oneLine(error)}${tunnel ? `; tunnel: ${tunnel}` : ''}`);
  }
  const text = await response.text();
  const ms = performance.now() - started;
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, ms, text, json, headers: response.headers };
}

const base64url = (input: Buffer | string) => Buffer.from(input).toString('base64url');

/** An HS256 JWT, as the contract's backend verifies it. */
export function signJwt(claims: Record<string, unknown>, secret: string, ttlSeconds = 3600): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify({ iat: now, exp: now + ttlSeconds, ...claims }));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number;
}

/** Short, single-line view of a response body for evidence. */
export function snippet(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
