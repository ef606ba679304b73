/**
 * Running helm (3 and 4) from the tests, and reading what it renders.
 *
 * Binaries: HELM_BIN and HELM4_BIN when set, else the sandbox tool cache
 * (`${TODO_SANDBOX_HOME:-$HOME/.cache/todo-sandbox}/bin/helm` and `.../bin/helm4`), else the
 * versioned install directories that scripts/sandbox/install-tools.sh fills.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const HELM_DIR = join(REPO_ROOT, 'helm');
export const UMBRELLA_DIR = join(HELM_DIR, 'todo-app');
export const SUBCHARTS = [
  'frontend',
  'backend',
  'recurring-task-service',
  'notification-service',
  'kafka',
  'dapr-components',
] as const;
export const ENVIRONMENTS = ['default', 'dev', 'staging', 'prod'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Upper bound for one helm command that renders or lints offline. */
export const HELM_OFFLINE_TIMEOUT_MS = 60_000;

export interface HelmBinary {
  /** `helm3` or `helm4`, for test names. */
  label: 'helm3' | 'helm4';
  path: string;
}

function sandboxHome(): string {
  return process.env.TODO_SANDBOX_HOME ?? join(homedir(), '.cache', 'todo-sandbox');
}

function pinnedVersion(key: string): string | undefined {
  const file = join(REPO_ROOT, 'scripts', 'sandbox', 'versions.env');
  if (!existsSync(file)) return undefined;
  const match = new RegExp(`^${key}=(\\S+)`, 'm').exec(readFileSync(file, 'utf8'));
  return match?.[1];
}

function locate(envVar: string, binName: string, toolDir: string, versionKey: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  const inBin = join(sandboxHome(), 'bin', binName);
  if (existsSync(inBin)) return inBin;
  const version = pinnedVersion(versionKey);
  if (version) {
    const inTools = join(sandboxHome(), 'tools', `${toolDir}-${version}`, 'bin', binName);
    if (existsSync(inTools)) return inTools;
  }
  return inBin;
}

export function helmBinaries(): HelmBinary[] {
  return [
    { label: 'helm3', path: locate('HELM_BIN', 'helm', 'helm', 'HELM_VERSION') },
    { label: 'helm4', path: locate('HELM4_BIN', 'helm4', 'helm4', 'HELM4_VERSION') },
  ];
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Runs a command without a shell; never rejects, the exit code is in the result. */
export function run(
  command: string,
  args: readonly string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CommandResult> {
  const started = performance.now();
  return new Promise((resolvePromise) => {
    execFile(
      command,
      [...args],
      {
        cwd: options.cwd ?? REPO_ROOT,
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? HELM_OFFLINE_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolvePromise({ code, stdout, stderr: stderr || (error && !stderr ? error.message : ''), durationMs: performance.now() - started });
      },
    );
  });
}

export async function helm(binary: HelmBinary, args: readonly string[], timeoutMs?: number): Promise<CommandResult> {
  return run(binary.path, args, { timeoutMs });
}

/**
 * A command line fit for a failure message: the values of `--set-string` and
 * `--from-literal` (the way the tests hand secrets to helm and kubectl) are left out.
 */
export function printableArgs(args: readonly string[]): string {
  return args
    .map((arg, index) => {
      if (args[index - 1] === '--set-string') return arg.replace(/=.*/s, '=[REDACTED]');
      const literal = /^(--from-literal=[^=]*)=/.exec(arg);
      return literal ? `${literal[1]}=[REDACTED]` : arg;
    })
    .join(' ');
}

/** Like helm(), but throws with helm's stderr when it fails. */
export async function helmOk(binary: HelmBinary, args: readonly string[], timeoutMs?: number): Promise<CommandResult> {
  const result = await helm(binary, args, timeoutMs);
  if (result.code !== 0) {
    throw new Error(`${binary.label} ${printableArgs(args)} exited ${result.code}:\n${result.stderr}`);
  }
  return result;
}

let dependenciesBuilt: Promise<void> | undefined;

/**
 * Packages the umbrella's file:// subcharts into helm/todo-app/charts (git-ignored) from
 * Chart.lock. Offline: file:// dependencies need no repository. Once per test process.
 */
export function ensureUmbrellaDependencies(binary: HelmBinary): Promise<void> {
  dependenciesBuilt ??= helmOk(binary, ['dependency', 'build', UMBRELLA_DIR, '--skip-refresh']).then(() => undefined);
  return dependenciesBuilt;
}

const chartDependencies = new Map<string, Promise<void>>();

/**
 * Packages a chart's own file:// dependencies (the todo-common library) into its charts/
 * directory (git-ignored) from its Chart.lock, as installing the chart on its own needs.
 * Offline, once per chart and test process; charts without dependencies are left alone.
 */
export function ensureChartDependencies(binary: HelmBinary, chartDir: string): Promise<void> {
  if (!/^dependencies:/m.test(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8'))) return Promise.resolve();
  let built = chartDependencies.get(chartDir);
  if (!built) {
    built = helmOk(binary, ['dependency', 'build', chartDir, '--skip-refresh']).then(() => undefined);
    chartDependencies.set(chartDir, built);
  }
  return built;
}

/** Values files of the umbrella for an environment (values.yaml is always read by helm). */
export function environmentValues(environment: Environment): string[] {
  return environment === 'default' ? [] : [join(UMBRELLA_DIR, `values-${environment}.yaml`)];
}

export interface K8sMetadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: K8sMetadata;
  [field: string]: unknown;
}

function isK8sObject(value: unknown): value is K8sObject {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } };
  return (
    typeof candidate.apiVersion === 'string' &&
    typeof candidate.kind === 'string' &&
    typeof candidate.metadata?.name === 'string'
  );
}

/** Parses a multi-document YAML stream into Kubernetes objects; empty documents are dropped. */
export function parseManifests(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text, { uniqueKeys: true })) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML in rendered output: ${doc.errors[0]?.message ?? ''}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isK8sObject(value)) throw new Error(`rendered document is not a Kubernetes object: ${JSON.stringify(value).slice(0, 200)}`);
    objects.push(value);
  }
  return objects;
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  valuesFiles?: string[];
  /** `--set` pairs. */
  set?: Record<string, string | number | boolean>;
  /** `--set-string` pairs. */
  setString?: Record<string, string>;
  extraArgs?: string[];
}

export function templateArgs(chartDir: string, options: RenderOptions = {}): string[] {
  const args = ['template', options.release ?? 'todo-app', chartDir, '--namespace', options.namespace ?? 'todo-app'];
  for (const file of options.valuesFiles ?? []) args.push('--values', file);
  for (const [key, value] of Object.entries(options.set ?? {})) args.push('--set', `${key}=${String(value)}`);
  for (const [key, value] of Object.entries(options.setString ?? {})) args.push('--set-string', `${key}=${value}`);
  args.push(...(options.extraArgs ?? []));
  return args;
}

export interface Rendered {
  objects: K8sObject[];
  text: string;
  durationMs: number;
}

export async function render(binary: HelmBinary, chartDir: string, options: RenderOptions = {}): Promise<Rendered> {
  const result = await helmOk(binary, templateArgs(chartDir, options));
  return { objects: parseManifests(result.stdout), text: result.stdout, durationMs: result.durationMs };
}

export function findObject(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) {
    const present = objects.map((object) => `${object.kind}/${object.metadata.name}`).join(', ');
    throw new Error(`no ${kind}/${name} in the render; present: ${present}`);
  }
  return found;
}

/** Sets `version:` and every dependency's `version:` of a Chart.yaml to `version`. */
export function bumpChartYaml(text: string, version: string): string {
  return text.replace(/^version: .*$/m, `version: ${version}`).replace(/^(\s+version: ).*$/gm, `$1${version}`);
}

/**
 * A copy of helm/ in `dir` with every chart's version (and its dependencies' versions) set to
 * `version`, its dependencies packaged; returns the copied umbrella's directory.
 */
export async function chartsAtVersion(binary: HelmBinary, dir: string, version: string): Promise<string> {
  const copy = join(dir, 'helm');
  cpSync(HELM_DIR, copy, { recursive: true, filter: (source) => !/\/charts\/[^/]+\.tgz$/.test(source) });
  const charts = readdirSync(copy).filter((name) => existsSync(join(copy, name, 'Chart.yaml')));
  for (const chart of charts) {
    const file = join(copy, chart, 'Chart.yaml');
    writeFileSync(file, bumpChartYaml(readFileSync(file, 'utf8'), version));
  }
  // Subcharts first: the umbrella packages them with their own dependencies.
  for (const chart of [...charts.filter((c) => c !== 'todo-app'), 'todo-app']) {
    if (/^dependencies:/m.test(readFileSync(join(copy, chart, 'Chart.yaml'), 'utf8'))) {
      await helmOk(binary, ['dependency', 'update', join(copy, chart), '--skip-refresh']);
    }
  }
  return join(copy, 'todo-app');
}
