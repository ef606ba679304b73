// A pod's own probes, run against its process on the host as a kubelet runs them against
// the container: httpGet (2xx and 3xx pass), tcpSocket (a connection passes) and exec (exit
// code 0 passes). The probe's host is ignored: the process always listens on 127.0.0.1.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type * as k8s from '@kubernetes/client-node';

export interface ProbeResult {
  ok: boolean;
  message: string;
}

/** Maps a probe's port (number or containerPort name) to the host port of the process. */
export type PortResolver = (port: number | string) => number | undefined;

/** Runs an exec probe's command for the container; resolves with its exit code. */
export type ExecRunner = (command: string[], timeoutMs: number) => Promise<number>;

function timeoutOf(probe: k8s.V1Probe): number {
  return (probe.timeoutSeconds ?? 1) * 1000;
}

async function httpProbe(action: k8s.V1HTTPGetAction, port: number, timeoutMs: number): Promise<ProbeResult> {
  const scheme = (action.scheme ?? 'HTTP').toLowerCase();
  const path = action.path ?? '/';
  const headers = Object.fromEntries((action.httpHeaders ?? []).map((header) => [header.name, header.value]));
  const url = `${scheme}://127.0.0.1:${port}${path.startsWith('/') ? path : `/${path}`}`;
  try {
    const response = await fetch(url, {
      headers: { 'user-agent': 'kube-probe/1.34', ...headers },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    const ok = response.status >= 200 && response.status < 400;
    return { ok, message: `HTTP probe failed with statuscode: ${response.status}` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    return { ok: false, message: `Get "${url}": ${cause}` };
  }
}

function tcpProbe(port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const finish = (result: ProbeResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => finish({ ok: false, message: `dial tcp 127.0.0.1:${port}: i/o timeout` }));
    socket.once('connect', () => finish({ ok: true, message: '' }));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      finish({ ok: false, message: `dial tcp 127.0.0.1:${port}: ${error.code ?? error.message}` }));
  });
}

/** A default exec runner: the command on the host, bounded by the probe's timeout. */
export const runOnHost: ExecRunner = (command, timeoutMs) =>
  new Promise((resolve) => {
    const [program, ...args] = command;
    if (!program) {
      resolve(126);
      return;
    }
    const child = spawn(program, args, { stdio: 'ignore', timeout: timeoutMs });
    child.once('error', () => resolve(127));
    child.once('exit', (code) => resolve(code ?? 1));
  });

export async function runProbe(probe: k8s.V1Probe, ports: PortResolver, exec: ExecRunner = runOnHost): Promise<ProbeResult> {
  const timeoutMs = timeoutOf(probe);
  if (probe.httpGet) {
    const port = ports(probe.httpGet.port);
    if (port === undefined) return { ok: false, message: `no container port ${probe.httpGet.port}` };
    return httpProbe(probe.httpGet, port, timeoutMs);
  }
  if (probe.tcpSocket) {
    const port = ports(probe.tcpSocket.port);
    if (port === undefined) return { ok: false, message: `no container port ${probe.tcpSocket.port}` };
    return tcpProbe(port, timeoutMs);
  }
  if (probe.exec?.command) {
    const code = await exec(probe.exec.command, timeoutMs);
    return { ok: code === 0, message: `command ${JSON.stringify(probe.exec.command)} exited with ${code}` };
  }
  return { ok: false, message: 'probe has no handler the sandbox supports (httpGet, tcpSocket, exec)' };
}
