// One pod on the sandbox's node: its containers run as host processes, its status says
// what a kubelet would say about them (waiting reasons, restarts, readiness from the pod's
// own probes), and its deletion stops them with the pod's grace period.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { ContainerConfigError, resolveCommandLine, resolveEnv, type EnvSources } from './env.js';
import { HostProcess } from './host-process.js';
import { hostCommandLine, pullImage, type Catalogue } from './images.js';
import { runProbe } from './probes.js';
import { substituteAddresses, type AddressResolver } from './service-names.js';
import { daprdCommandLine, isDaprdImage, writeDaprResources, type DaprSources } from './dapr.js';

export interface WorkerContext {
  catalogue: Catalogue;
  stateDir: string;
  daprd: string;
  addresses: AddressResolver;
  allocatePort(): Promise<number>;
  releasePort(port: number): void;
  envSources(namespace: string): Promise<EnvSources>;
  daprSources(namespace: string): Promise<DaprSources>;
  writeStatus(pod: k8s.V1Pod, status: k8s.V1PodStatus): Promise<void>;
  publishAccess(pod: k8s.V1Pod, ports: { containerPort: number; hostPort: number }[], logs: { container: string; file: string }[]): Promise<void>;
  recordProcess(key: string, pid: number | undefined): void;
  /** Write a kubeconfig for the pod's ServiceAccount to `file`; returns its path. */
  serviceAccountKubeconfig(pod: k8s.V1Pod, file: string): Promise<string>;
  finishDeletion(pod: k8s.V1Pod): Promise<void>;
  log(message: string, fields?: Record<string, unknown>): void;
}

type ContainerState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: Date }
  | { kind: 'terminated'; exitCode: number; reason: string; message?: string; startedAt?: Date; finishedAt: Date };

interface ContainerRecord {
  spec: k8s.V1Container;
  init: boolean;
  state: ContainerState;
  lastState?: ContainerState;
  restartCount: number;
  ready: boolean;
  started: boolean;
  process?: HostProcess;
  probeTimers: NodeJS.Timeout[];
  backoffMs: number;
  logFile: string;
}

const initialBackoffMs = 10_000;
const maxBackoffMs = 300_000;
const imagePullRetryMs = 30_000;
const configRetryMs = 5_000;
/** A container that ran this long without failing starts over at the initial back-off. */
const backoffResetMs = 600_000;
const daprPublicPort = 3501;

function secondsOf(value: number | undefined, fallback: number): number {
  return (value ?? fallback) * 1000;
}

export class PodWorker {
  private pod: k8s.V1Pod;
  private readonly records = new Map<string, ContainerRecord>();
  /** containerPort -> host port, for every port of every container in the pod. */
  private readonly hostPorts = new Map<number, number>();
  private readonly namedPorts = new Map<string, number>();
  private readonly podDir: string;
  private terminating = false;
  private stopped = false;
  private statusTimer: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private initialized = false;
  private readonly startTime = new Date();

  constructor(pod: k8s.V1Pod, readonly podIP: string, private readonly context: WorkerContext) {
    this.pod = pod;
    this.podDir = join(context.stateDir, 'pods', pod.metadata!.uid!);
  }

  get name(): string {
    return `${this.pod.metadata!.namespace}/${this.pod.metadata!.name}`;
  }

  get spec(): k8s.V1Pod {
    return this.pod;
  }

  /** Host port of `containerPort` (a number or a port name) in this pod. */
  hostPortOf(containerPort: number | string): number | undefined {
    const number = typeof containerPort === 'number' ? containerPort : this.namedPorts.get(containerPort) ?? Number(containerPort);
    return this.hostPorts.get(number);
  }

  /** The running containers' process ids (for the metrics API). */
  processes(): { container: string; pid: number }[] {
    return [...this.records.values()]
      .filter((record) => !record.init && record.process?.pid !== undefined)
      .map((record) => ({ container: record.spec.name, pid: record.process!.pid! }));
  }

  /** Whether the container that owns `containerPort` is ready (for Service endpoints). */
  get ready(): boolean {
    return [...this.records.values()].filter((record) => !record.init).every((record) => record.ready);
  }

  async start(): Promise<void> {
    mkdirSync(join(this.podDir, 'logs'), { recursive: true });
    const spec = this.pod.spec!;
    const all = [
      ...(spec.initContainers ?? []).map((container) => ({ container, init: true })),
      ...spec.containers.map((container) => ({ container, init: false })),
    ];
    for (const { container, init } of all) {
      this.records.set(container.name, {
        spec: container,
        init,
        state: { kind: 'waiting', reason: init ? 'PodInitializing' : 'ContainerCreating' },
        restartCount: 0,
        ready: false,
        started: false,
        probeTimers: [],
        backoffMs: initialBackoffMs,
        logFile: join(this.podDir, 'logs', `${container.name}.log`),
      });
      const ports = [...(container.ports ?? []).map((port) => ({ port: port.containerPort, name: port.name }))];
      if (isDaprdImage(container.image)) ports.push({ port: daprPublicPort, name: 'dapr-public' });
      for (const { port, name } of ports) {
        if (!this.hostPorts.has(port)) this.hostPorts.set(port, await this.context.allocatePort());
        if (name) this.namedPorts.set(name, port);
      }
    }
    this.prepareVolumes();
    await this.context.publishAccess(
      this.pod,
      [...this.hostPorts].map(([containerPort, hostPort]) => ({ containerPort, hostPort })),
      [...this.records.values()].map((record) => ({ container: record.spec.name, file: record.logFile })),
    );
    this.scheduleStatus();
    void this.runInitContainers();
  }

  update(pod: k8s.V1Pod): void {
    this.pod = pod;
    if (pod.metadata?.deletionTimestamp && !this.terminating) void this.terminate();
  }

  // --- volumes: host directories standing in for the pod's volumes ---------------------------

  private volumeDirs = new Map<string, string>();

  private prepareVolumes(): void {
    for (const volume of this.pod.spec?.volumes ?? []) {
      let dir: string;
      if (volume.persistentVolumeClaim) {
        // A claim outlives its pods, as a PersistentVolume would.
        dir = join(this.context.stateDir, 'volumes', this.pod.metadata!.namespace!, volume.persistentVolumeClaim.claimName);
      } else {
        dir = join(this.podDir, 'volumes', volume.name);
      }
      mkdirSync(dir, { recursive: true });
      this.volumeDirs.set(volume.name, dir);
    }
  }

  /** Container paths under a volume mount, mapped to the host directory behind it. */
  private mountMap(container: k8s.V1Container): [string, string][] {
    const mounts: [string, string][] = [];
    for (const mount of container.volumeMounts ?? []) {
      const dir = this.volumeDirs.get(mount.name);
      if (dir) mounts.push([mount.mountPath.replace(/\/$/, ''), mount.subPath ? join(dir, mount.subPath) : dir]);
    }
    return mounts.sort((a, b) => b[0].length - a[0].length);
  }

  // --- the pod network: each container has host ports of its own ----------------------------

  /**
   * Containers of a pod share one network namespace; in the sandbox each container port has
   * a host port of its own. So pod-local references (`localhost:3500`, a `*_PORT` variable
   * holding a port of another container in the pod) are rewritten to those host ports, and
   * Service names to the sandbox's Service listeners. `127.0.0.1:<port>` is left alone: it
   * is also how an address for clients outside the cluster is spelled (an advertised
   * listener that users reach over port-forward).
   */
  private rewrite(value: string, mounts: [string, string][]): string {
    let result = value.replace(/\blocalhost:(\d{1,5})\b/g, (whole, port: string) => {
      const hostPort = this.hostPorts.get(Number(port));
      return hostPort === undefined ? whole : `127.0.0.1:${hostPort}`;
    });
    result = substituteAddresses(result, this.pod.metadata!.namespace!, this.context.addresses);
    for (const [mountPath, dir] of mounts) {
      if (result === mountPath || result.startsWith(`${mountPath}/`)) {
        result = dir + result.slice(mountPath.length);
        break;
      }
    }
    return result;
  }

  private async buildCommand(record: ContainerRecord): Promise<{ argv: string[]; env: Record<string, string>; cwd: string } | { reason: string; message: string }> {
    const container = record.spec;
    const namespace = this.pod.metadata!.namespace!;
    let env: Map<string, string>;
    try {
      env = resolveEnv(this.pod, container, await this.context.envSources(namespace));
    } catch (error) {
      if (error instanceof ContainerConfigError) return { reason: error.reason, message: error.message };
      throw error;
    }
    const mounts = this.mountMap(container);
    const ownPorts = new Set((container.ports ?? []).map((port) => port.containerPort));
    const resolved: Record<string, string> = {};
    for (const [name, value] of env) {
      const otherContainerPort = /_PORT$/.test(name) && /^\d{1,5}$/.test(value) &&
        !ownPorts.has(Number(value)) ? this.hostPorts.get(Number(value)) : undefined;
      resolved[name] = otherContainerPort !== undefined ? String(otherContainerPort) : this.rewrite(value, mounts);
    }
    const { command, args } = resolveCommandLine(container, env);

    let argv: string[];
    let imageEnv: Record<string, string> = {};
    let workdir: string | undefined;
    if (isDaprdImage(container.image)) {
      const written = await writeDaprResources(
        this.pod,
        args ?? [],
        join(this.podDir, 'dapr'),
        await this.context.daprSources(namespace),
        (value) => substituteAddresses(value, namespace, this.context.addresses),
      );
      if ('error' in written) return { reason: 'Error', message: written.error };
      argv = daprdCommandLine(this.context.daprd, args ?? [], written, (port) => this.hostPortOf(port));
    } else {
      const pulled = pullImage(this.context.catalogue, container.image ?? '');
      if (!pulled.ok) return { reason: 'ErrImagePull', message: pulled.message };
      const rewriteAll = (items: string[] | undefined) => items?.map((item) => this.rewrite(item, mounts));
      // The program is a path inside the image; what follows it is rewritten like args.
      const hostCommand = command && [command[0]!, ...(rewriteAll(command.slice(1)) ?? [])];
      const line = hostCommandLine(pulled.entry, hostCommand, rewriteAll(args));
      if ('error' in line) return { reason: 'RunContainerError', message: line.error };
      argv = line;
      imageEnv = pulled.entry.env ?? {};
      workdir = container.workingDir ? undefined : pulled.entry.workdir;
      const firstPort = container.ports?.[0]?.containerPort;
      if (pulled.entry.portEnv && firstPort !== undefined) {
        resolved[pulled.entry.portEnv] = String(this.hostPorts.get(firstPort));
      }
    }
    for (const port of container.ports ?? []) {
      resolved[`SANDBOX_HOST_PORT_${port.containerPort}`] = String(this.hostPorts.get(port.containerPort));
    }
    const home = join(this.podDir, 'home', container.name);
    mkdirSync(home, { recursive: true });
    // Lowest first: what a container runtime sets, the image's ENV, then the container's env.
    const base: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOSTNAME: this.pod.spec?.hostname ?? this.pod.metadata!.name!,
      HOME: home,
      SANDBOX_POD_DIR: this.podDir,
    };
    if (isDaprdImage(container.image)) {
      // In a cluster daprd talks to the API server as the pod's ServiceAccount.
      base.KUBECONFIG = await this.context.serviceAccountKubeconfig(this.pod, join(home, '.kube', 'config'));
      // The control plane the injector names does not run here; a self-hosted daprd
      // would otherwise keep looking those names up.
      for (const name of Object.keys(resolved)) {
        if (/^DAPR_(SCHEDULER_HOST_ADDRESS|CONTROLPLANE_|TRUST_ANCHORS|CERT_CHAIN|CERT_KEY|PLACEMENT)/.test(name)) delete resolved[name];
      }
    }
    return { argv, env: { ...base, ...imageEnv, ...resolved }, cwd: workdir ?? home };
  }

  // --- container lifecycle ------------------------------------------------------------------

  private later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) action();
    }, ms);
    this.timers.add(timer);
  }

  private async runInitContainers(): Promise<void> {
    for (const record of [...this.records.values()].filter((candidate) => candidate.init)) {
      for (;;) {
        if (this.terminating) return;
        const code = await this.runToCompletion(record);
        if (code === 0) break;
        if (this.pod.spec?.restartPolicy === 'Never') {
          this.scheduleStatus();
          return;
        }
        const waitMs = this.nextBackoff(record);
        this.scheduleStatus();
        await new Promise((done) => this.later(waitMs, () => done(undefined)));
      }
    }
    this.initialized = true;
    for (const record of this.records.values()) {
      if (!record.init) void this.startContainer(record);
    }
    this.scheduleStatus();
  }

  /** Run an init container once; resolves with its exit code (or -1 when it could not start). */
  private async runToCompletion(record: ContainerRecord): Promise<number> {
    const started = await this.launch(record);
    if (!started) return -1;
    const status = await started.wait();
    const code = status.code ?? 137;
    record.state = { kind: 'terminated', exitCode: code, reason: code === 0 ? 'Completed' : 'Error', finishedAt: new Date(), startedAt: new Date() };
    if (code !== 0) record.restartCount++;
    this.scheduleStatus();
    return code;
  }

  /** Start the container's process, or put it in the waiting state the kubelet would. */
  private async launch(record: ContainerRecord): Promise<HostProcess | undefined> {
    if (this.terminating) return undefined;
    let built: Awaited<ReturnType<PodWorker['buildCommand']>>;
    try {
      built = await this.buildCommand(record);
    } catch (error) {
      // The API server was unavailable or refused (a kubelet retries in its next sync).
      this.context.log('could not prepare container; retrying', { pod: this.name, container: record.spec.name, error: String(error) });
      built = { reason: 'CreateContainerError', message: String(error) };
    }
    if ('reason' in built) {
      const retryMs = built.reason === 'ErrImagePull' ? imagePullRetryMs : configRetryMs;
      record.state = { kind: 'waiting', reason: built.reason, message: built.message };
      this.scheduleStatus();
      if (built.reason === 'ErrImagePull') {
        this.later(5_000, () => {
          if (record.state.kind === 'waiting' && record.state.reason === 'ErrImagePull') {
            record.state = { kind: 'waiting', reason: 'ImagePullBackOff', message: `Back-off pulling image "${record.spec.image}"` };
            this.scheduleStatus();
          }
        });
      }
      if (built.reason === 'Error') {
        // daprd could not load its components: it exits, as it would in a cluster.
        writeFileSync(record.logFile, `${new Date().toISOString()} stderr F ${built.message}\n`, { flag: 'a' });
        record.state = { kind: 'terminated', exitCode: 1, reason: 'Error', message: built.message, finishedAt: new Date() };
        return undefined;
      }
      await new Promise((done) => this.later(retryMs, () => done(undefined)));
      return record.init ? this.launch(record) : undefined;
    }
    const [program, ...args] = built.argv;
    const hostProcess = new HostProcess({ command: program!, args, env: built.env, cwd: built.cwd, logFile: record.logFile });
    try {
      await hostProcess.start();
    } catch (error) {
      record.state = { kind: 'waiting', reason: 'RunContainerError', message: String(error) };
      this.scheduleStatus();
      return undefined;
    }
    record.process = hostProcess;
    record.state = { kind: 'running', startedAt: new Date() };
    this.context.recordProcess(`${this.pod.metadata!.uid}-${record.spec.name}`, hostProcess.pid);
    this.context.log('started container', { pod: this.name, container: record.spec.name, pid: hostProcess.pid });
    this.scheduleStatus();
    return hostProcess;
  }

  private async startContainer(record: ContainerRecord): Promise<void> {
    const hostProcess = await this.launch(record);
    if (!hostProcess) {
      if (this.terminating) return;
      // Not started (image, config or components): try again as the kubelet's sync loop would.
      const waitMs = record.state.kind === 'terminated' ? this.nextBackoff(record) : configRetryMs;
      this.later(waitMs, () => void this.startContainer(record));
      return;
    }
    const runningSince = Date.now();
    this.startProbes(record);
    const status = await hostProcess.wait();
    this.stopProbes(record);
    record.process = undefined;
    this.context.recordProcess(`${this.pod.metadata!.uid}-${record.spec.name}`, undefined);
    if (this.terminating) return;
    const exitCode = status.code ?? (status.signal === 'SIGKILL' ? 137 : 143);
    const startedAt = record.state.kind === 'running' ? record.state.startedAt : undefined;
    record.ready = false;
    record.started = false;
    record.state = { kind: 'terminated', exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt: new Date() };
    this.context.log('container exited', { pod: this.name, container: record.spec.name, exitCode });
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    if (policy === 'Never' || (policy === 'OnFailure' && exitCode === 0)) {
      this.scheduleStatus();
      return;
    }
    if (Date.now() - runningSince > backoffResetMs) record.backoffMs = initialBackoffMs;
    const waitMs = this.nextBackoff(record);
    this.scheduleStatus();
    this.later(waitMs, () => {
      record.restartCount++;
      void this.startContainer(record);
    });
  }

  private nextBackoff(record: ContainerRecord): number {
    const waitMs = record.backoffMs;
    record.lastState = record.state;
    record.state = {
      kind: 'waiting',
      reason: 'CrashLoopBackOff',
      message: `back-off ${waitMs / 1000}s restarting failed container=${record.spec.name} pod=${this.pod.metadata!.name}`,
    };
    record.backoffMs = Math.min(record.backoffMs * 2, maxBackoffMs);
    return waitMs;
  }

  // --- probes ------------------------------------------------------------------------------

  private startProbes(record: ContainerRecord): void {
    const container = record.spec;
    const ports = (port: number | string) => this.hostPortOf(port);
    const every = (probe: k8s.V1Probe, onResult: (ok: boolean, message: string) => void) => {
      let failures = 0;
      let successes = 0;
      const tick = async () => {
        if (!record.process || this.terminating) return;
        const result = await runProbe(probe, ports);
        if (result.ok) {
          successes++;
          failures = 0;
          if (successes >= (probe.successThreshold ?? 1)) onResult(true, '');
        } else {
          failures++;
          successes = 0;
          if (failures >= (probe.failureThreshold ?? 3)) onResult(false, result.message);
        }
        if (record.process && !this.terminating) {
          record.probeTimers.push(setTimeout(() => void tick(), secondsOf(probe.periodSeconds, 10)));
        }
      };
      record.probeTimers.push(setTimeout(() => void tick(), secondsOf(probe.initialDelaySeconds, 0)));
    };

    const afterStartup = () => {
      record.started = true;
      if (container.readinessProbe) {
        every(container.readinessProbe, (ok) => {
          if (record.ready !== ok) {
            record.ready = ok;
            this.scheduleStatus();
          }
        });
      } else {
        record.ready = true;
      }
      if (container.livenessProbe) {
        every(container.livenessProbe, (ok, message) => {
          if (!ok) {
            this.context.log('liveness probe failed; restarting container', { pod: this.name, container: container.name, message });
            void record.process?.stop(secondsOf(this.pod.spec?.terminationGracePeriodSeconds, 30));
          }
        });
      }
      this.scheduleStatus();
    };

    if (container.startupProbe) {
      let done = false;
      every(container.startupProbe, (ok, message) => {
        if (done) return;
        done = true;
        this.stopProbes(record);
        if (ok) {
          afterStartup();
        } else {
          this.context.log('startup probe failed; restarting container', { pod: this.name, container: container.name, message });
          void record.process?.stop(secondsOf(this.pod.spec?.terminationGracePeriodSeconds, 30));
        }
      });
    } else {
      afterStartup();
    }
  }

  private stopProbes(record: ContainerRecord): void {
    for (const timer of record.probeTimers) clearTimeout(timer);
    record.probeTimers = [];
  }

  // --- status ------------------------------------------------------------------------------

  private scheduleStatus(): void {
    if (this.statusTimer || this.stopped) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = undefined;
      if (this.stopped) return;
      this.context.writeStatus(this.pod, this.status()).catch((error: unknown) =>
        this.context.log('could not write pod status', { pod: this.name, error: String(error) }));
    }, 50);
  }

  private containerStatus(record: ContainerRecord): k8s.V1ContainerStatus {
    const state = (value: ContainerState | undefined): k8s.V1ContainerState | undefined => {
      if (!value) return undefined;
      if (value.kind === 'waiting') return { waiting: { reason: value.reason, message: value.message } };
      if (value.kind === 'running') return { running: { startedAt: value.startedAt } };
      return { terminated: { exitCode: value.exitCode, reason: value.reason, message: value.message, startedAt: value.startedAt, finishedAt: value.finishedAt } };
    };
    return {
      name: record.spec.name,
      image: record.spec.image ?? '',
      imageID: record.state.kind === 'waiting' && /Pull/.test(record.state.reason) ? '' : `sandbox://${record.spec.image}`,
      containerID: record.process?.pid !== undefined ? `sandbox://${record.process.pid}` : undefined,
      ready: record.ready,
      started: record.init ? undefined : record.started,
      restartCount: record.restartCount,
      state: state(record.state),
      lastState: state(record.lastState) ?? {},
    };
  }

  status(): k8s.V1PodStatus {
    const records = [...this.records.values()];
    const app = records.filter((record) => !record.init);
    const init = records.filter((record) => record.init);
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    const allReady = app.every((record) => record.ready);
    const finished = app.every((record) => record.state.kind === 'terminated');
    let phase = 'Pending';
    if (this.initialized && app.some((record) => record.state.kind === 'running' || record.restartCount > 0)) phase = 'Running';
    if (policy !== 'Always' && this.initialized && finished) {
      phase = app.every((record) => record.state.kind === 'terminated' && record.state.exitCode === 0) ? 'Succeeded' : 'Failed';
    }
    if (policy === 'Never' && init.some((record) => record.state.kind === 'terminated' && record.state.exitCode !== 0)) phase = 'Failed';
    const now = new Date();
    const condition = (type: string, ok: boolean, reason?: string): k8s.V1PodCondition =>
      ({ type, status: ok ? 'True' : 'False', lastTransitionTime: now, reason: ok ? undefined : reason });
    return {
      phase,
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: this.podIP,
      podIPs: [{ ip: this.podIP }],
      startTime: this.startTime,
      qosClass: this.pod.status?.qosClass,
      conditions: [
        condition('PodReadyToStartContainers', true),
        condition('Initialized', this.initialized, 'ContainersNotInitialized'),
        condition('Ready', allReady && phase === 'Running', 'ContainersNotReady'),
        condition('ContainersReady', allReady, 'ContainersNotReady'),
        condition('PodScheduled', true),
      ],
      initContainerStatuses: init.length > 0 ? init.map((record) => this.containerStatus(record)) : undefined,
      containerStatuses: app.map((record) => this.containerStatus(record)),
    };
  }

  // --- deletion ----------------------------------------------------------------------------

  /** Stop every process with the pod's grace period, then let the pod object go. */
  async terminate(): Promise<void> {
    if (this.terminating) return;
    const graceMs = secondsOf(this.pod.metadata?.deletionGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds, 30);
    await this.stopProcesses(graceMs);
    if (this.pod.metadata?.deletionTimestamp) await this.context.finishDeletion(this.pod);
  }

  /** Stop every process (the runtime itself is stopping); the pod object stays. */
  async stopProcesses(graceMs: number): Promise<void> {
    this.terminating = true;
    this.context.log('stopping pod', { pod: this.name, graceMs });
    await Promise.all([...this.records.values()].map(async (record) => {
      this.stopProbes(record);
      record.ready = false;
      await record.process?.stop(graceMs);
      this.context.recordProcess(`${this.pod.metadata!.uid}-${record.spec.name}`, undefined);
    }));
    this.stop();
  }

  /** Forget the pod: timers off, ports and files released. Processes must be stopped first. */
  stop(): void {
    this.stopped = true;
    if (this.statusTimer) clearTimeout(this.statusTimer);
    for (const timer of this.timers) clearTimeout(timer);
    for (const record of this.records.values()) this.stopProbes(record);
    for (const hostPort of this.hostPorts.values()) this.context.releasePort(hostPort);
    rmSync(join(this.podDir, 'home'), { recursive: true, force: true });
  }
}
