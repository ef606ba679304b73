#!/usr/bin/env -S npx tsx
/**
 * Writes the values.schema.json of the three Dapr service charts from their one source,
 * helm/todo-common/dapr-service.values.schema.json: the charts share one implementation, so
 * they accept the same values. Only the title names the chart. Helm reads a chart's schema
 * from the chart's own directory, hence the copies; never edit them by hand.
 *
 * Usage: npx tsx scripts/helm-schemas.ts [--check] [--help]
 *   --check  exit 1 when a chart's schema differs from what the source gives; write nothing
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const DAPR_SERVICE_CHARTS = ['backend', 'recurring-task-service', 'notification-service'] as const;
export const SCHEMA_SOURCE = 'helm/todo-common/dapr-service.values.schema.json';

/** Path of each generated schema (relative to the repository) and the text it must hold. */
export function generateSchemas(root: string = repoRoot): Map<string, string> {
  const source = JSON.parse(readFileSync(join(root, SCHEMA_SOURCE), 'utf8')) as Record<string, unknown>;
  const out = new Map<string, string>();
  for (const chart of DAPR_SERVICE_CHARTS) {
    const schema = { ...source, title: `Values of the ${chart} chart` };
    out.set(`helm/${chart}/values.schema.json`, `${JSON.stringify(schema, null, 2)}\n`);
  }
  return out;
}

/** The generated schemas that differ from the files on disk. */
export function staleSchemas(root: string = repoRoot): string[] {
  return [...generateSchemas(root)]
    .filter(([path, text]) => {
      const file = join(root, path);
      return !existsSync(file) || readFileSync(file, 'utf8') !== text;
    })
    .map(([path]) => path);
}

function main(argv: string[]): number {
  const usage = 'Usage: npx tsx scripts/helm-schemas.ts [--check] [--help]';
  const unknown = argv.filter((arg) => arg !== '--check' && arg !== '--help');
  if (unknown.length > 0) {
    console.error(`unknown argument: ${unknown.join(' ')}\n${usage}`);
    return 2;
  }
  if (argv.includes('--help')) {
    console.log(usage);
    return 0;
  }
  if (argv.includes('--check')) {
    const stale = staleSchemas();
    if (stale.length > 0) {
      console.error(`stale: ${stale.join(', ')}; run npx tsx scripts/helm-schemas.ts`);
      return 1;
    }
    console.log(`the Dapr service charts' schemas match ${SCHEMA_SOURCE}`);
    return 0;
  }
  for (const [path, text] of generateSchemas()) {
    writeFileSync(join(repoRoot, path), text);
    console.log(`wrote ${path}`);
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
