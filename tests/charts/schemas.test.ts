/**
 * The Dapr service charts' values.schema.json files are generated from one source
 * (scripts/helm-schemas.ts); this keeps them from drifting apart or from the source.
 */
import { describe, expect, it } from 'vitest';
import { SCHEMA_SOURCE, staleSchemas } from '../../scripts/helm-schemas.js';
import { REPO_ROOT } from '../support/helm.js';

describe('Dapr service chart schemas', () => {
  it(`match ${SCHEMA_SOURCE} (npx tsx scripts/helm-schemas.ts regenerates them)`, () => {
    expect(staleSchemas(REPO_ROOT)).toEqual([]);
  });

});
