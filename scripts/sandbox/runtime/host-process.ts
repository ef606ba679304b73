// One container's process on the host: started with the container's environment, its
// output written in the CRI log format that `kubectl logs` reads through kwok, stopped
// the way a kubelet stops a container (SIGTERM, then SIGKILL after the grace period).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';

export interface ProcessSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  /** CRI-format log file, appended to across restarts as the kubelet's is per container. */
  logFile: string;
}

const logFlushMs = 2_000;

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** `2006-01-02T15:04:05.000000000Z`: the CRI log timestamp, nanosecond precision. */
export function criTimestamp(date: Date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/** Format one chunk of a stream's output as CRI log lines, keeping a partial tail. */
export function criLines(stream: 'stdout' | 'stderr', pending: string, chunk: string, now: Date = new Date()): { lines: string; pending: string } {
  const text = pending + chunk;
  const parts = text.split('\n');
  const rest = parts.pop() ?? '';
  const stamp = criTimestamp(now);
  const lines = parts.map((line) => `${stamp} ${stream} F ${line}\n`).join('');
  return { lines, pending: rest };
}

export class HostProcess {
  private child: ChildProcess | undefined;
  private log: WriteStream | undefined;
  private exited: Promise<ExitStatus> | undefined;
  private logClosed: Promise<unknown> = Promise.resolve();

  constructor(private readonly spec: ProcessSpec) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Start the process; resolves once it has been spawned (or rejects if it cannot be). */
  async start(): Promise<void> {
    mkdirSync(dirname(this.spec.logFile), { recursive: true });
    const log = createWriteStream(this.spec.logFile, { flags: 'a' });
    // A full disk or a removed pod directory costs log lines, never the runtime.
    log.on('error', () => undefined);
    this.log = log;
    this.logClosed = new Promise<void>((resolve) => log.once('close', () => resolve()));
    const child = spawn(this.spec.command, this.spec.args, {
      cwd: this.spec.cwd,
      env: this.spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so that stopping it stops what it started too.
      detached: true,
    });
    this.child = child;
    // The log is closed once both streams have ended, which can be after the process
    // exits: what it wrote last may still be in the pipe.
    let open = 2;
    const ended = () => {
      open -= 1;
      if (open === 0) log.end();
    };
    this.pipe('stdout', child.stdout!, ended);
    this.pipe('stderr', child.stderr!, ended);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', () => resolve({ code: 128, signal: null }));
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
  }

  private pipe(name: 'stdout' | 'stderr', stream: Readable, ended: () => void): void {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const formatted = criLines(name, pending, chunk);
      pending = formatted.pending;
      if (formatted.lines) this.log?.write(formatted.lines);
    });
    stream.on('close', () => {
      if (pending) this.log?.write(`${criTimestamp()} ${name} F ${pending}\n`);
      pending = '';
      ended();
    });
  }

  /** Resolves when the process exits, with its exit code or signal. */
  wait(): Promise<ExitStatus> {
    if (!this.exited) throw new Error('process was never started');
    return this.exited;
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    }
  }

  /** SIGTERM, then SIGKILL once `graceMs` has passed; resolves with the exit status. */
  async stop(graceMs: number): Promise<ExitStatus> {
    if (!this.exited) return { code: null, signal: null };
    if (this.running) {
      this.signal('SIGTERM');
      const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
      try {
        await this.exited;
      } finally {
        clearTimeout(timer);
      }
    }
    // Its last lines are flushed to the log unless a descendant still holds the pipe.
    await Promise.race([this.logClosed, new Promise((resolve) => setTimeout(resolve, logFlushMs).unref())]);
    return this.exited;
  }
}
