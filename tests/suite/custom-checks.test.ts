// A team's own checks: the example in examples/checks is loaded as `--checks` loads it and
// run against pods with pinned and unpinned images; the loader refuses what it cannot run.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { allChecks } from '../../suites/checks/index.js';
import type { CheckContext } from '../../suites/lib/check.js';
import type { SuiteConfig } from '../../suites/lib/config.js';
import { loadCustomChecks } from '../../suites/lib/custom-checks.js';
import { InputError } from '../../suites/lib/errors.js';
import { Redactor } from '../../suites/lib/redact.js';
import { runChecks } from '../../suites/lib/runner.js';

const root = resolve(import.meta.dirname, '../..');
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const pod = (name: string, ...images: string[]): k8s.V1Pod => ({ metadata: { name }, spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } });

function context(pods: k8s.V1Pod[]): CheckContext {
  const config = { strict: false, allowSkips: [], retries: 0, failFast: false, runTimeoutSeconds: undefined, limits: { checkSeconds: 10 } } as unknown as SuiteConfig;
  return { config, redactor: new Redactor(), signal: new AbortController().signal, shared: { releasePods: async () => pods } } as unknown as CheckContext;
}

async function checkDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'custom-checks-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

describe('checks a team adds', () => {
  it('loads the example and runs it next to the built-in checks: red on an unpinned image, green when pinned', async () => {
    const [pinned] = await loadCustomChecks([join(root, 'examples/checks')], allChecks);
    expect(pinned?.id).toBe('pinned-images');
    const red = await runChecks([pinned!], context([pod('backend-1', 'registry.example/todo-backend:1.0.0', 'daprd:latest'), pod('frontend-1', 'todo-frontend')]));
    expect(red[0]?.verdict).toBe('fail');
    expect(red[0]?.reason).toBe('backend-1/c1 runs daprd:latest; frontend-1/c0 runs todo-frontend');
    expect(red[0]?.pods).toEqual(['backend-1', 'frontend-1']);
    const green = await runChecks([pinned!], context([pod('backend-1', 'registry.example:5000/todo-backend:1.0.0', 'daprd@sha256:abc')]));
    expect(green[0]?.verdict).toBe('pass');
  });

  it('refuses a file without a check, a clash with a built-in id, a malformed check, and a missing directory', async () => {
    const refusal = async (dirsToLoad: string[]) => {
      try {
        await loadCustomChecks(dirsToLoad, allChecks);
      } catch (error) {
        expect(error).toBeInstanceOf(InputError);
        return (error as Error).message;
      }
      return 'loaded';
    };
    const api = join(root, 'suites/api.js');
    expect(await refusal([await checkDir({ 'x.ts': 'export default 42;' })])).toMatch(/must export by default a check or a list of checks/);
    const clash = `import { defineCheck } from ${JSON.stringify(api)};\nexport default defineCheck({ id: 'pods-ready', title: 't', group: 'g', criterion: 'c', async run() {} });`;
    expect(await refusal([await checkDir({ 'clash.ts': clash })])).toMatch(/id "pods-ready" is already a built-in check/);
    const malformed = `import { defineCheck } from ${JSON.stringify(api)};\nexport default defineCheck({ id: 'Bad Id', title: 't', group: 'g', criterion: 'c', async run() {} });`;
    expect(await refusal([await checkDir({ 'bad.ts': malformed })])).toMatch(/cannot be loaded: check Bad Id: id must be lowercase/);
    expect(await refusal([join(tmpdir(), 'no-such-checks-dir')])).toMatch(/cannot read the directory/);
  });

  const waiting = (id: string, after: string[]) => `import { defineCheck } from ${JSON.stringify(join(root, 'suites/api.js'))};\nexport default defineCheck({ id: ${JSON.stringify(id)}, title: 't', group: 'team', criterion: 'c', after: ${JSON.stringify(after)}, async run() {} });`;

  it('refuses as bad usage an after naming no check, or a cycle, naming the check and its file', async () => {
    const refusal = async (files: Record<string, string>) => {
      try {
        await loadCustomChecks([await checkDir(files)], allChecks);
      } catch (error) {
        expect(error).toBeInstanceOf(InputError);
        expect((error as InputError).exitCode).toBe(2);
        expect((error as Error).message).not.toContain('\n');
        return (error as Error).message;
      }
      return 'loaded';
    };
    expect(await refusal({ 'a.ts': waiting('team-a', ['pods-redy']) })).toMatch(/^check team-a \(defined in .*a\.ts\) waits for "pods-redy", which is not a check; fix its after \(npm test -- --list shows the ids\)$/);
    expect(await refusal({ 'a.ts': waiting('team-a', ['team-b']), 'b.ts': waiting('team-b', ['pods-ready', 'team-a']) })).toMatch(
      /^checks wait for each other in a cycle: team-a -> team-b -> team-a \(.*a\.ts, .*b\.ts\); remove one of these from an after$/,
    );
    expect(await refusal({ 'self.ts': waiting('team-self', ['team-self']) })).toMatch(/cycle: team-self -> team-self/);
    // Waiting for a built-in check, or for another of the team's, is what after is for.
    expect(await refusal({ 'a.ts': waiting('team-a', ['pods-ready']), 'b.ts': waiting('team-b', ['team-a']) })).toBe('loaded');
  });

  it('npm test refuses such a check with exit 2 before the cluster is touched', async () => {
    const dir = await checkDir({ 'a.ts': waiting('team-a', ['nope']) });
    const { spawnSync } = await import('node:child_process');
    // No kubeconfig anywhere: had the cluster been looked for, this would be exit 3.
    const result = spawnSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'suites/cli.ts'), '--checks', dir, '--kubeconfig', join(dir, 'no-kubeconfig'), '--report-dir', join(dir, 'reports')], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: check team-a \(defined in .*a\.ts\) waits for "nope", which is not a check/)]);
  }, 30_000);
});
