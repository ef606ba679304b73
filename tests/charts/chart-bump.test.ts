/**
 * A release that changes only the charts' versions must restart nothing: every pod template
 * of a Deployment or StatefulSet renders byte for byte the same before and after. (Hook Jobs
 * are recreated on every upgrade anyway and are left out.) The charts are copied, every
 * Chart.yaml version and dependency version is bumped, and both copies are rendered.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ENVIRONMENTS, HELM_DIR, chartsAtVersion, environmentValues, helmBinaries, helmOk, render, type HelmBinary } from '../support/helm.js';
import { podTemplate } from './model.js';

const BUMPED_VERSION = '9.9.9';

describe.each(helmBinaries())('a chart-version-only release ($label)', (binary: HelmBinary) => {
  const workDir = mkdtempSync(join(tmpdir(), 'chart-bump-'));
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  it.each(ENVIRONMENTS)('%s: renders every Deployment and StatefulSet pod template unchanged', async (environment) => {
    const original = join(workDir, 'original');
    if (!existsSync(original)) {
      cpSync(HELM_DIR, original, { recursive: true, filter: (source) => !/\/charts\/[^/]+\.tgz$/.test(source) });
      for (const chart of readdirSync(original).filter((name) => name !== 'todo-app' && existsSync(join(original, name, 'Chart.yaml')))) {
        if (/^dependencies:/m.test(readFileSync(join(original, chart, 'Chart.yaml'), 'utf8'))) {
          await helmOk(binary, ['dependency', 'build', join(original, chart), '--skip-refresh']);
        }
      }
      await helmOk(binary, ['dependency', 'build', join(original, 'todo-app'), '--skip-refresh']);
    }
    const bumped = existsSync(join(workDir, 'helm')) ? join(workDir, 'helm', 'todo-app') : await chartsAtVersion(binary, workDir, BUMPED_VERSION);
    const valuesFiles = environmentValues(environment).map((file) => file.replace(HELM_DIR, join(workDir, 'original')));
    const before = await render(binary, join(original, 'todo-app'), { valuesFiles });
    const after = await render(binary, bumped, { valuesFiles });

    const chartLabels = (objects: typeof before.objects) => objects.map((object) => object.metadata.labels?.['helm.sh/chart']).filter(Boolean);
    expect(chartLabels(after.objects), 'the bump shows in the objects\' own labels').not.toEqual(chartLabels(before.objects));
    const templates = (objects: typeof before.objects) =>
      Object.fromEntries(
        objects
          .filter((object) => object.kind === 'Deployment' || object.kind === 'StatefulSet')
          .map((object) => [`${object.kind}/${object.metadata.name}`, stringify(podTemplate(object))]),
      );
    const beforeTemplates = templates(before.objects);
    expect(Object.keys(beforeTemplates).length).toBeGreaterThan(0);
    expect(templates(after.objects)).toEqual(beforeTemplates);
  });
});
