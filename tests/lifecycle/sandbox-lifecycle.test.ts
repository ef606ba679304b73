// The sandbox's own lifecycle: `up` is idempotent, `down` stops exactly what `up` started
// (the node's containers included) and can run twice, and user mistakes get one clear line.
// Runs last in `npm run check`: it takes the shared sandbox down.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { busyboxImage, kubectl, repoRoot, sandboxDir, waitFor } from '../support/sandbox.js';

interface Run { status: number | null; stdout: string; stderr: string; ms: number }

/** A sandbox script, without blocking the test worker (up and down take tens of seconds). */
function script(name: string, env: Record<string, string> = {}): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('bash', [join(repoRoot, 'scripts/sandbox', name)], { env: { ...process.env, ...env }, timeout: 300_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.once('close', (status) => resolve({ status, stdout, stderr, ms: Date.now() - started }));
  });
}

/** A quick command of the host (ip, sysctl, pgrep). */
function host(command: string, args: string[]): { status: number | null; stdout: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout };
}

function recordedProcesses(dir: string): { name: string; pid: number; start: string }[] {
  const pids = join(dir, 'pids');
  if (!existsSync(pids)) return [];
  return readdirSync(pids).map((file) => {
    const [pid, start] = readFileSync(join(pids, file), 'utf8').trim().split(' ');
    return { name: file.replace(/\.pid$/, ''), pid: Number(pid), start: start ?? '' };
  });
}

function stillRunning(pid: number, start: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] === start;
  } catch {
    return false;
  }
}

const components = [
  'postgresql', 'etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'registry', 'sandbox-node-1-containerd', 'sandbox-node-1-kubelet', 'sandbox-node-1-kube-proxy', 'sandbox-node-1-kube-router',
];
const linkPrefix = process.env.TODO_SANDBOX_LINK_PREFIX ?? 'tdsbx';
// Another sandbox's links and ranges, for the attempts that must fail before making any.
const otherNetwork = { TODO_SANDBOX_LINK_PREFIX: 'tdlfc', TODO_SANDBOX_HOST_NET: '10.240.0', TODO_SANDBOX_POD_NET: '10.241', TODO_SANDBOX_SERVICE_NET: '10.242' };

/** Every process in the node's pods: the PIDs under the sandbox's own cgroup. */
function podProcesses(): { pid: number; start: string }[] {
  const root = `/sys/fs/cgroup/pids/${linkPrefix}/sandbox-node-1/kubepods`;
  const found: { pid: number; start: string }[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
      const stat = readFileSync(`/proc/${line}/stat`, 'utf8');
      found.push({ pid: Number(line), start: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '' });
    }
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) walk(join(dir, entry.name));
  };
  walk(root);
  return found;
}

/** PID and its children's, grandchildren's...: PostgreSQL runs under runuser, pods under shims. */
function withDescendants(pid: number): { pid: number; start: string }[] {
  const stat = (id: number) => {
    try {
      const text = readFileSync(`/proc/${id}/stat`, 'utf8');
      return text.slice(text.lastIndexOf(')') + 2).split(' ')[19] ?? '';
    } catch {
      return undefined;
    }
  };
  const start = stat(pid);
  if (start === undefined) return [];
  const children = host('pgrep', ['-P', String(pid)]).stdout.split('\n').filter(Boolean).map(Number);
  return [{ pid, start }, ...children.flatMap(withDescendants)];
}

const scratch = mkdtempSync(join(tmpdir(), 'sandbox-lifecycle-'));
// PostgreSQL runs as its own user and must reach a sandbox directory in here.
chmodSync(scratch, 0o755);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('sandbox lifecycle', () => {
  it('up on a running sandbox changes nothing', async () => {
    const first = await script('up.sh');
    expect(first.status, first.stderr).toBe(0);
    const before = recordedProcesses(sandboxDir);
    const again = await script('up.sh');
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('already up');
    expect(recordedProcesses(sandboxDir)).toEqual(before);
  }, 600_000);

  it('status lists every component as running with its memory', async () => {
    const status = await script('status.sh');
    expect(status.status, status.stdout + status.stderr).toBe(0);
    for (const name of components) {
      expect(status.stdout).toMatch(new RegExp(`^${name}\\s+running`, 'm'));
    }
    console.log(status.stdout.match(/^Memory of the sandbox.*$/m)?.[0]);
  });

  it('refuses a busy port with one line naming the port and the variable to change', async () => {
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    const port = (blocker.address() as { port: number }).port;
    try {
      // PostgreSQL's port is the first one checked; the others are the running sandbox's.
      const run = await script('up.sh', {
        ...otherNetwork,
        TODO_SANDBOX_DIR: join(scratch, 'busy'),
        TODO_SANDBOX_POSTGRES_PORT: String(port),
      });
      expect(run.status).toBe(4);
      const errors = run.stderr.trim().split('\n');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(`port ${port} on 127.0.0.1 (for postgresql) is already in use`);
      expect(errors[0]).toContain('TODO_SANDBOX_POSTGRES_PORT');
    } finally {
      blocker.close();
    }
  });

  it('says how to clear a stale sandbox left by a crash', async () => {
    const stale = join(scratch, 'stale');
    mkdirSync(join(stale, 'pids'), { recursive: true });
    mkdirSync(join(stale, 'etcd'));
    writeFileSync(join(stale, 'pids/etcd.pid'), '999999999 1\n');
    const run = await script('up.sh', { TODO_SANDBOX_DIR: stale });
    expect(run.status).toBe(5);
    expect(run.stderr).toContain("run 'npm run sandbox:down' to clear it");
    // Same link names as the running sandbox: down clears the stale directory and leaves the
    // running sandbox's network alone, since this directory made none.
    const cleared = await script('down.sh', { TODO_SANDBOX_DIR: stale });
    expect(cleared.status).toBe(0);
    expect(readdirSync(stale)).toEqual([]);
    expect((await script('status.sh')).status).toBe(0);
  });

  it('names the missing toolchain when tools cannot be built', async () => {
    const run = await script('up.sh', {
      TODO_SANDBOX_HOME: join(scratch, 'empty-cache'),
      ...otherNetwork,
      TODO_SANDBOX_DIR: join(scratch, 'no-tools'),
      PATH: '/usr/bin:/bin',
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('go is not on PATH');
  }, 120_000);

  it('down stops every process up started, the pods\' included, and is safe to run twice', async () => {
    await kubectl(['create', 'deployment', 'lifecycle-sleep', `--image=${busyboxImage}`, '--replicas=2', '--', 'sleep', '3600']);
    // Two pause and two sleep processes at least.
    const inPods = await waitFor('the pods\' processes', async () => {
      const found = podProcesses();
      return found.length >= 4 ? found : undefined;
    }, 60_000);
    const processes = recordedProcesses(sandboxDir);
    expect(processes.map((entry) => entry.name).sort()).toEqual([...components].sort());
    const sysctlsBefore = readFileSync('/run/todo-sandbox-sysctls', 'utf8');
    const down = await script('down.sh');
    expect(down.status, down.stderr).toBe(0);
    for (const entry of processes) {
      expect(stillRunning(entry.pid, entry.start), `${entry.name} (pid ${entry.pid}) still runs`).toBe(false);
    }
    for (const entry of inPods) {
      expect(stillRunning(entry.pid, entry.start), `pod process ${entry.pid} still runs`).toBe(false);
    }
    expect(readdirSync(sandboxDir)).toEqual(['logs']);
    // Its network namespace, links, routes, mounts and cgroups are gone.
    expect(host('ip', ['netns', 'list']).stdout).not.toContain(linkPrefix);
    expect(host('ip', ['-br', 'link']).stdout).not.toContain(linkPrefix);
    expect(host('ip', ['route', 'show', 'type', 'blackhole']).stdout).not.toContain(`${process.env.TODO_SANDBOX_POD_NET ?? '10.221'}.`);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(sandboxDir);
    expect(existsSync(`/sys/fs/cgroup/memory/${linkPrefix}`)).toBe(false);
    // The machine's kernel settings come back with the last node on it; another sandbox's
    // kubelet (a demo beside the check) still needs the kubelet's.
    if (host('pgrep', ['-x', 'kubelet']).status === 0) {
      expect(existsSync('/run/todo-sandbox-sysctls')).toBe(true);
    } else {
      const after = host('sysctl', ['vm.overcommit_memory', 'kernel.panic', 'kernel.panic_on_oops']).stdout;
      expect(after.trim()).toBe(sysctlsBefore.trim());
      expect(existsSync('/run/todo-sandbox-sysctls')).toBe(false);
    }
    const again = await script('down.sh');
    expect(again.status, again.stderr).toBe(0);
    const status = await script('status.sh');
    expect(status.status).toBe(1);
    expect(status.stdout).toContain('The sandbox is down');
  }, 300_000);

  it('comes up again from nothing; refuses the links of a running sandbox, and takes them over from one that was killed', async () => {
    const up = await script('up.sh');
    expect(up.status, up.stderr).toBe(0);
    console.log(`sandbox up (warm tools) took ${up.ms} ms; ${up.stdout.match(/API healthy after \d+ s/)?.[0]}`);
    const beside = await script('up.sh', { TODO_SANDBOX_DIR: join(scratch, 'beside') });
    expect(beside.status).toBe(4);
    expect(beside.stderr.trim().split('\n')).toEqual([expect.stringContaining(`network link ${linkPrefix}0 belongs to another running sandbox`)]);

    // A machine restart or `kill -9` of everything: no process left, its state where it was.
    const killed = [...recordedProcesses(sandboxDir), ...podProcesses()].flatMap((entry) => withDescendants(entry.pid));
    host('pkill', ['-KILL', '-f', `containerd-shim-runc-v2 .*-address ${sandboxDir}/`]);
    for (const entry of killed) {
      try { process.kill(entry.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    await waitFor('the killed processes to be gone', async () => killed.every((entry) => !stillRunning(entry.pid, entry.start)) || undefined, 30_000);
    expect(host('ip', ['-br', 'link']).stdout).toContain(`${linkPrefix}0`);

    const elsewhere = join(scratch, 'after-crash');
    const again = await script('up.sh', { TODO_SANDBOX_DIR: elsewhere });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain(`taking over the network and cgroups of a sandbox that crashed (${linkPrefix}0`);
    expect((await script('status.sh', { TODO_SANDBOX_DIR: elsewhere })).status).toBe(0);

    expect((await script('down.sh', { TODO_SANDBOX_DIR: elsewhere })).status).toBe(0);
    // The killed sandbox's own directory (its mounts) is cleared by its own down.
    expect((await script('down.sh')).status).toBe(0);
    expect(host('ip', ['-br', 'link']).stdout).not.toContain(linkPrefix);
    expect(host('ip', ['netns', 'list']).stdout).not.toContain(linkPrefix);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(sandboxDir);
    expect(existsSync(`/sys/fs/cgroup/memory/${linkPrefix}`)).toBe(false);
  }, 900_000);
});
