// Shared access to the sandbox cluster for the project's own tests: bring it up once,
// find its tools, and build Kubernetes clients for it.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { printableArgs } from './helm.js';

const execFileAsync = promisify(execFile);

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const sandboxHome = process.env.TODO_SANDBOX_HOME ?? join(homedir(), '.cache/todo-sandbox');
export const sandboxDir = process.env.TODO_SANDBOX_DIR ?? join(repoRoot, '.sandbox');
export const sandboxKubeconfig = join(sandboxDir, 'kubeconfig');
export const toolBin = join(sandboxHome, 'bin');

// The sandbox's address plan (scripts/sandbox/common.sh): the root namespace's bridge at
// .1 (the API server, the registry, PostgreSQL), the node at .2.
const hostNet = process.env.TODO_SANDBOX_HOST_NET ?? '10.220.0';
export const nodeAddress = `${hostNet}.2`;
export const sandboxRegistry = `${hostNet}.1:${process.env.TODO_SANDBOX_REGISTRY_PORT ?? '5000'}`;
export const busyboxImage = `${sandboxRegistry}/busybox:1.37`;

export function toolPath(name: string): string {
  const path = join(toolBin, name);
  if (!existsSync(path)) {
    throw new Error(`${name} is not in ${toolBin}; run: bash scripts/sandbox/install-tools.sh`);
  }
  return path;
}

export interface Sandbox {
  kubeconfig: string;
}

let ensured: Sandbox | undefined;

function sandboxScript(name: string): void {
  // Bounded by what a cold build of every image may take.
  const result = spawnSync('bash', [join(repoRoot, 'scripts/sandbox', name)], { encoding: 'utf8', env: process.env, timeout: 30 * 60_000 });
  if (result.status !== 0) {
    throw new Error(`${name} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
}

/**
 * Bring the sandbox up unless it already runs (`up.sh` is idempotent), with the stack's
 * images in its registry and Dapr's control plane installed (`prepare-stack.sh`, once per
 * sandbox), and return it.
 */
export function ensureSandbox(): Sandbox {
  if (ensured) return ensured;
  sandboxScript('up.sh');
  if (!existsSync(join(sandboxDir, 'stack-prepared'))) sandboxScript('prepare-stack.sh');
  ensured = { kubeconfig: sandboxKubeconfig };
  return ensured;
}

/**
 * A database of its own on the sandbox's PostgreSQL, for one stack a test deploys (stacks
 * sharing a database would publish each other's outbox events); its URL, and a function
 * that drops it.
 */
export function stackDatabase(name: string): { url: string; drop: () => void } {
  const shared = new URL(readFileSync(join(sandboxDir, 'database-url'), 'utf8').trim());
  const database = name.replace(/[^a-z0-9]/g, '_');
  const psql = (sql: string) => {
    const result = spawnSync(join(sandboxHome, 'tools/postgresql-15/bin/psql'), [shared.toString(), '-v', 'ON_ERROR_STOP=1', '-qc', sql], { encoding: 'utf8', timeout: 30_000 });
    if (result.status !== 0) throw new Error(`psql failed: ${result.stderr}`);
  };
  psql(`CREATE DATABASE ${database}`);
  const url = new URL(shared);
  url.pathname = `/${database}`;
  return { url: url.toString(), drop: () => psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`) };
}

/**
 * A container of the sandbox's busybox image that answers HTTP on `port` with its pod's
 * name, on every path (`/`, `/healthz`).
 */
export function httpEchoContainer(port: number): { image: string; command: string[]; env: k8s.V1EnvVar[] } {
  return {
    image: busyboxImage,
    command: ['sh', '-c', `mkdir -p /tmp/www && echo "$POD_NAME" > /tmp/www/index.html && cp /tmp/www/index.html /tmp/www/healthz && exec httpd -f -p ${port} -h /tmp/www`],
    env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
  };
}

/** A container that prints EXIT_MESSAGE and exits with EXIT_CODE (both from its env). */
export function exitContainer(code: number, message: string): { image: string; command: string[]; env: k8s.V1EnvVar[] } {
  return {
    image: busyboxImage,
    command: ['sh', '-c', 'echo "$EXIT_MESSAGE"; exit "$EXIT_CODE"'],
    env: [{ name: 'EXIT_CODE', value: String(code) }, { name: 'EXIT_MESSAGE', value: message }],
  };
}

export function kubeConfig(): k8s.KubeConfig {
  const config = new k8s.KubeConfig();
  config.loadFromFile(ensureSandbox().kubeconfig);
  return config;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** Run a sandbox tool (kubectl, helm, ...) against the sandbox; throws with its output. */
export async function runTool(name: string, args: string[], timeoutMs = 120_000): Promise<CommandResult> {
  try {
    const { stdout, stderr } = await execFileAsync(toolPath(name), args, {
      env: { ...process.env, KUBECONFIG: ensureSandbox().kubeconfig },
      timeout: timeoutMs,
      maxBuffer: 32 * 1024 * 1024,
    });
    return { stdout, stderr };
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${name} ${printableArgs(args)} failed: ${failure.stderr || failure.message}`);
  }
}

export const kubectl = (args: string[], timeoutMs?: number) => runTool('kubectl', args, timeoutMs);

/** A name unique to this test run, valid as a Kubernetes namespace or object name. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * Why a Deployment has not rolled out to `replicas` (its own `spec.replicas` by default): its
 * controller has seen the latest spec, and every replica is updated, ready and available.
 * Undefined once it has.
 */
export function rolloutPending(deployment: k8s.V1Deployment, replicas = deployment.spec?.replicas ?? 1): string | undefined {
  const status = deployment.status ?? {};
  const done = (status.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 1) &&
    (status.updatedReplicas ?? 0) === replicas &&
    (status.readyReplicas ?? 0) === replicas &&
    (status.availableReplicas ?? 0) === replicas &&
    (status.replicas ?? 0) === replicas;
  return done ? undefined : `deployment ${deployment.metadata?.name} not at ${replicas} replicas: ${JSON.stringify(status)}`;
}

/** Poll `probe` until it returns a value, or fail after `timeoutMs` with what it last saw. */
export async function waitFor<T>(
  description: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastSeen = 'nothing yet';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastSeen = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}; last error: ${lastSeen}`);
    }
    await new Promise((done) => setTimeout(done, intervalMs));
  }
}

export interface PortForwardHandle {
  localPort: number;
  close(): void;
}

/** `kubectl port-forward` to a pod's port, as a user runs it; resolves once it listens. */
export async function portForward(namespace: string, target: string, port: number): Promise<PortForwardHandle> {
  const child = spawn(toolPath('kubectl'), ['-n', namespace, 'port-forward', target, `:${port}`], {
    env: { ...process.env, KUBECONFIG: ensureSandbox().kubeconfig },
  });
  const localPort = await new Promise<number>((done, fail) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill();
      fail(new Error(`kubectl port-forward ${target} did not start within 20 s: ${output}`));
    }, 20_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /127\.0\.0\.1:(\d+) ->/.exec(output);
      if (match) {
        clearTimeout(timer);
        done(Number(match[1]));
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`kubectl port-forward ${target} exited (${code}): ${output}`));
    });
  });
  return { localPort, close: () => child.kill() };
}

/** GET through a port-forward; the body as text. */
export async function fetchText(localPort: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${localPort}${path}`, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: await response.text() };
}
