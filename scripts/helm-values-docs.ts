#!/usr/bin/env -S npx tsx
/**
 * Generates docs/helm-values-schema.md, the reference of every chart value, from the
 * helm-docs style comments (`# -- description`) in each chart's values.yaml, the defaults in
 * that file and the types in its values.schema.json. The values files are the only source:
 * the reference is never written by hand.
 *
 * Usage: npx tsx scripts/helm-values-docs.ts [--check] [--help]
 *   --check  exit 1 when the reference is stale or a value has no description; write nothing
 *
 * Documentation rule: a key carries a `# --` comment on the lines right above it
 * (continuation lines start with `# `). A documented map whose keys carry no comments of
 * their own is documented as a whole (one row, its default shown as JSON); otherwise every
 * leaf needs its own comment, and the generator names the ones that lack it.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'yaml';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Charts in the order the reference lists them. */
export const CHARTS = [
  'todo-app',
  'frontend',
  'backend',
  'recurring-task-service',
  'notification-service',
  'kafka',
  'dapr-components',
] as const;

export const DOC_PATH = 'docs/helm-values-schema.md';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

interface JsonSchema {
  type?: string | string[];
  enum?: Json[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
}

export interface ValueRow {
  key: string;
  type: string;
  default: string;
  description: string;
}

export interface ChartDoc {
  chart: string;
  description: string;
  rows: ValueRow[];
  undocumented: string[];
}

function isMap(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads the `# --` descriptions of a values.yaml, keyed by dotted path. Keys inside list
 * items are skipped: a list is documented at its own key.
 */
export function readDescriptions(text: string): Map<string, string> {
  const descriptions = new Map<string, string>();
  const stack: { indent: number; key: string; isList: boolean }[] = [];
  let pending: string[] | null = null;
  let pendingIndent = -1;

  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\s+$/, '');
    const indent = line.length - line.trimStart().length;
    const trimmed = line.trim();

    if (trimmed === '') {
      pending = null;
      continue;
    }
    const start = /^# -- ?(.*)$/.exec(trimmed);
    if (start) {
      pending = [start[1] ?? ''];
      pendingIndent = indent;
      continue;
    }
    if (trimmed.startsWith('#')) {
      const more = /^# ?(.*)$/.exec(trimmed);
      if (pending && indent === pendingIndent && more) pending.push(more[1] ?? '');
      continue;
    }
    while (stack.length > 0 && (stack[stack.length - 1]?.indent ?? -1) >= indent) stack.pop();
    if (trimmed.startsWith('-')) {
      const parent = stack[stack.length - 1];
      if (parent) parent.isList = true;
      pending = null;
      continue;
    }
    if (stack.some((entry) => entry.isList)) {
      pending = null;
      continue;
    }
    const keyMatch = /^("[^"]+"|'[^']+'|[^\s:#][^:#]*?):(\s|$)/.exec(trimmed);
    if (!keyMatch || keyMatch[1] === undefined) {
      pending = null;
      continue;
    }
    const key = keyMatch[1].replace(/^["']|["']$/g, '');
    const path = [...stack.map((entry) => entry.key), key].join('.');
    if (pending) descriptions.set(path, pending.join(' ').trim());
    pending = null;
    stack.push({ indent, key, isList: false });
  }
  return descriptions;
}

function resolveRef(schema: JsonSchema, root: JsonSchema): JsonSchema {
  if (schema.$ref?.startsWith('#/$defs/')) {
    const target = root.$defs?.[schema.$ref.slice('#/$defs/'.length)];
    if (target) return target;
  }
  return schema;
}

function schemaAt(root: JsonSchema, path: string[]): JsonSchema | undefined {
  let node: JsonSchema | undefined = root;
  for (const key of path) {
    if (!node) return undefined;
    node = resolveRef(node, root);
    const next: JsonSchema | undefined =
      node.properties?.[key] ?? (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined);
    node = next;
  }
  return node ? resolveRef(node, root) : undefined;
}

function describeType(schema: JsonSchema | undefined, value: Json | undefined): string {
  if (schema?.enum) return schema.enum.map((option) => JSON.stringify(option)).join(' \\| ');
  if (schema?.type) return Array.isArray(schema.type) ? schema.type.join(' \\| ') : schema.type;
  if (Array.isArray(value)) return 'array';
  if (value === null || value === undefined) return 'null';
  if (isMap(value)) return 'object';
  return typeof value === 'number' ? (Number.isInteger(value) ? 'integer' : 'number') : typeof value;
}

function formatDefault(value: Json | undefined): string {
  const text = JSON.stringify(value ?? null);
  return '`' + text.replace(/\|/g, '\\|') + '`';
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** Builds the rows of one chart, and the paths that lack a description. */
export function documentChart(chartDir: string): ChartDoc {
  const valuesText = readFileSync(join(chartDir, 'values.yaml'), 'utf8');
  const values: unknown = parse(valuesText);
  const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as JsonSchema;
  const chartMeta: unknown = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8'));
  const chartName = isMap(chartMeta) && typeof chartMeta.name === 'string' ? chartMeta.name : chartDir;
  const chartDescription = isMap(chartMeta) && typeof chartMeta.description === 'string' ? chartMeta.description : '';
  const descriptions = readDescriptions(valuesText);
  const rows: ValueRow[] = [];
  const undocumented: string[] = [];

  const hasDescribedDescendant = (prefix: string): boolean =>
    [...descriptions.keys()].some((key) => key.startsWith(prefix + '.'));

  const walk = (node: Json | undefined, path: string[]): void => {
    const key = path.join('.');
    const description = descriptions.get(key);
    const nested = isMap(node) && Object.keys(node).length > 0;
    if (description !== undefined) {
      const coversChildren = !nested || !hasDescribedDescendant(key);
      rows.push({
        key,
        type: describeType(schemaAt(schema, path), node),
        default: coversChildren ? formatDefault(node) : '',
        description,
      });
      if (coversChildren) return;
    } else if (!nested && path.length > 0) {
      undocumented.push(key);
      return;
    }
    if (isMap(node)) {
      for (const [child, value] of Object.entries(node)) walk(value, [...path, child]);
    }
  };
  walk(isMap(values) ? values : {}, []);
  return { chart: chartName, description: chartDescription, rows, undocumented };
}

export function renderMarkdown(docs: ChartDoc[]): string {
  const out: string[] = [
    '# Helm values reference',
    '',
    '<!-- Generated by `npx tsx scripts/helm-values-docs.ts` from the `# --` comments in each',
    "     chart's values.yaml and the types in its values.schema.json. Do not edit by hand;",
    '     `npx tsx scripts/helm-values-docs.ts --check` fails when this file is stale. -->',
    '',
    'Every value of every chart under `helm/`, with its type, default and description.',
    'Environment files (`helm/todo-app/values-{dev,staging,prod}.yaml`) and the provider',
    'examples (`helm/todo-app/examples/`) override these defaults. In the umbrella chart a',
    "subchart's values sit under the subchart's name (for example `backend.replicaCount`), and",
    '`global.*` is set once for all of them.',
    '',
  ];
  for (const doc of docs) {
    out.push(`## ${doc.chart}`, '');
    if (doc.description) out.push(doc.description, '');
    out.push('| Key | Type | Default | Description |', '|---|---|---|---|');
    for (const row of doc.rows) {
      out.push(`| \`${row.key}\` | ${row.type} | ${row.default} | ${escapeCell(row.description)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

export interface GenerateResult {
  markdown: string;
  undocumented: string[];
}

export function generate(root: string = repoRoot): GenerateResult {
  const docs = CHARTS.map((chart) => documentChart(join(root, 'helm', chart)));
  const undocumented = docs.flatMap((doc) => doc.undocumented.map((key) => `${doc.chart}: ${key}`));
  return { markdown: renderMarkdown(docs), undocumented };
}

function main(argv: string[]): number {
  const unknown = argv.filter((arg) => arg !== '--check' && arg !== '--help');
  if (argv.includes('--help') || unknown.length > 0) {
    const usage = 'Usage: npx tsx scripts/helm-values-docs.ts [--check] [--help]';
    if (unknown.length > 0) {
      console.error(`unknown argument: ${unknown.join(' ')}\n${usage}`);
      return 2;
    }
    console.log(usage);
    return 0;
  }
  const { markdown, undocumented } = generate();
  if (undocumented.length > 0) {
    console.error(`values without a "# --" description:\n  ${undocumented.join('\n  ')}`);
    return 1;
  }
  const target = join(repoRoot, DOC_PATH);
  if (argv.includes('--check')) {
    const current = existsSync(target) ? readFileSync(target, 'utf8') : '';
    if (current !== markdown) {
      console.error(`${DOC_PATH} is stale: run npx tsx scripts/helm-values-docs.ts`);
      return 1;
    }
    console.log(`${DOC_PATH} is current`);
    return 0;
  }
  writeFileSync(target, markdown);
  console.log(`wrote ${DOC_PATH}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
