import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../suites/lib/check.js';
import { resolveConfig } from '../../suites/lib/config.js';
import { InputError } from '../../suites/lib/errors.js';
import { strictVerdict } from '../../suites/lib/runner.js';

const result = (over: Partial<CheckResult>): CheckResult => ({
  id: 'frontend-public', title: 't', group: 'frontend', criterion: 'c', verdict: 'skip',
  reason: 'skipped: Service frontend is a LoadBalancer that has no external address yet',
  measurements: [], series: [], evidence: [], pods: [], startedAt: new Date(0).toISOString(), durationMs: 1,
  ...over,
});

const config = (argv: string[], env: Record<string, string> = {}, file?: string) =>
  resolveConfig({ argv: file ? [...argv, '--config', 'suite.yaml'] : argv, env, cwd: '/work', home: '/home/u', readFile: () => file ?? '' });

describe('--strict', () => {
  it('is off by default: a skip stays a skip', () => {
    expect(strictVerdict(result({}), config([])).verdict).toBe('skip');
  });

  it('turns a skip into a failure that keeps the reason and says how to allow it', () => {
    const strict = strictVerdict(result({}), config(['--strict']));
    expect(strict.verdict).toBe('fail');
    expect(strict.reason).toBe('skipped, which --strict does not allow (--allow-skip frontend-public to allow it): Service frontend is a LoadBalancer that has no external address yet');
  });

  it('leaves passes and failures alone', () => {
    expect(strictVerdict(result({ verdict: 'pass', reason: 'ok' }), config(['--strict'])).verdict).toBe('pass');
    expect(strictVerdict(result({ verdict: 'fail', reason: 'no' }), config(['--strict'])).reason).toBe('no');
  });

  it('allows the skips named by id or group, from flag, environment or config file', () => {
    expect(strictVerdict(result({}), config(['--strict', '--allow-skip', 'frontend-public'])).verdict).toBe('skip');
    expect(strictVerdict(result({}), config(['--strict', '--allow-skip', 'pods,frontend'])).verdict).toBe('skip');
    expect(strictVerdict(result({}), config([], { TODO_SUITE_STRICT: 'true', TODO_SUITE_ALLOW_SKIP: 'frontend' })).verdict).toBe('skip');
    expect(strictVerdict(result({}), config([], {}, 'strict: true\nallowSkips: [frontend-public]\n')).verdict).toBe('skip');
    expect(strictVerdict(result({}), config([], {}, 'strict: true\n')).verdict).toBe('fail');
  });

  it('refuses a value that is not a boolean, with one line', () => {
    expect(() => config([], { TODO_SUITE_STRICT: 'maybe' })).toThrow(InputError);
    expect(() => config([], { TODO_SUITE_STRICT: 'maybe' })).toThrow('TODO_SUITE_STRICT must be 1/true/yes or 0/false/no, got "maybe"');
    expect(() => config([], {}, 'strict: "yes please"\n')).toThrow('strict must be true or false, got string "yes please"');
  });
});
