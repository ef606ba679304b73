import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { criLines, criTimestamp, HostProcess } from '../../scripts/sandbox/runtime/host-process.js';

const scratch = mkdtempSync(join(tmpdir(), 'host-process-'));

/** Wait until the process has written `text`: its signal handlers are set by then. */
async function waitForLog(file: string, text: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(existsSync(file) && readFileSync(file, 'utf8').includes(text))) {
    if (Date.now() > deadline) throw new Error(`${file} never showed '${text}'`);
    await new Promise((done) => setTimeout(done, 20));
  }
}
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('CRI log format', () => {
  it('stamps full lines with nanosecond time and keeps a partial tail', () => {
    const now = new Date('2026-01-02T03:04:05.678Z');
    expect(criTimestamp(now)).toBe('2026-01-02T03:04:05.678000000Z');
    const first = criLines('stdout', '', 'one\ntw', now);
    expect(first).toEqual({ lines: '2026-01-02T03:04:05.678000000Z stdout F one\n', pending: 'tw' });
    const second = criLines('stdout', first.pending, 'o\n', now);
    expect(second.lines).toBe('2026-01-02T03:04:05.678000000Z stdout F two\n');
  });
});

describe('a host process', () => {
  it('runs with the given env and writes both streams to its CRI log', async () => {
    const logFile = join(scratch, 'echo.log');
    const process = new HostProcess({
      command: 'bash',
      args: ['-c', 'echo "greeting=$GREETING"; echo oops >&2'],
      env: { GREETING: 'hello', PATH: '/usr/bin:/bin' },
      logFile,
    });
    await process.start();
    expect(await process.wait()).toEqual({ code: 0, signal: null });
    await process.stop(1_000);
    const lines = readFileSync(logFile, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines).toContainEqual(expect.stringMatching(/^\S+Z stdout F greeting=hello$/));
    expect(lines).toContainEqual(expect.stringMatching(/^\S+Z stderr F oops$/));
  });

  it('stops with SIGTERM and lets the process finish its shutdown', async () => {
    const process = new HostProcess({
      command: 'bash',
      args: ['-c', 'trap "echo draining; exit 0" TERM; echo ready; while true; do sleep 0.05; done'],
      env: { PATH: '/usr/bin:/bin' },
      logFile: join(scratch, 'graceful.log'),
    });
    await process.start();
    await waitForLog(join(scratch, 'graceful.log'), 'ready');
    expect(await process.stop(5_000)).toEqual({ code: 0, signal: null });
    expect(readFileSync(join(scratch, 'graceful.log'), 'utf8')).toContain('stdout F draining');
  });

  it('kills a process that ignores SIGTERM once the grace period ends', async () => {
    const process = new HostProcess({
      command: 'bash',
      args: ['-c', 'trap "" TERM; echo ignoring; while true; do sleep 0.05; done'],
      env: { PATH: '/usr/bin:/bin' },
      logFile: join(scratch, 'stubborn.log'),
    });
    await process.start();
    await waitForLog(join(scratch, 'stubborn.log'), 'ignoring');
    const started = Date.now();
    const status = await process.stop(300);
    expect(status.signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('rejects start when the command does not exist', async () => {
    const process = new HostProcess({ command: join(scratch, 'no-such-binary'), args: [], env: {}, logFile: join(scratch, 'missing.log') });
    await expect(process.start()).rejects.toThrow(/ENOENT/);
  });
});
