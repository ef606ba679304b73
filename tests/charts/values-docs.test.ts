/**
 * docs/helm-values-schema.md is generated from the charts' `# --` comments and the umbrella's
 * environment files; these tests keep it current, keep every value documented, and check its
 * three parts: the environment table, the shared keys and the YAML blocks of object defaults.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DOC_PATH,
  documentCharts,
  environmentTable,
  generate,
  layoutSections,
  readDescriptions,
  readEnvironments,
  stackDefaults,
  stackEnvironmentTable,
  type ChartDoc,
  type EnvironmentRow,
  type ValueRow,
} from '../../scripts/helm-values-docs.js';
import { REPO_ROOT } from '../support/helm.js';

describe('helm values reference', () => {
  it('documents every value of every chart with a "# --" comment', () => {
    expect(generate(REPO_ROOT).undocumented).toEqual([]);
  });

  it('is current with the values files (npx tsx scripts/helm-values-docs.ts regenerates it)', () => {
    const onDisk = readFileSync(join(REPO_ROOT, DOC_PATH), 'utf8');
    expect(onDisk === generate(REPO_ROOT).markdown, `${DOC_PATH} is stale: run npx tsx scripts/helm-values-docs.ts`).toBe(true);
  });

  it('reads descriptions by dotted path, with continuation lines, skipping list items and commented examples', () => {
    const text = [
      '# Header, not a value description.',
      '',
      'image:',
      '  # -- Image repository',
      '  # with a second line.',
      '  repository: todo',
      '# -- Topics to create.',
      'topics:',
      '  - name: a',
      '    # -- not a top-level value',
      '    partitions: 3',
      '# -- Extra env.',
      'extraEnv: []',
      '# extraEnv:',
      '#   - name: X',
      'undocumented: 1',
    ].join('\n');
    const descriptions = readDescriptions(text);
    expect(Object.fromEntries(descriptions)).toEqual({
      'image.repository': 'Image repository with a second line.',
      topics: 'Topics to create.',
      extraEnv: 'Extra env.',
    });
  });
});

describe('environment table', () => {
  // A map is one value when isUnit says so (like `resources`); other maps go key by key.
  const isUnit = (path: string[]): boolean => path[path.length - 1] === 'resources';
  const defaults = {
    api: {
      replicaCount: 1,
      resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m' } },
      labels: { team: 'todo', tier: 'api' },
      zones: ['a', 'b'],
    },
  };

  it('lists only the paths an environment changes, with the value it ends up with', () => {
    const dev = { api: { replicaCount: 1, labels: { tier: 'web' } } };
    const staging = { api: { replicaCount: 2 } };
    const prod = { api: { replicaCount: 3, resources: { requests: { cpu: '1' } }, zones: ['a'] } };
    const rows = environmentTable(defaults, [dev, staging, prod], isUnit);
    expect(rows).toEqual<EnvironmentRow[]>([
      // dev restates the default replica count: its cell stays empty.
      { path: 'api.replicaCount', default: 1, values: [undefined, 2, 3] },
      // A partial resources block merges over the default, as Helm does.
      {
        path: 'api.resources',
        default: defaults.api.resources,
        values: [undefined, undefined, { requests: { cpu: '1', memory: '128Mi' }, limits: { cpu: '500m' } }],
      },
      // A map that is not a unit shows each changed key on its own row.
      { path: 'api.labels.tier', default: 'api', values: ['web', undefined, undefined] },
      // A list replaces the default whole.
      { path: 'api.zones', default: ['a', 'b'], values: [undefined, undefined, ['a']] },
    ]);
  });

  it('shows a path no defaults file sets, with no default', () => {
    const rows = environmentTable(defaults, [{ api: { priorityClassName: 'high' } }], isUnit);
    expect(rows).toEqual<EnvironmentRow[]>([{ path: 'api.priorityClassName', default: undefined, values: ['high'] }]);
  });

  it("starts from each subchart's defaults under its name, with the umbrella's values over them", () => {
    const stack = stackDefaults(
      { global: { logLevel: 'info' }, api: { enabled: true, replicaCount: 2 } },
      { api: { global: { logLevel: 'debug', registry: '' }, replicaCount: 1, port: 8000 } },
    );
    expect(stack).toEqual({
      global: { logLevel: 'info', registry: '' },
      api: { replicaCount: 2, port: 8000, enabled: true },
    });
  });

  it('computes the real environments: replica counts, Kafka sizing and per-key ConfigMap data', () => {
    const rows = stackEnvironmentTable(documentCharts(REPO_ROOT), readEnvironments(REPO_ROOT));
    const row = (path: string): EnvironmentRow | undefined => rows.find((candidate) => candidate.path === path);
    expect(row('backend.replicaCount')).toEqual({ path: 'backend.replicaCount', default: 1, values: [undefined, 2, 3] });
    expect(row('kafka.replicaCount')?.values).toEqual([undefined, 3, 3]);
    expect(row('global.appConfig.data.LOG_LEVEL')).toEqual({
      path: 'global.appConfig.data.LOG_LEVEL',
      default: 'info',
      values: ['debug', undefined, 'warn'],
    });
    // resources is one row whose cells are whole blocks, not one row per cpu/memory.
    expect(row('backend.resources')?.values[2]).toEqual({ requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '1Gi' } });
    expect(rows.some((candidate) => candidate.path.startsWith('backend.resources.'))).toBe(false);
    // Every environment sets frontend.service.port to its default 80: no row.
    expect(row('frontend.service.port')).toBeUndefined();
  });

  it('comes first in the reference, with the prod column filled from values-prod.yaml', () => {
    const { markdown } = generate(REPO_ROOT);
    const environments = markdown.indexOf('## Environments');
    expect(environments).toBeGreaterThan(0);
    expect(environments).toBeLessThan(markdown.indexOf('## Shared by'));
    expect(markdown).toContain('| Key | Default | dev | staging | prod |');
    expect(markdown).toContain('| `backend.replicaCount` | `1` | — | `2` | `3` |');
    expect(markdown).toContain('| `kafka.persistence.size` | `8Gi` | `2Gi` | `20Gi` | `50Gi` |');
  });
});

describe('shared keys', () => {
  const row = (key: string, fields: Partial<ValueRow> = {}): ValueRow => ({
    key,
    type: 'string',
    covers: true,
    default: '',
    description: `About ${key}.`,
    scalarMap: false,
    ...fields,
  });
  const chart = (name: string, rows: ValueRow[]): ChartDoc => ({ chart: name, description: '', values: {}, rows, undocumented: [] });

  it('puts a key several charts declare alike in one section, and keeps what differs with its chart', () => {
    const layout = layoutSections([
      chart('a', [row('image.tag'), row('port', { type: 'integer', default: 80 })]),
      chart('b', [row('image.tag'), row('port', { type: 'integer', default: 8000 })]),
      chart('c', [row('image.tag'), row('port', { type: 'integer', default: 8000 }), row('topics')]),
    ]);
    expect(layout.shared.map((section) => [section.charts, section.entries.map((entry) => entry.row.key)])).toEqual([
      [['a', 'b', 'c'], ['image.tag']],
      [['b', 'c'], ['port']],
    ]);
    const own = Object.fromEntries(layout.charts.map((section) => [section.doc.chart, section.entries]));
    expect(own.a?.map((entry) => [entry.row.key, entry.note])).toEqual([['port', 'Differs from b and c in its default.']]);
    expect(own.b).toEqual([]);
    expect(own.c?.map((entry) => entry.row.key)).toEqual(['topics']);
    expect(layout.shared[1]?.entries[0]?.note).toBe('Differs from a in its default.');
  });

  it('documents a key of the three Dapr services once, and each chart links to that section', () => {
    const { markdown } = generate(REPO_ROOT);
    const title = 'Shared by backend, recurring-task-service and notification-service';
    expect(markdown).toContain(`## ${title}`);
    expect(markdown.split('\n').filter((line) => line.startsWith('- `dapr.enabled` '))).toHaveLength(1);
    expect(markdown.split('\n').filter((line) => line.startsWith('- `global.dapr.logLevel` '))).toHaveLength(1);
    const link = `- [${title}](#shared-by-backend-recurring-task-service-and-notification-service)`;
    for (const name of ['backend', 'recurring-task-service', 'notification-service']) {
      const start = markdown.indexOf(`\n## ${name}\n`);
      const end = markdown.indexOf('\n## ', start + 1);
      expect(markdown.slice(start, end === -1 ? undefined : end), name).toContain(link);
    }
  });

  it('says what differs when a chart declares a shared path its own way', () => {
    const { markdown } = generate(REPO_ROOT);
    const line = markdown.split('\n').find((text) => text.startsWith('- `containerPort` (integer, default `3000`)'));
    expect(line).toContain('Differs from backend, recurring-task-service and notification-service in its default and description.');
  });

  it('links only to headings of the page', () => {
    const { markdown } = generate(REPO_ROOT);
    const anchors = new Set(
      markdown
        .split('\n')
        .filter((line) => line.startsWith('#'))
        .map((line) => '#' + line.replace(/^#+ /, '').toLowerCase().replace(/[^a-z0-9 _-]/g, '').replace(/ /g, '-')),
    );
    const links = [...markdown.matchAll(/\]\((#[^)]+)\)/g)].map((match) => match[1] ?? '');
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((target) => !anchors.has(target))).toEqual([]);
  });
});

describe('defaults', () => {
  it('shows an object or list default as a YAML block and a scalar inline, never as JSON', () => {
    const { markdown } = generate(REPO_ROOT);
    expect(markdown).toContain(
      [
        '- `validation.resources` (object): Resources of the suite\'s container (Chromium runs in it for the frontend-load and journey-browser checks). Default:',
        '  ```yaml',
        '  requests:',
        '    cpu: 250m',
        '    memory: 512Mi',
        '  limits:',
        '    cpu: "1"',
        '    memory: 1536Mi',
        '  ```',
      ].join('\n'),
    );
    expect(markdown).toContain('- `validation.activeDeadlineSeconds` (integer, default `900`): ');
    // Only empty maps and lists stay inline.
    expect(markdown).not.toMatch(/default `[[{][^\]}]/);
  });
});
