// Options the suite's command-line tools share: where the release is, and where reports go.
import type { ParseArgsConfig } from 'node:util';

/** The targeting flags of `npm test`, also taken by the drill and load commands. */
export const targetOptions = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  release: { type: 'string' },
  'frontend-url': { type: 'string' },
  'report-dir': { type: 'string' },
  'run-id': { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** A numeric flag: `fallback` when absent; positive (or zero when `zeroOk`), else an error naming the flag. */
export function numberFlag(raw: string | undefined, fallback: number, name: string, zeroOk = false): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (!zeroOk && n === 0)) throw new Error(`--${name} must be a positive number, got "${raw}"`);
  return n;
}
