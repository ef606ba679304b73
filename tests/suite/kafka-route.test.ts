import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routedSockets } from '../../suites/lib/kafka.js';

let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((socket) => socket.end('broker'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function outcome(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', (error) => resolve(`error: ${error.message}`));
  });
}

describe('routing broker connections to port-forwards', () => {
  const noop = (): void => undefined;

  it("sends a broker's in-cluster name to the forward of its pod", async () => {
    const sockets = routedSockets(new Map([['kafka-1', port]]));
    const socket = sockets({ host: 'kafka-1.kafka-headless.todo-app.svc.cluster.local', port: 9092, ssl: {}, onConnect: noop });
    expect(await outcome(socket)).toBe('broker');
  });

  it('connects to an address given as an IP as it is', async () => {
    const sockets = routedSockets(new Map());
    expect(await outcome(sockets({ host: '127.0.0.1', port, ssl: {}, onConnect: noop }))).toBe('broker');
  });

  it('reports a broker without a forward as unreachable instead of looking its name up', async () => {
    const sockets = routedSockets(new Map([['kafka-0', port]]));
    const socket = sockets({ host: 'kafka-2.kafka-headless.todo-app.svc.cluster.local', port: 9092, ssl: {}, onConnect: noop });
    expect(await outcome(socket)).toBe('error: broker kafka-2.kafka-headless.todo-app.svc.cluster.local:9092 has no port-forward (is its pod ready?)');
  });
});
