/**
 * The sandbox's and the demo's command lines, offline: a runtime that does not exist, or a
 * --runtime without its value, is one line on stderr and exit 2, before anything starts.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, run } from '../support/helm.js';

const script = (path: string, args: string[]) =>
  run('bash', [join(REPO_ROOT, path), ...args], { env: { ...process.env, NO_COLOR: '1' }, timeoutMs: 30_000 });

describe.each(['scripts/sandbox/up.sh', 'scripts/demo.sh'])('%s --runtime', (path) => {
  it('rejects a runtime that does not exist with one line and exit 2', async () => {
    const result = await script(path, ['--runtime', 'docker']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/--runtime takes 'host' or 'containerd'/);
  });

  it('rejects --runtime without a value with exit 2', async () => {
    const result = await script(path, ['--runtime']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--runtime takes/);
  });

  it('names the runtimes in --help', async () => {
    const result = await script(path, ['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--runtime');
  });
});
