/**
 * docs/helm-values-schema.md is generated from the charts' `# --` comments; these tests keep
 * it current and keep every value documented.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOC_PATH, generate, readDescriptions } from '../../scripts/helm-values-docs.js';
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
