/**
 * The image build scripts' command lines, offline and without building anything: --help,
 * one clear line and exit 2 for a bad flag, a missing --registry or an unknown image name,
 * the image names --list prints (what the charts pull), and shellcheck.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT, run } from '../support/helm.js';

const SCRIPT_TIMEOUT_MS = 30_000;
const BUILD_IMAGES = 'scripts/build-images.sh';
const SANDBOX_BUILD = 'scripts/sandbox/images/build.sh';
const SCRIPTS = [BUILD_IMAGES, SANDBOX_BUILD];

let imagesHome = '';

beforeAll(() => {
  // Nothing may be written there: every case stops before a build.
  imagesHome = mkdtempSync(join(tmpdir(), 'images-cli-'));
});

afterAll(() => {
  if (imagesHome) rmSync(imagesHome, { recursive: true, force: true });
});

const script = (path: string, args: string[]) =>
  run('bash', [join(REPO_ROOT, path), ...args], {
    env: { ...process.env, NO_COLOR: '1', TODO_IMAGES_HOME: join(imagesHome, 'images') },
    timeoutMs: SCRIPT_TIMEOUT_MS,
  });

function expectUsageError(result: { code: number; stdout: string; stderr: string }, message: RegExp): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(message);
}

function readYaml(path: string): Record<string, unknown> {
  return parse(readFileSync(join(REPO_ROOT, path), 'utf8')) as Record<string, unknown>;
}

function appVersion(chart: string): string {
  return String(readYaml(`helm/${chart}/Chart.yaml`).appVersion);
}

function imageRepository(values: Record<string, unknown>): string {
  return String((values.image as { repository: string }).repository);
}

describe.each(SCRIPTS)('%s command line', (path) => {
  it('prints its usage with --help and exits 0', async () => {
    const result = await script(path, ['--help']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Usage: scripts\//);
    expect(result.stderr).toBe('');
  });

  it('rejects an unknown flag with one line and exit 2', async () => {
    expectUsageError(await script(path, ['--registry', 'registry.example.com', '--no-such-flag']), /unknown argument '--no-such-flag'/);
  });

  it('requires --registry', async () => {
    expectUsageError(await script(path, []), /--registry is required/);
  });

  it('rejects --registry without a value', async () => {
    expectUsageError(await script(path, ['--registry']), /--registry needs a value/);
  });

  it('rejects a registry given as a URL', async () => {
    expectUsageError(await script(path, ['--registry', 'https://registry.example.com']), /without a scheme/);
  });
});

describe(`${BUILD_IMAGES}`, () => {
  it('rejects an unknown image name in --only, naming the known ones', async () => {
    expectUsageError(
      await script(BUILD_IMAGES, ['--registry', 'registry.example.com', '--only', 'backend,nope']),
      /unknown image 'nope' in --only \(images: backend recurring-task-service notification-service frontend validation\)/,
    );
  });

  it('rejects a builder other than docker or buildah', async () => {
    expectUsageError(await script(BUILD_IMAGES, ['--registry', 'r.example', '--builder', 'podman']), /--builder must be docker or buildah/);
  });

  it('rejects an invalid tag', async () => {
    expectUsageError(await script(BUILD_IMAGES, ['--registry', 'r.example', '--tag', 'no/slash']), /not a valid image tag/);
  });

  it('names each image as its chart pulls it: repository and appVersion under the registry', async () => {
    const result = await script(BUILD_IMAGES, ['--registry', 'registry.example.com/todo/', '--list']);
    expect(result.code, result.stderr).toBe(0);
    const listed = Object.fromEntries(result.stdout.trim().split('\n').map((line) => line.trim().split(/\s+/) as [string, string]));
    const expected: Record<string, string> = {};
    for (const chart of ['backend', 'recurring-task-service', 'notification-service', 'frontend']) {
      expected[chart] = `registry.example.com/todo/${imageRepository(readYaml(`helm/${chart}/values.yaml`))}:${appVersion(chart)}`;
    }
    const validation = readYaml('helm/todo-app/values.yaml').validation as Record<string, unknown>;
    expected.validation = `registry.example.com/todo/${imageRepository(validation)}:${appVersion('todo-app')}`;
    expect(listed).toEqual(expected);
  });

  it('keeps the build order and takes --tag for every image', async () => {
    const result = await script(BUILD_IMAGES, ['--registry', '127.0.0.1:5000', '--only', 'validation,backend', '--tag', '2.0.0-rc.1', '--list']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n').map((line) => line.split(/\s+/)[1])).toEqual([
      '127.0.0.1:5000/todo-backend:2.0.0-rc.1',
      '127.0.0.1:5000/todo-validation:2.0.0-rc.1',
    ]);
  });

  it('gives every Dockerfile the NODE_IMAGE default the script documents', async () => {
    const usage = (await script(BUILD_IMAGES, ['--help'])).stdout;
    const documented = /default: (\S+)\)/.exec(usage)?.[1];
    const dockerfiles = [
      ...readdirSync(join(REPO_ROOT, 'fixtures/todo-stack/docker')).map((name) => `fixtures/todo-stack/docker/${name}`),
      'suites/Dockerfile',
    ];
    expect(dockerfiles).toHaveLength(5);
    for (const dockerfile of dockerfiles) {
      const text = readFileSync(join(REPO_ROOT, dockerfile), 'utf8');
      expect(/^ARG NODE_IMAGE=(\S+)$/m.exec(text)?.[1], dockerfile).toBe(documented);
    }
  });
});

describe(`${SANDBOX_BUILD}`, () => {
  it('rejects an unknown image name in --only, naming the known ones', async () => {
    expectUsageError(
      await script(SANDBOX_BUILD, ['--registry', '127.0.0.1:5000', '--only', 'kafka,zookeeper']),
      /unknown image 'zookeeper' in --only \(images: node kafka busybox stack\)/,
    );
  });

  it('names the stand-ins as the charts pull them, then the project images on its node base', async () => {
    const result = await script(SANDBOX_BUILD, ['--registry', '127.0.0.1:5000', '--list']);
    expect(result.code, result.stderr).toBe(0);
    const backendValues = readYaml('helm/backend/values.yaml');
    const testImage = (backendValues.tests as { image: { repository: string; tag: string } }).image;
    const lines = result.stdout.trim().split('\n');
    expect(lines.slice(0, 4)).toEqual([
      '127.0.0.1:5000/debian:bookworm-slim',
      '127.0.0.1:5000/node:22-bookworm-slim',
      `127.0.0.1:5000/${imageRepository(readYaml('helm/kafka/values.yaml'))}:${appVersion('kafka')}`,
      `127.0.0.1:5000/${testImage.repository}:${testImage.tag}`,
    ]);
    expect(lines.slice(4)).toHaveLength(5);
    expect(lines.slice(4).every((line) => line.startsWith('127.0.0.1:5000/todo-'))).toBe(true);
  });

  it('lists only the bases an image needs with --only', async () => {
    const result = await script(SANDBOX_BUILD, ['--registry', 'r.example', '--only', 'busybox', '--list']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual(['r.example/debian:bookworm-slim', expect.stringMatching(/^r\.example\/busybox:/)]);
  });
});

describe('image scripts', () => {
  it('are shellcheck clean', async () => {
    const files = [
      ...SCRIPTS,
      'scripts/lib/images.sh',
      'scripts/sandbox/images/node/docker-entrypoint.sh',
      ...['run', 'kafka-run-class.sh', 'kafka-server-start.sh', 'kafka-storage.sh', 'kafka-topics.sh'].map(
        (name) => `scripts/sandbox/images/kafka/${name}`,
      ),
    ];
    const result = await run('shellcheck', ['-x', ...files], { timeoutMs: SCRIPT_TIMEOUT_MS });
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });
});
