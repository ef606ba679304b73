// The load engine's own ceiling: how many requests per second one generator process (one
// core) drives against a trivial server on 127.0.0.1 that runs in another process, its
// users sending each request as soon as the previous one is answered.
// Usage: tsx suites/load/overhead.ts [seconds=5] [connections=50]
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:http';
import { runUsers } from './users.js';
import { summarize } from '../drills/stats.js';

async function serve(): Promise<void> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('[]');
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send?.(typeof address === 'object' && address ? address.port : 0);
  });
  // Bounded: the server never outlives the measurement by much.
  setTimeout(() => process.exit(0), 120_000).unref();
  process.on('disconnect', () => process.exit(0));
}

async function measure(seconds: number, connections: number): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], { execArgv: ['--import', 'tsx'] });
  try {
    const port = await new Promise<number>((done) => child.once('message', (m) => done(Number(m))));
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const latencies: number[] = [];
    let failures = 0;
    await runUsers(
      { origin: `http://127.0.0.1:${port}`, cycles: Array.from({ length: connections }, () => [{ method: 'GET', path: '/' }]), intervalMs: 0, durationMs: seconds * 1000, timeoutMs: 10_000 },
      ({ ms }) => latencies.push(ms),
      () => (failures += 1),
    );
    const wall = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const total = latencies.length;
    const latency = summarize(latencies);
    process.stdout.write(`${JSON.stringify({
      connections, seconds, requests: total,
      requestsPerSecond: Math.round(total / wall),
      generatorCpuPercentOfOneCore: Math.round((cpuSeconds / wall) * 100),
      requestsPerCpuSecond: Math.round(total / cpuSeconds),
      latencyP50Ms: latency.p50, latencyP99Ms: latency.p99, failures,
    })}\n`);
  } finally {
    child.kill('SIGTERM');
  }
}

if (process.argv.includes('--serve')) await serve();
else await measure(Number(process.argv[2] ?? 5), Number(process.argv[3] ?? 50));
