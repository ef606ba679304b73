// Failure messages of the tests' helm and kubectl calls never carry the secrets handed to them.
import { describe, expect, it } from 'vitest';
import { printableArgs } from '../support/helm.js';

describe('printableArgs', () => {
  it('leaves out --set-string and --from-literal values, and nothing else', () => {
    expect(printableArgs(['install', 'r', 'c', '--set', 'a=b', '--set-string', 'global.appSecrets.jwtSecret=s3cret=x', '--wait'])).toBe(
      'install r c --set a=b --set-string global.appSecrets.jwtSecret=[REDACTED] --wait',
    );
    expect(printableArgs(['create', 'secret', 'generic', 'app-secrets', '--from-literal=DATABASE_URL=postgresql://todo:pw@h/db'])).toBe(
      'create secret generic app-secrets --from-literal=DATABASE_URL=[REDACTED]',
    );
  });
});
