// Loads a team's own checks (--checks DIR, `checks:` in the config file): every .ts, .js or
// .mjs file of each directory, whose default export is one check or a list of them.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Check } from './check.js';
import { InputError, oneLine } from './errors.js';
import { orderProblem } from './runner.js';

const isCheck = (value: unknown): value is Check =>
  typeof value === 'object' && value !== null && typeof (value as Check).id === 'string' && typeof (value as Check).run === 'function';

export async function loadCustomChecks(dirs: readonly string[], builtIn: readonly Check[]): Promise<Check[]> {
  const loaded: Check[] = [];
  const taken = new Map(builtIn.map((check) => [check.id, 'a built-in check']));
  for (const dir of dirs) {
    let files: string[];
    try {
      if (!statSync(dir).isDirectory()) throw new Error('not a directory');
      files = readdirSync(dir).filter((file) => /\.(ts|js|mjs)$/.test(file) && !file.endsWith('.d.ts')).sort();
    } catch (error) {
      throw new InputError('usage', `--checks ${dir}: cannot read the directory: ${oneLine(error)}`);
    }
    for (const file of files) {
      const path = join(dir, file);
      let module: { default?: unknown };
      try {
        module = (await import(pathToFileURL(path).href)) as { default?: unknown };
      } catch (error) {
        throw new InputError('usage', `check file ${path} cannot be loaded: ${oneLine(error)}`);
      }
      const exported = Array.isArray(module.default) ? module.default : [module.default];
      if (exported.length === 0 || !exported.every(isCheck)) {
        throw new InputError('usage', `check file ${path} must export by default a check or a list of checks made with defineCheck (suites/api.ts)`);
      }
      for (const check of exported) {
        const owner = taken.get(check.id);
        if (owner) throw new InputError('usage', `check file ${path}: id "${check.id}" is already ${owner}; choose another`);
        taken.set(check.id, `defined in ${path}`);
        loaded.push(check);
      }
    }
  }
  // Their order next to the built-in checks, refused now, before the cluster is touched:
  // an `after` naming no check, or a cycle, is the team's mistake to fix (exit 2).
  const problem = orderProblem([...builtIn, ...loaded]);
  if (problem?.kind === 'unknown') {
    throw new InputError('usage', `check ${problem.check} (${taken.get(problem.check) ?? ''}) waits for "${problem.after}", which is not a check; fix its after (npm test -- --list shows the ids)`);
  }
  if (problem?.kind === 'cycle') {
    const own = problem.cycle.filter((id) => taken.get(id)?.startsWith('defined in '));
    const files = [...new Set(own.map((id) => (taken.get(id) ?? '').replace(/^defined in /, '')))];
    throw new InputError('usage', `checks wait for each other in a cycle: ${problem.cycle.join(' -> ')} (${files.join(', ')}); remove one of these from an after`);
  }
  return loaded;
}
