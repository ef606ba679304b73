import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbe, type PortResolver } from '../../scripts/sandbox/runtime/probes.js';

let server: Server;
let port = 0;
let closedPort = 0;

beforeAll(async () => {
  server = createServer((request, response) => {
    response.statusCode = request.url === '/health' ? 200 : request.url === '/moved' ? 302 : 503;
    response.end();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  port = (server.address() as AddressInfo).port;
  const probeOnly = createServer();
  await new Promise<void>((done) => probeOnly.listen(0, '127.0.0.1', done));
  closedPort = (probeOnly.address() as AddressInfo).port;
  await new Promise((done) => probeOnly.close(done));
});
afterAll(() => server.close());

const ports: PortResolver = (name) => (name === 'http' || name === 8000 ? port : name === 'closed' ? closedPort : undefined);

describe('probes', () => {
  it('passes an httpGet probe on 2xx and 3xx, by port name or number', async () => {
    expect((await runProbe({ httpGet: { path: '/health', port: 'http' } }, ports)).ok).toBe(true);
    expect((await runProbe({ httpGet: { path: '/moved', port: 8000 } }, ports)).ok).toBe(true);
  });

  it('fails an httpGet probe on 5xx and says the status', async () => {
    const result = await runProbe({ httpGet: { path: '/broken', port: 'http' } }, ports);
    expect(result).toEqual({ ok: false, message: 'HTTP probe failed with statuscode: 503' });
  });

  it('fails when nothing listens, and when the port is not the container\'s', async () => {
    expect((await runProbe({ tcpSocket: { port: 'closed' } }, ports)).message).toContain('ECONNREFUSED');
    expect((await runProbe({ httpGet: { path: '/', port: 'metrics' } }, ports)).message).toBe('no container port metrics');
  });

  it('passes a tcpSocket probe when the process accepts', async () => {
    expect((await runProbe({ tcpSocket: { port: 'http' } }, ports)).ok).toBe(true);
  });

  it('runs an exec probe and passes on exit code 0', async () => {
    expect((await runProbe({ exec: { command: ['true'] } }, ports)).ok).toBe(true);
    expect((await runProbe({ exec: { command: ['false'] } }, ports)).ok).toBe(false);
  });
});
