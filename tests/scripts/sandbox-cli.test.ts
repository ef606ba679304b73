/**
 * The sandbox's and the demo's command lines, offline: an argument they do not know is one
 * line on stderr and exit 2, before anything starts; --help says what they do.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, run } from '../support/helm.js';

const script = (path: string, args: string[]) =>
  run('bash', [join(REPO_ROOT, path), ...args], { env: { ...process.env, NO_COLOR: '1' }, timeoutMs: 30_000 });

const scripts = [
  'scripts/sandbox/up.sh', 'scripts/sandbox/down.sh', 'scripts/sandbox/status.sh',
  'scripts/sandbox/prepare-stack.sh', 'scripts/demo.sh',
];

describe.each(scripts)('%s', (path) => {
  it('rejects an unknown argument with one line and exit 2', async () => {
    const result = await script(path, ['--runtime', 'host']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/unknown argument '--runtime' \(see --help\)/);
  });

  it('says what it does in --help', async () => {
    const result = await script(path, ['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: scripts\//);
  });
});

describe('scripts/sandbox/up.sh --nodes', () => {
  it.each([[[]], [['0']], [['6']], [['three']], [['-1']]])('refuses %j with one line and exit 2', async (value) => {
    const result = await script('scripts/sandbox/up.sh', ['--nodes', ...value]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining('--nodes needs a number from 1 to 5, e.g. --nodes 3')]);
  });
});

describe('scripts/demo.sh --env', () => {
  it.each([[[]], [['production']], [['']]])('refuses %j with one line and exit 2', async (value) => {
    const result = await script('scripts/demo.sh', ['--env', ...value]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining('--env needs one of default, dev, staging, prod, e.g. --env prod')]);
  });
});
