/**
 * Installing Dapr's own control plane from a local chart with locally built images, offline:
 * install-dapr.sh's --image-registry and --values, and scripts/sandbox/dapr/build-images.sh,
 * each refuse a bad command line with one line and exit 2 before touching a cluster or
 * building anything; a good one gets as far as the kubeconfig.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, run } from '../support/helm.js';
import { toolBin } from '../support/sandbox.js';

const SCRIPT_TIMEOUT_MS = 30_000;
const INSTALL = join(REPO_ROOT, 'scripts', 'install-dapr.sh');
const BUILD_IMAGES = join(REPO_ROOT, 'scripts', 'sandbox', 'dapr', 'build-images.sh');
const SANDBOX_VALUES = join(REPO_ROOT, 'scripts', 'sandbox', 'dapr', 'values.yaml');

const env = (): NodeJS.ProcessEnv => ({
  ...process.env,
  NO_COLOR: '1',
  KUBECTL: join(toolBin, 'kubectl'),
  HELM: join(toolBin, 'helm'),
});

const bash = (script: string, args: string[]) => run('bash', [script, ...args], { env: env(), timeoutMs: SCRIPT_TIMEOUT_MS });

/** Exit 2 with a single line on stderr matching `message`, nothing on stdout. */
function expectUsageError(result: { code: number | null; stdout: string; stderr: string }, message: RegExp): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(message);
}

describe('scripts/install-dapr.sh --image-registry and --values', () => {
  let dir = '';
  let absentKubeconfig = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'install-dapr-usage-'));
    absentKubeconfig = join(dir, 'absent.kubeconfig');
    writeFileSync(join(dir, 'values.yaml'), 'global: {}\n');
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('documents both flags in --help', async () => {
    const result = await bash(INSTALL, ['--help']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/--image-registry REG/);
    expect(result.stdout).toMatch(/--values FILE/);
  });

  it.each(['--image-registry', '--values'])('%s without its value is exit 2', async (flag) => {
    expectUsageError(await bash(INSTALL, [flag]), new RegExp(`${flag} needs a value`));
  });

  it.each([
    ['a scheme', 'http://10.220.0.1:5000'],
    ['a trailing slash', '10.220.0.1:5000/'],
    ['a tag', '10.220.0.1:5000/dapr:1.16.5'],
    ['a space', 'registry .example'],
  ])('rejects a registry with %s', async (_what, registry) => {
    expectUsageError(await bash(INSTALL, ['--image-registry', registry]), /--image-registry '.*' is not host\[:port\]\[\/path\]/);
  });

  it('rejects a values file that does not exist', async () => {
    expectUsageError(await bash(INSTALL, ['--values', join(dir, 'absent.yaml')]), /--values .*absent\.yaml is not a readable file/);
  });

  it('rejects a values file that is a directory', async () => {
    expectUsageError(await bash(INSTALL, ['--values', dir]), /--values .* is not a readable file/);
  });

  it('rejects --values with the Dapr CLI, which takes no values files', async () => {
    expectUsageError(await bash(INSTALL, ['--method', 'cli', '--values', join(dir, 'values.yaml')]), /--values works with --method helm only/);
  });

  it('accepts a registry, the sandbox values and a repeated --values, then checks the kubeconfig (exit 3)', async () => {
    const result = await bash(INSTALL, [
      '--image-registry', '10.220.0.1:5000',
      '--values', SANDBOX_VALUES,
      '--values', join(dir, 'values.yaml'),
      '--kubeconfig', absentKubeconfig,
    ]);
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toMatch(/kubeconfig .*absent\.kubeconfig does not exist/);
  });
});

describe('scripts/sandbox/dapr/build-images.sh command line', () => {
  it('prints its usage with --help and exits 0', async () => {
    const result = await bash(BUILD_IMAGES, ['--help']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Usage: scripts\/sandbox\/dapr\/build-images\.sh --registry REGISTRY/);
    expect(result.stdout).toMatch(/REGISTRY\/daprd:\d+\.\d+\.\d+/);
    expect(result.stderr).toBe('');
  });

  it('needs --registry', async () => {
    expectUsageError(await bash(BUILD_IMAGES, []), /--registry is required/);
  });

  it('rejects --registry without its value', async () => {
    expectUsageError(await bash(BUILD_IMAGES, ['--registry']), /--registry needs a value/);
  });

  it('rejects a registry with a scheme', async () => {
    expectUsageError(await bash(BUILD_IMAGES, ['--registry', 'http://10.220.0.1:5000']), /takes host\[:port\]\[\/path\] without a scheme/);
  });

  it('rejects an unknown flag', async () => {
    expectUsageError(await bash(BUILD_IMAGES, ['--registry', '10.220.0.1:5000', '--no-such-flag']), /unknown argument '--no-such-flag'/);
  });

  it('is shellcheck clean, as install-dapr.sh is', async () => {
    const result = await run('shellcheck', ['-x', 'scripts/sandbox/dapr/build-images.sh', 'scripts/install-dapr.sh'], { timeoutMs: SCRIPT_TIMEOUT_MS });
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });
});
