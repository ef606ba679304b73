import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function trackedFiles(...patterns: string[]): string[] {
  return execFileSync('git', ['ls-files', '--', ...patterns], { cwd: REPO_ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((file) => file !== '' && existsSync(join(REPO_ROOT, file)));
}

const markdownFiles = trackedFiles('*.md');

/** Relative link targets of a Markdown file (`[text](target)`), anchors and URLs left out. */
function relativeLinks(markdown: string): string[] {
  const targets = [...markdown.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] ?? '');
  return targets
    .filter((target) => !/^[a-z]+:/i.test(target) && !target.startsWith('#'))
    .map((target) => target.split('#')[0] ?? '');
}

describe('documentation', () => {
  it('finds the Markdown files', () => {
    expect(markdownFiles).toContain('README.md');
    expect(markdownFiles).toContain('docs/contract.md');
  });

  it('links only to files inside the repository that exist', () => {
    const broken: string[] = [];
    for (const file of markdownFiles) {
      for (const target of relativeLinks(readFileSync(join(REPO_ROOT, file), 'utf8'))) {
        const path = resolve(REPO_ROOT, dirname(file), target);
        const inside = !relative(REPO_ROOT, path).startsWith('..');
        if (!inside || !existsSync(path)) broken.push(`${file} -> ${target}`);
      }
    }
    expect(broken, 'broken or outside links').toEqual([]);
  });

  it('never passes a secret on a command line (--from-literal), which shell history and ps would keep', () => {
    const files = [...markdownFiles, ...trackedFiles('helm/**/NOTES.txt', 'helm/**/values*.yaml')];
    const offending = files.filter((file) => readFileSync(join(REPO_ROOT, file), 'utf8').includes('--from-literal'));
    expect(offending).toEqual([]);
  });

  it("marks every value in the providers' example files that a user must replace with # PLACEHOLDER, and the guide says so", () => {
    const examples = trackedFiles('helm/todo-app/examples/*.yaml');
    expect(examples.length).toBeGreaterThan(0);
    const unmarked: string[] = [];
    for (const file of examples) {
      const lines = readFileSync(join(REPO_ROOT, file), 'utf8').split('\n');
      lines.forEach((line, index) => {
        // A registry to push to, or a host name under example.com: nothing real.
        if (!/^\s*(imageRegistry:|host:\s*\S*example\.com)/.test(line)) return;
        let above = index - 1;
        const comments: string[] = [];
        while (above >= 0 && /^\s*#/.test(lines[above] ?? '')) comments.push(lines[above--] ?? '');
        if (!comments.some((comment) => /#\s*PLACEHOLDER: replace with /.test(comment))) unmarked.push(`${file}:${index + 1}: ${line.trim()}`);
      });
    }
    expect(unmarked, 'values without a PLACEHOLDER comment right above them').toEqual([]);
    const guide = readFileSync(join(REPO_ROOT, 'docs/deployment-guide.md'), 'utf8');
    expect(guide).toMatch(/`# PLACEHOLDER`/);
  });

  it("the guide's Images prerequisite says how to build and push them: scripts/build-images.sh", () => {
    const guide = readFileSync(join(REPO_ROOT, 'docs/deployment-guide.md'), 'utf8');
    const images = /^- \*\*Images\.\*\*[\s\S]*?(?=^- \*\*)/m.exec(guide)?.[0] ?? '';
    expect(images).toContain('scripts/build-images.sh');
  });

  it("README's first screen: what it is, the two quick-start commands, then the cluster user's path; the sandbox's internals in docs/sandbox.md", () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const headings = [...readme.matchAll(/^##+ (.+)$/gm)].map((match) => match[1]);
    expect(headings.slice(0, 2)).toEqual(['Quick start', 'Deploying to a cluster']);
    const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Deploying to a cluster'));
    expect(quickStart).toContain('npm run demo');
    expect(quickStart).toContain('npm run check');
    const clusterPath = readme.slice(readme.indexOf('## Deploying to a cluster'));
    for (const step of ['npm ci', 'Node.js 20', 'scripts/build-images.sh', 'scripts/create-secrets.sh', 'scripts/deploy-to-cloud.sh', 'scripts/validate-deployment.sh']) expect(clusterPath).toContain(step);
    expect(readme).toContain('](docs/sandbox.md)');
    expect(readme).not.toMatch(/What is real|What is simulated|^export KUBECONFIG=/m);
    const sandbox = readFileSync(join(REPO_ROOT, 'docs/sandbox.md'), 'utf8');
    expect(sandbox).toMatch(/^## What is real$/m);
    expect(sandbox).toMatch(/^## What is simulated, and how it differs from a cluster$/m);
  });
});
