// A check is a named unit with a verdict (pass, fail, or skip with the reason), the values
// it measured next to their limits, and evidence. Checks throw CheckFailure/CheckSkip; the
// runner turns anything else into a failure with one line, never a stack trace.
import type * as k8s from '@kubernetes/client-node';
import type { ServiceAccess } from './access.js';
import type { SuiteConfig } from './config.js';
import type { Kube, Preflight } from './kube.js';
import type { Redactor } from './redact.js';

export type Verdict = 'pass' | 'fail' | 'skip';

export interface Measurement {
  name: string;
  value: number;
  unit: string;
  limit?: number;
  /** How value relates to limit for a pass. */
  comparator?: '<=' | '>=' | '==';
}

export interface Series {
  name: string;
  unit: string;
  values: number[];
  limit?: number;
  /** Positions of samples that never made it (a wait that ran out): drawn as over the limit whatever their value. */
  late?: number[];
}

export interface CheckResult {
  id: string;
  title: string;
  group: string;
  /** The success criterion of the contract this check proves. */
  criterion: string;
  verdict: Verdict;
  /** One line: why it passed, failed or was skipped. */
  reason: string;
  expected?: string;
  actual?: string;
  measurements: Measurement[];
  series: Series[];
  evidence: string[];
  startedAt: string;
  durationMs: number;
  /** Pods the check looked at, so diagnostics can point at theirs. */
  pods: string[];
  /** Relative path of the diagnostics bundle, set on failure. */
  diagnostics?: string;
  /** Files the check wrote into the run's directory (a screenshot), relative to it. */
  artifacts?: string[];
}

export class CheckFailure extends Error {
  constructor(
    message: string,
    readonly expected?: string,
    readonly actual?: string,
  ) {
    super(message);
    this.name = 'CheckFailure';
  }
}

export class CheckSkip extends Error {
  constructor(why: string) {
    super(why);
    this.name = 'CheckSkip';
  }
}

export class Recorder {
  readonly measurements: Measurement[] = [];
  readonly series: Series[] = [];
  readonly evidence: string[] = [];
  readonly pods = new Set<string>();
  readonly artifacts: string[] = [];
  summary = '';

  measure(name: string, value: number, unit: string, limit?: number, comparator: Measurement['comparator'] = '<='): void {
    this.measurements.push({ name, value: Math.round(value * 100) / 100, unit, limit, comparator: limit === undefined ? undefined : comparator });
  }

  addSeries(name: string, unit: string, values: number[], limit?: number, late: number[] = []): void {
    this.series.push({ name, unit, values: values.map((v) => Math.round(v * 10) / 10), limit, ...(late.length > 0 ? { late } : {}) });
  }

  note(text: string): void {
    this.evidence.push(text);
  }

  /** A file the check wrote into the run's directory, by its path relative to it. */
  attach(path: string): void {
    this.artifacts.push(path);
  }

  involve(...pods: (string | undefined)[]): void {
    for (const pod of pods) if (pod) this.pods.add(pod);
  }
}

/** What is computed once per run and shared by checks. */
export interface Shared {
  /** Pods of the release (label app.kubernetes.io/instance), read fresh on each call. */
  releasePods(): Promise<k8s.V1Pod[]>;
  /** The JWT signing secret from the app Secret, in memory only. */
  jwtSecret(): Promise<string>;
  /** The unique test user of this run; checks derive their own users from it. */
  readonly testUser: string;
  /** Every user a check acted as, recorded in the report so a later run can sweep their late data. */
  readonly users: Set<string>;
}

export interface CheckContext {
  config: SuiteConfig;
  kube: Kube;
  access: ServiceAccess;
  redactor: Redactor;
  preflight: Preflight;
  shared: Shared;
  signal: AbortSignal;
  runId: string;
  /** The run's report directory, where a check may write files (see Recorder.attach). */
  runDir?: string;
}

export interface Check {
  id: string;
  title: string;
  group: string;
  criterion: string;
  /** Checks that must have finished first: used so latency checks do not compete with the others. */
  after?: string[];
  /**
   * A measurement that a busy moment can spoil (a latency), which --retries may run again.
   * Never set on a check of the cluster's state: a state that is wrong once is wrong.
   */
  retryable?: boolean;
  run(ctx: CheckContext, rec: Recorder): Promise<void>;
}
