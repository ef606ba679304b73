// Options the suite's command-line tools share: where the release is, and where reports go.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError, oneLine } from './errors.js';

/** The targeting flags of `npm test`, also taken by the drill and load commands. */
export const targetOptions = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  'kube-context': { type: 'string' },
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
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || (!zeroOk && n === 0)) throw new InputError('usage', `--${name} must be a positive number, got "${raw}"`);
  return n;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** The long name of the option an argument names: `--name` itself, `-x` by its short letter. */
function optionName(arg: string, options: Options): string | undefined {
  if (arg.startsWith('--')) return arg.slice(2) in options ? arg.slice(2) : undefined;
  if (/^-[^-]$/.test(arg)) return Object.keys(options).find((name) => options[name]?.short === arg.slice(1));
  return undefined;
}

/**
 * parseArgs, with usage mistakes as one-line InputErrors (exit 2). A negative number after
 * an option that takes a value is that option's value (`--users -5`, `-n -5`), so the
 * value's own check can name what is wrong with it.
 */
export function parseFlags<T extends Options>(args: string[], options: T, allowPositionals = false) {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    const next = args[i + 1];
    const name = optionName(arg, options);
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      joined.push(`--${name}=${next}`);
      i += 1;
    } else {
      joined.push(arg);
    }
  }
  try {
    return parseArgs({ args: joined, options, strict: true, allowPositionals });
  } catch (error) {
    throw new InputError('usage', `${oneLine(error).replace(/\s*To specify an option argument.*$/, '')} (see --help)`);
  }
}
