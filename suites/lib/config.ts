// The suite's configuration from flags, environment and an optional config file, in that
// order of precedence, over documented defaults. Pure: everything it reads is passed in, so
// the precedence rules are unit-tested without touching the process.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseFlags } from './cli-options.js';
import { InputError } from './errors.js';
import { contextNamespace, kubeconfigFiles } from './kube.js';

export type AccessMode = 'auto' | 'port-forward' | 'url' | 'in-cluster';
const accessModes: readonly AccessMode[] = ['auto', 'port-forward', 'url', 'in-cluster'];

/** Limits and sizes that checks compare against; every one can be overridden. */
export interface Limits {
  /** Seconds within which a hopeless pod state (unschedulable, image pull, crash loop) must fail the check. */
  failFastSeconds: number;
  /** Seconds to wait for pods that are still progressing normally to become Ready. */
  podReadySeconds: number;
  /** Container restarts tolerated per container. */
  maxRestarts: number;
  /** Seconds within which the next occurrence of a completed recurring task must be visible. */
  nextTaskSeconds: number;
  /** How many times the recurring-task flow is repeated for p50/p95. */
  eventFlowIterations: number;
  /** Seconds to wait for a due reminder to reach the notification service (the cron runs every minute). */
  reminderSeconds: number;
  /** p95 of API CRUD calls, in milliseconds. */
  crudP95Ms: number;
  /** CRUD rounds (create, read, update, complete, delete) measured. */
  crudIterations: number;
  /** Frontend load time (the load event), in milliseconds. */
  frontendLoadMs: number;
  /** Page loads measured in Chromium. */
  frontendLoads: number;
  /** Highest CPU and memory usage, as a percentage of the limit. */
  usagePercent: number;
  /** Timeout of one HTTP request, in milliseconds. */
  httpTimeoutMs: number;
  /** Timeout of one check, in seconds. */
  checkSeconds: number;
}

export const defaultLimits: Limits = {
  failFastSeconds: 15,
  podReadySeconds: 120,
  maxRestarts: 3,
  nextTaskSeconds: 5,
  eventFlowIterations: 20,
  reminderSeconds: 150,
  crudP95Ms: 2000,
  crudIterations: 20,
  frontendLoadMs: 3000,
  frontendLoads: 5,
  usagePercent: 80,
  httpTimeoutMs: 10_000,
  checkSeconds: 300,
};

/**
 * The frontend's own sign-in routes, which the contract leaves to the application. The
 * defaults are Better Auth's email routes, which most implementations serve; `token`, when
 * set, is a route that hands the signed-in browser a token to send as a bearer (Better
 * Auth's JWT plugin serves it at /api/auth/token).
 */
export interface AuthRoutes {
  signUp: string;
  signIn: string;
  session: string;
  signOut: string;
  token?: string;
}

export const defaultAuthRoutes: AuthRoutes = {
  signUp: '/api/auth/sign-up/email',
  signIn: '/api/auth/sign-in/email',
  session: '/api/auth/get-session',
  signOut: '/api/auth/sign-out',
};

export interface SuiteConfig {
  /** Kubeconfig file; undefined means in-cluster credentials. */
  kubeconfig: string | undefined;
  /** Context name; undefined means the kubeconfig's current context. */
  context: string | undefined;
  /** Several clusters in one run (`--contexts a,b`): each is validated in turn; empty for one. */
  contexts: string[];
  namespace: string;
  /** Where the namespace came from: a flag, variable or config file; the context; the default. */
  namespaceSource: 'given' | 'context' | 'default';
  release: string;
  /** The frontend's public address; found from the cluster when not given. */
  frontendUrl: string | undefined;
  /** Explicit base URLs by Service name (backend, recurring-task-service, notification-service, frontend, daprd of a service as `<service>-dapr`). */
  serviceUrls: Record<string, string>;
  /** Explicit Kafka bootstrap brokers (host:port); found through a port-forward when not given. */
  kafkaBrokers: string[] | undefined;
  access: AccessMode;
  reportDir: string;
  runId: string | undefined;
  /** Only these checks (ids or groups), when given. */
  only: string[];
  /** Checks (ids or groups) left out. */
  skip: string[];
  /** A skipped check fails the run, unless its id or group is in allowSkips. */
  strict: boolean;
  allowSkips: string[];
  /** Checks whose id or title matches this pattern (case-insensitive); undefined means all. */
  grep: RegExp | undefined;
  /** After the first failure, checks that have not started are skipped. */
  failFast: boolean;
  /** How often a failing retryable check (a latency measurement) is run again. */
  retries: number;
  /** `default`: a line per check; `json`: the report as JSON on stdout, the lines on stderr. */
  reporter: 'default' | 'json';
  /** Deadline of the whole run in seconds; undefined means none beyond each check's own. */
  runTimeoutSeconds: number | undefined;
  /** The Secret the pods take their credentials from. */
  secretName: string;
  /** Keys that Secret must hold. */
  secretKeys: string[];
  /** Topics that must exist. */
  topics: string[];
  /** Namespace of Dapr's control plane. */
  daprNamespace: string;
  /** Dapr Components each sidecar must report loaded. */
  daprComponents: string[];
  /** The frontend's sign-in routes, used by the user's journey. */
  authRoutes: AuthRoutes;
  /** Where to look for the `helm` binary for status and history in diagnostics. */
  helmBinary: string | undefined;
  limits: Limits;
  help: boolean;
  /** Where the config file came from, for the report. */
  configFile: string | undefined;
  /** Directories of a team's own checks (suites/api.ts), loaded next to the built-in ones. */
  checkDirs: string[];
}

export interface ConfigSources {
  argv: string[];
  env: Record<string, string | undefined>;
  cwd: string;
  home?: string;
  readFile?: (path: string) => string;
  exists?: (path: string) => boolean;
}

/** The exit codes every entry point shares, for each one's --help. */
export const exitCodesHelp = `Exit codes (the same for npm test, the drills, the load test and the scripts):
0 all passed (skips allowed unless --strict), 1 a check or verdict failed, 2 bad usage,
3 kubeconfig missing, unreadable or without a context, 4 context unknown or credentials
rejected, 5 cluster unreachable or not Kubernetes, 6 namespace missing, 7 Helm release
missing, 8 RBAC forbids a needed call, 9 internal error.`;

export const usage = `Usage: npm test -- [options]   (or: tsx suites/cli.ts [options])

Validates a deployed Todo stack against every success criterion and writes reports.

Targeting (flag / environment variable / config-file key; default):
  --kubeconfig FILE        TODO_SUITE_KUBECONFIG, then KUBECONFIG (a list of files is
                           merged as kubectl merges it) / kubeconfig; default
                           ~/.kube/config, or in-cluster credentials inside a pod
  --context NAME           TODO_SUITE_CONTEXT / context; default the current context
                           (--kube-context, helm's name for it, works too)
  --contexts A,B,...       TODO_SUITE_CONTEXTS / contexts (list); several clusters in one
                           run, one after the other, each in its context's namespace unless
                           -n is given; one report with a section per context
  -n, --namespace NAME     TODO_SUITE_NAMESPACE / namespace; default the context's
                           namespace (as kubectl), else todo-app
  --release NAME           TODO_SUITE_RELEASE / release; default todo-app
  --frontend-url URL       TODO_SUITE_FRONTEND_URL / frontendUrl; default found from the
                           frontend Service (LoadBalancer, NodePort) or an Ingress
  --service-url NAME=URL   TODO_SUITE_SERVICE_URLS (comma list) / serviceUrls (map);
                           repeatable; base URL of a Service, e.g. backend=http://127.0.0.1:8000
  --kafka-brokers LIST     TODO_SUITE_KAFKA_BROKERS / kafkaBrokers; default a port-forward
                           to each ready broker pod's client port
  --access MODE            TODO_SUITE_ACCESS / access; auto (default), port-forward, url,
                           in-cluster. auto: in-cluster DNS inside a pod, else an explicit
                           URL when given, else a port-forward through the API server
Checks:
  --only IDS               TODO_SUITE_ONLY / only; comma list of check ids or groups
  --skip IDS               TODO_SUITE_SKIP / skip; comma list of check ids or groups
  --limit KEY=VALUE        TODO_SUITE_LIMITS (comma list) / limits (map); repeatable
  --list                   print the checks and exit
  --strict                 TODO_SUITE_STRICT=1 / strict: true; a skipped check fails the run
                           (a gate that must prove every criterion), unless allowed below
  --allow-skip IDS         TODO_SUITE_ALLOW_SKIP / allowSkips; comma list of check ids or
                           groups that may skip under --strict, e.g. frontend-load
  -t, --grep PATTERN       run the checks whose id or title matches (regular expression,
                           case-insensitive), with --only/--skip
  --fail-fast              after the first failure, skip the checks that have not started
  --retries N              run a failing latency check (api-crud-latency, frontend-load)
                           again, up to N times (0-5; default 0); checks of the cluster's
                           state are never retried
  --timeout SECONDS        deadline of the whole run; checks still running then fail
  --reporter NAME          TODO_SUITE_REPORTER; default (a line per check) or json (the
                           report as JSON on stdout, the lines on stderr)
  --checks DIR             TODO_SUITE_CHECKS (comma list) / checks (list, relative to the
                           file); repeatable; a team's own checks (suites/api.ts), run with
                           the built-in ones
Reports:
  --report-dir DIR         TODO_SUITE_REPORT_DIR / reportDir; default reports
  --run-id ID              TODO_SUITE_RUN_ID; default a timestamp; one directory name
                           (letters, digits, . _ -; no / or ..)
  --config FILE            TODO_SUITE_CONFIG; YAML or JSON with the keys above
  -h, --help               this text

Limits (KEY=default): ${Object.entries(defaultLimits)
  .map(([key, value]) => `${key}=${value}`)
  .join(', ')}

${exitCodesHelp}`;

const limitKeys = Object.keys(defaultLimits) as (keyof Limits)[];

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function parsePairs(items: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const at = item.indexOf('=');
    if (at <= 0) throw new InputError('usage', `${what} must be NAME=VALUE, got "${item}"`);
    out[item.slice(0, at).trim()] = item.slice(at + 1).trim();
  }
  return out;
}

/**
 * Limits by key. `name(key)` says where a bad one came from (`limit crudP95Ms in --limit`,
 * `config file c.yaml: limits.crudP95Ms`). A value is a number, or a string that is one:
 * flags and variables are strings, and a file may quote a number; a list or a mapping is
 * refused, never read through its text (`[5]` is not 5).
 */
function parseLimits(pairs: Record<string, unknown>, name: (key: string) => string, unknown: (key: string) => string): Partial<Limits> {
  const out: Partial<Limits> = {};
  for (const [key, raw] of Object.entries(pairs)) {
    if (!limitKeys.includes(key as keyof Limits)) {
      throw new InputError('usage', `${unknown(key)}; known: ${limitKeys.join(', ')}`);
    }
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
    if (!Number.isFinite(value) || value < 0) {
      const got = typeof raw === 'string' ? `"${raw}"` : Array.isArray(raw) ? `a list ${JSON.stringify(raw)}` : JSON.stringify(raw) ?? String(raw);
      throw new InputError('usage', `${name(key)} must be a non-negative number, got ${got}`);
    }
    out[key as keyof Limits] = value;
  }
  return out;
}

function parseAuthRoutes(raw: Record<string, unknown>, origin: string): AuthRoutes {
  const known = [...Object.keys(defaultAuthRoutes), 'token'];
  const routes: AuthRoutes = { ...defaultAuthRoutes };
  for (const [key, value] of Object.entries(raw)) {
    if (!known.includes(key)) throw new InputError('usage', `unknown route "${key}" under authRoutes in ${origin}; known: ${known.join(', ')}`);
    if (typeof value !== 'string' || !value.startsWith('/')) {
      throw new InputError('usage', `authRoutes.${key} in ${origin} must be a path on the frontend starting with /, got ${JSON.stringify(value)}`);
    }
    routes[key as keyof AuthRoutes] = value;
  }
  return routes;
}

interface FileConfig {
  kubeconfig?: string;
  context?: string;
  contexts?: string[] | string;
  namespace?: string;
  release?: string;
  frontendUrl?: string;
  serviceUrls?: Record<string, unknown>;
  kafkaBrokers?: string[] | string;
  access?: string;
  reportDir?: string;
  only?: string[] | string;
  skip?: string[] | string;
  strict?: boolean;
  allowSkips?: string[] | string;
  secretName?: string;
  secretKeys?: string[] | string;
  topics?: string[] | string;
  daprNamespace?: string;
  daprComponents?: string[] | string;
  authRoutes?: Record<string, unknown>;
  limits?: Record<string, unknown>;
  checks?: string[] | string;
}

/** The type of each config-file key, checked when the file is read. */
const fileKeyTypes: Record<keyof FileConfig, 'string' | 'list' | 'map' | 'boolean'> = {
  kubeconfig: 'string',
  context: 'string',
  contexts: 'list',
  namespace: 'string',
  release: 'string',
  frontendUrl: 'string',
  serviceUrls: 'map',
  kafkaBrokers: 'list',
  access: 'string',
  reportDir: 'string',
  only: 'list',
  skip: 'list',
  strict: 'boolean',
  allowSkips: 'list',
  secretName: 'string',
  secretKeys: 'list',
  topics: 'list',
  daprNamespace: 'string',
  daprComponents: 'list',
  authRoutes: 'map',
  limits: 'map',
  checks: 'list',
};
const fileKeys = Object.keys(fileKeyTypes);

/** Why VALUE is not of TYPE (a list may be written as one comma-separated string), or undefined. */
function typeProblem(value: unknown, type: 'string' | 'list' | 'map' | 'boolean'): string | undefined {
  const describe = (v: unknown) => (Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v === 'object' ? 'a mapping' : `${typeof v} ${JSON.stringify(v)}`);
  switch (type) {
    case 'string':
      return typeof value === 'string' && value.trim() !== '' ? undefined : `must be a non-empty string, got ${describe(value)}`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `must be true or false, got ${describe(value)}`;
    case 'list':
      return typeof value === 'string' || (Array.isArray(value) && value.every((item) => typeof item === 'string')) ? undefined : `must be a list of strings, got ${describe(value)}`;
    case 'map':
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? undefined : `must be a mapping, got ${describe(value)}`;
  }
}

function readConfigFile(path: string, sources: ConfigSources): FileConfig {
  const read = sources.readFile ?? ((file: string) => readFileSync(file, 'utf8'));
  let text: string;
  try {
    text = read(path);
  } catch {
    throw new InputError('usage', `config file ${path} cannot be read`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new InputError('usage', `config file ${path} is not valid YAML/JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InputError('usage', `config file ${path} must hold a mapping`);
  }
  for (const [key, value] of Object.entries(parsed)) {
    if (!fileKeys.includes(key)) {
      throw new InputError('usage', `config file ${path}: unknown key "${key}"; known: ${fileKeys.join(', ')}`);
    }
    const problem = typeProblem(value, fileKeyTypes[key as keyof FileConfig]);
    if (problem) throw new InputError('usage', `config file ${path}: ${key} ${problem}`);
  }
  return parsed as FileConfig;
}

/** An http(s) URL with a host, as the suite can call it; `localhost:3000` (no scheme) is not one. */
function checkHttpUrl(value: string, what: string): void {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new InputError('usage', `${what} must be an http:// or https:// URL with a host, got "${value}"`);
  }
}

function wholeNumber(raw: string, flag: string, min: number, max: number): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new InputError('usage', `${flag} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}

function grepPattern(raw: string | undefined): RegExp | undefined {
  if (raw === undefined) return undefined;
  if (raw.trim() === '') throw new InputError('usage', '--grep needs a pattern, got an empty one');
  try {
    return new RegExp(raw, 'i');
  } catch (error) {
    throw new InputError('usage', `--grep: not a regular expression: ${(error as Error).message}`);
  }
}

function reporterName(raw: string): SuiteConfig['reporter'] {
  if (raw === 'default' || raw === 'json') return raw;
  throw new InputError('usage', `--reporter must be default or json, got "${raw}"`);
}

function strictFrom(envValue: string | undefined, fileValue: unknown, configPath: string | undefined): boolean {
  if (envValue !== undefined && envValue !== '') {
    if (['1', 'true', 'yes'].includes(envValue.toLowerCase())) return true;
    if (['0', 'false', 'no'].includes(envValue.toLowerCase())) return false;
    throw new InputError('usage', `TODO_SUITE_STRICT must be 1/true/yes or 0/false/no, got "${envValue}"`);
  }
  if (fileValue === undefined) return false;
  if (typeof fileValue !== 'boolean') throw new InputError('usage', `config file ${configPath ?? ''}: strict must be true or false, got ${JSON.stringify(fileValue)}`);
  return fileValue;
}

// Names as the API server and helm check them, refused here so that a typo is one line
// (exit 2) and not a request to a path the name would bend, or a 404 that reads as "missing".
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why a namespace name is not one (a DNS-1123 label), or undefined. */
function namespaceProblem(value: string): string | undefined {
  return value.length <= 63 && dnsLabel.test(value) ? undefined : `must be a Kubernetes namespace name (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got "${value}"`;
}

function checkNamespace(value: string, from: string): string {
  const problem = namespaceProblem(value);
  if (problem) throw new InputError('usage', `${from} ${problem}`);
  return value;
}

/** As helm checks a release name: a DNS-1123 subdomain of at most 53 characters. */
function checkReleaseName(value: string, from: string): string {
  if (value.length > 53 || !dnsSubdomain.test(value)) {
    throw new InputError('usage', `${from} must be a Helm release name (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 53 characters), got "${value}"`);
  }
  return value;
}

/** A run id is one directory under the report directory: it must not climb out of it, nor take the name of its link. */
function checkRunId(value: string, from: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value) || value.includes('..') || value.length > 128) {
    throw new InputError('usage', `${from} must be one directory name under the report directory (letters, digits, '.', '_' and '-', no '/' or '..', at most 128 characters), got "${value}"`);
  }
  if (value === 'latest') throw new InputError('usage', `${from} cannot be "latest", the name of the link to the newest run; choose another`);
  return value;
}

/** As kubectl and helm: -n, else the namespace the context names, else todo-app. */
function namespaceFor(kubeconfig: string | undefined, context: string | undefined, given: string | undefined): Pick<SuiteConfig, 'namespace' | 'namespaceSource'> {
  if (given !== undefined) return { namespace: given, namespaceSource: 'given' };
  const fromContext = kubeconfig !== undefined ? contextNamespace(kubeconfig, context) : undefined;
  if (fromContext === undefined) return { namespace: 'todo-app', namespaceSource: 'default' };
  const problem = namespaceProblem(fromContext);
  if (problem) throw new InputError('usage', `the namespace of ${context ? `context "${context}"` : 'the current context'} in the kubeconfig ${problem}; fix the context or set --namespace`);
  return { namespace: fromContext, namespaceSource: 'context' };
}

/** The configuration for one context of a `--contexts` run: that context, and its namespace unless one was given. */
export function configForContext(config: SuiteConfig, context: string): SuiteConfig {
  const given = config.namespaceSource === 'given' ? config.namespace : undefined;
  return { ...config, context, contexts: [], ...namespaceFor(config.kubeconfig, context, given) };
}

const asList = (value: string[] | string | undefined): string[] | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? value.map(String) : splitList(value);

export function resolveConfig(sources: ConfigSources): SuiteConfig & { list: boolean } {
  const { env } = sources;
  // The shared parser, as the drills and the load test use: a mistake is one line (exit 2),
  // and `--retries -1` reaches the value check instead of Node's "argument is ambiguous".
  const parsed = parseFlags(sources.argv, {
    kubeconfig: { type: 'string' },
    context: { type: 'string' },
    'kube-context': { type: 'string' },
    contexts: { type: 'string' },
    namespace: { type: 'string', short: 'n' },
    release: { type: 'string' },
    'frontend-url': { type: 'string' },
    'service-url': { type: 'string', multiple: true },
    'kafka-brokers': { type: 'string' },
    access: { type: 'string' },
    only: { type: 'string' },
    skip: { type: 'string' },
    strict: { type: 'boolean' },
    grep: { type: 'string', short: 't' },
    checks: { type: 'string', multiple: true },
    'fail-fast': { type: 'boolean' },
    retries: { type: 'string' },
    reporter: { type: 'string' },
    timeout: { type: 'string' },
    'allow-skip': { type: 'string' },
    limit: { type: 'string', multiple: true },
    'report-dir': { type: 'string' },
    'run-id': { type: 'string' },
    config: { type: 'string' },
    list: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  const flags = parsed.values;
  // An empty value is a mistake (an unset shell variable, most often), never "the default".
  for (const name of ['kubeconfig', 'context', 'kube-context', 'namespace', 'release', 'frontend-url', 'access', 'reporter', 'report-dir', 'run-id', 'config'] as const) {
    const value = flags[name];
    if (value !== undefined && value.trim() === '') throw new InputError('usage', `--${name} needs a value, got an empty one (see --help)`);
  }
  const home = sources.home ?? homedir();
  const abs = (path: string) => (isAbsolute(path) ? path : resolve(sources.cwd, path));

  const configPath = flags.config ?? env.TODO_SUITE_CONFIG;
  const file: FileConfig = configPath ? readConfigFile(abs(configPath), sources) : {};

  const pick = <T>(...values: (T | undefined)[]): T | undefined => values.find((value) => value !== undefined && value !== '');
  /** The first value given, with the flag, variable or config-file key it came from, for a refusal to name. */
  const pickFrom = (...candidates: [string | undefined, string][]): [string, string] | undefined => candidates.find(([value]) => value !== undefined && value !== '') as [string, string] | undefined;
  const inFile = (key: string) => `config file ${abs(configPath ?? '')}: ${key}`;

  const access = pick(flags.access, env.TODO_SUITE_ACCESS, file.access) ?? 'auto';
  if (!accessModes.includes(access as AccessMode)) {
    throw new InputError('usage', `--access must be one of ${accessModes.join(', ')}, got "${access}"`);
  }

  const exists = sources.exists ?? existsSync;
  const inCluster = Boolean(env.KUBERNETES_SERVICE_HOST);
  // KUBECONFIG may list several files, which are merged as kubectl merges them.
  const explicitKubeconfig = pick(flags.kubeconfig, env.TODO_SUITE_KUBECONFIG, env.KUBECONFIG, file.kubeconfig);
  let kubeconfig: string | undefined;
  if (explicitKubeconfig) {
    kubeconfig = kubeconfigFiles(explicitKubeconfig)
      .map((path) => abs(path.replace(/^~(?=\/)/, home)))
      .join(delimiter);
  } else {
    const standard = resolve(home, '.kube/config');
    kubeconfig = inCluster && !exists(standard) ? undefined : standard;
  }

  const fileServiceUrls: Record<string, string> = {};
  for (const [name, url] of Object.entries(file.serviceUrls ?? {})) {
    // Read as text, a list would pass as its one URL: the file must say what it means.
    if (typeof url !== 'string') throw new InputError('usage', `config file ${abs(configPath ?? '')}: serviceUrls.${name} must be a URL string, got ${JSON.stringify(url)}`);
    fileServiceUrls[name] = url;
  }
  const serviceUrls: Record<string, string> = {
    ...fileServiceUrls,
    ...parsePairs(splitList(env.TODO_SUITE_SERVICE_URLS), 'TODO_SUITE_SERVICE_URLS'),
    ...parsePairs(flags['service-url'] ?? [], '--service-url'),
  };
  for (const [name, url] of Object.entries(serviceUrls)) checkHttpUrl(url, `service URL for ${name}`);
  const frontendUrl = pick(flags['frontend-url'], env.TODO_SUITE_FRONTEND_URL, file.frontendUrl);
  if (frontendUrl) checkHttpUrl(frontendUrl, 'frontend URL');

  const limits: Limits = {
    ...defaultLimits,
    ...parseLimits(file.limits ?? {}, (key) => `config file ${abs(configPath ?? '')}: limits.${key}`, (key) => `config file ${abs(configPath ?? '')}: unknown limit "limits.${key}"`),
    ...parseLimits(parsePairs(splitList(env.TODO_SUITE_LIMITS), 'TODO_SUITE_LIMITS'), (key) => `limit ${key} in TODO_SUITE_LIMITS`, (key) => `unknown limit "${key}" in TODO_SUITE_LIMITS`),
    ...parseLimits(parsePairs(flags.limit ?? [], '--limit'), (key) => `limit ${key} in --limit`, (key) => `unknown limit "${key}" in --limit`),
  };

  const kafka = pick(flags['kafka-brokers'], env.TODO_SUITE_KAFKA_BROKERS) ?? file.kafkaBrokers;
  const context = pick(flags.context, flags['kube-context'], env.TODO_SUITE_CONTEXT, file.context);
  const contexts = [...new Set(asList(pick<string | string[]>(flags.contexts, env.TODO_SUITE_CONTEXTS, file.contexts)) ?? [])];
  if (contexts.length > 0) {
    if (context !== undefined) throw new InputError('usage', `--contexts and --context both name the cluster; give one of them`);
    if (access === 'in-cluster' || (kubeconfig === undefined && inCluster)) throw new InputError('usage', '--contexts needs a kubeconfig that names the contexts; inside a pod the suite validates its own cluster only');
    if (frontendUrl || Object.keys(serviceUrls).length > 0 || kafka !== undefined) {
      throw new InputError('usage', '--frontend-url, --service-url and --kafka-brokers are one cluster\'s addresses; with --contexts let the suite find each cluster\'s, or run once per context');
    }
  }
  const namespaceGiven = pickFrom([flags.namespace, '--namespace'], [env.TODO_SUITE_NAMESPACE, 'TODO_SUITE_NAMESPACE'], [file.namespace, inFile('namespace')]);
  const givenNamespace = namespaceGiven && checkNamespace(...namespaceGiven);
  const releaseGiven = pickFrom([flags.release, '--release'], [env.TODO_SUITE_RELEASE, 'TODO_SUITE_RELEASE'], [file.release, inFile('release')]);
  const runIdGiven = pickFrom([flags['run-id'], '--run-id'], [env.TODO_SUITE_RUN_ID, 'TODO_SUITE_RUN_ID']);
  return {
    kubeconfig,
    context,
    contexts,
    ...namespaceFor(kubeconfig, context, givenNamespace),
    release: releaseGiven ? checkReleaseName(...releaseGiven) : 'todo-app',
    frontendUrl,
    serviceUrls,
    kafkaBrokers: kafka === undefined ? undefined : asList(kafka),
    access: access as AccessMode,
    reportDir: abs(pick(flags['report-dir'], env.TODO_SUITE_REPORT_DIR, file.reportDir) ?? 'reports'),
    runId: runIdGiven && checkRunId(...runIdGiven),
    only: asList(pick<string | string[]>(flags.only, env.TODO_SUITE_ONLY, file.only)) ?? [],
    skip: asList(pick<string | string[]>(flags.skip, env.TODO_SUITE_SKIP, file.skip)) ?? [],
    strict: flags.strict ?? strictFrom(env.TODO_SUITE_STRICT, file.strict, configPath),
    grep: grepPattern(flags.grep),
    failFast: flags['fail-fast'] ?? false,
    retries: flags.retries === undefined ? 0 : wholeNumber(flags.retries, '--retries', 0, 5),
    reporter: reporterName(pick(flags.reporter, env.TODO_SUITE_REPORTER) ?? 'default'),
    runTimeoutSeconds: flags.timeout === undefined ? undefined : wholeNumber(flags.timeout, '--timeout', 1, 86_400),
    allowSkips: asList(pick<string | string[]>(flags['allow-skip'], env.TODO_SUITE_ALLOW_SKIP, file.allowSkips)) ?? [],
    secretName: file.secretName ?? 'app-secrets',
    // Lists, which the file may also write as one comma-separated string.
    secretKeys: asList(file.secretKeys) ?? ['DATABASE_URL', 'BETTER_AUTH_SECRET', 'JWT_SECRET'],
    topics: asList(file.topics) ?? ['task-events', 'reminders'],
    daprNamespace: file.daprNamespace === undefined ? 'dapr-system' : checkNamespace(file.daprNamespace, inFile('daprNamespace')),
    daprComponents: asList(file.daprComponents) ?? ['kafka-pubsub', 'statestore'],
    authRoutes: parseAuthRoutes(file.authRoutes ?? {}, configPath ?? 'config file'),
    helmBinary: env.TODO_SUITE_HELM,
    limits,
    help: flags.help ?? false,
    list: flags.list ?? false,
    configFile: configPath ? abs(configPath) : undefined,
    // Directories in the config file are relative to it; the others to the working directory.
    checkDirs: [
      ...(asList(file.checks) ?? []).map((dir) => (isAbsolute(dir) || !configPath ? abs(dir) : resolve(dirname(abs(configPath)), dir))),
      ...splitList(env.TODO_SUITE_CHECKS).map(abs),
      ...(flags.checks ?? []).map(abs),
    ],
  };
}
