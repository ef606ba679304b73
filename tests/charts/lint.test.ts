/**
 * `helm lint --strict` of every chart with every values file it ships, with Helm 3 and 4.
 */
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  HELM_DIR,
  SUBCHARTS,
  UMBRELLA_DIR,
  ensureChartDependencies,
  ensureUmbrellaDependencies,
  helm,
  helmBinaries,
  type HelmBinary,
} from '../support/helm.js';

interface LintCase {
  chart: string;
  valuesFiles: string[];
  title: string;
}

function ciFiles(chart: string): string[] {
  const dir = join(HELM_DIR, chart, 'ci');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith('-values.yaml'))
    .map((file) => join(dir, file));
}

function lintCases(): LintCase[] {
  const cases: LintCase[] = [];
  for (const chart of SUBCHARTS) {
    cases.push({ chart, valuesFiles: [], title: `${chart} with values.yaml` });
    for (const file of ciFiles(chart)) {
      cases.push({ chart, valuesFiles: [file], title: `${chart} with ci/${file.split('/').pop() ?? ''}` });
    }
  }
  cases.push({ chart: 'todo-app', valuesFiles: [], title: 'todo-app with values.yaml (Minikube)' });
  for (const environment of ['dev', 'staging', 'prod']) {
    cases.push({
      chart: 'todo-app',
      valuesFiles: [join(UMBRELLA_DIR, `values-${environment}.yaml`)],
      title: `todo-app with values-${environment}.yaml`,
    });
  }
  const examples = readdirSync(join(UMBRELLA_DIR, 'examples')).filter((file) => file.endsWith('.yaml'));
  for (const example of examples) {
    const base = example === 'minikube.yaml' ? 'values-dev.yaml' : 'values-prod.yaml';
    cases.push({
      chart: 'todo-app',
      valuesFiles: [join(UMBRELLA_DIR, base), join(UMBRELLA_DIR, 'examples', example)],
      title: `todo-app with ${base} + examples/${example}`,
    });
  }
  return cases;
}

describe.each(helmBinaries())('helm lint --strict ($label)', (binary: HelmBinary) => {
  beforeAll(async () => {
    await ensureUmbrellaDependencies(binary);
    for (const chart of SUBCHARTS) await ensureChartDependencies(binary, join(HELM_DIR, chart));
  });

  it.each(lintCases())('passes for $title', async ({ chart, valuesFiles }) => {
    const args = ['lint', '--strict', join(HELM_DIR, chart)];
    for (const file of valuesFiles) args.push('--values', file);
    const result = await helm(binary, args);
    expect(result.code, `${binary.label} ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });
});
