#!/usr/bin/env -S npx tsx
/**
 * Generates docs/helm-values-schema.md, the reference of every chart value, from the
 * helm-docs style comments (`# -- description`) in each chart's values.yaml, the defaults in
 * that file and the types in its values.schema.json. The values files are the only source:
 * the reference is never written by hand.
 *
 * The reference has three parts, in the order a deployer needs them:
 *   1. what values-dev.yaml, values-staging.yaml and values-prod.yaml change against the
 *      defaults, side by side (computed from the files, never written by hand);
 *   2. the keys several charts declare identically (same path, type, default, description),
 *      documented once per group of charts;
 *   3. per chart, the keys that are its own or that differ from another chart's.
 *
 * Usage: npx tsx scripts/helm-values-docs.ts [--check] [--help]
 *   --check  exit 1 when the reference is stale or a value has no description; write nothing
 *
 * Documentation rule: a key carries a `# --` comment on the lines right above it
 * (continuation lines start with `# `). A documented map whose keys carry no comments of
 * their own is documented as a whole (one entry, its default shown as a YAML block);
 * otherwise every leaf needs its own comment, and the generator names the ones that lack it.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { parse, stringify } from 'yaml';

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

/** The umbrella chart: its environment files and its values over the subcharts' defaults. */
export const UMBRELLA = 'todo-app';

/** Environment files of the umbrella chart, in the order the table shows them. */
export const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

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
  /**
   * True when the entry documents its whole subtree and so shows a default; false for a map
   * whose keys have entries of their own.
   */
  covers: boolean;
  /** The default from values.yaml (null when `covers` is false). */
  default: Json;
  description: string;
  /**
   * True for a free map of names to scalars (labels, annotations, ConfigMap data, env): Helm
   * merges such a map key by key, so the environment table shows each key on its own row.
   */
  scalarMap: boolean;
}

export interface ChartDoc {
  chart: string;
  description: string;
  /** The chart's values.yaml, parsed. */
  values: Record<string, Json>;
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

const SCALAR_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null']);

/** One value on one line as a values file would write it: a YAML scalar or flow collection. */
function inlineYaml(value: Json): string {
  return stringify(value, { collectionStyle: 'flow', flowCollectionPadding: false, lineWidth: 0 }).trimEnd();
}

/** A value as block YAML, the way the values files lay out maps and lists. */
function blockYaml(value: Json): string {
  return stringify(value, { lineWidth: 0 }).trimEnd();
}

/** Inline code; a value holding a backtick needs a longer fence. */
function code(text: string): string {
  return text.includes('`') ? '`` ' + text + ' ``' : '`' + text + '`';
}

/** A map or list with something in it: shown as a YAML block rather than inline. */
function isNonEmptyCollection(value: Json): boolean {
  return Array.isArray(value) ? value.length > 0 : isMap(value) && Object.keys(value).length > 0;
}

function describeType(schema: JsonSchema | undefined, value: Json | undefined): string {
  if (schema?.enum) return schema.enum.map((option) => code(inlineYaml(option))).join(' | ');
  if (schema?.type) return Array.isArray(schema.type) ? schema.type.join(' | ') : schema.type;
  if (Array.isArray(value)) return 'array';
  if (value === null || value === undefined) return 'null';
  if (isMap(value)) return 'object';
  return typeof value === 'number' ? (Number.isInteger(value) ? 'integer' : 'number') : typeof value;
}

/** True when the schema describes a free map of names to scalars, with no fixed keys. */
function isScalarMapSchema(schema: JsonSchema | undefined): boolean {
  if (!schema || schema.properties || typeof schema.additionalProperties !== 'object') return false;
  const item = schema.additionalProperties;
  const types = item.type === undefined ? [] : Array.isArray(item.type) ? item.type : [item.type];
  return types.length > 0 && types.every((type) => SCALAR_TYPES.has(type));
}

/** Builds the entries of one chart, and the paths that lack a description. */
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
      const covers = !nested || !hasDescribedDescendant(key);
      const nodeSchema = schemaAt(schema, path);
      rows.push({
        key,
        type: describeType(nodeSchema, node),
        covers,
        default: covers ? (node ?? null) : null,
        description,
        scalarMap: isScalarMapSchema(nodeSchema),
      });
      if (covers) return;
    } else if (!nested && path.length > 0) {
      undocumented.push(key);
      return;
    }
    if (isMap(node)) {
      for (const [child, value] of Object.entries(node)) walk(value, [...path, child]);
    }
  };
  const valuesMap = isMap(values) ? values : {};
  walk(valuesMap, []);
  return { chart: chartName, description: chartDescription, values: valuesMap, rows, undocumented };
}

// ---------------------------------------------------------------------------------------
// Environment table

/**
 * Helm's merge of an override over a default: maps merge key by key, a null removes the
 * key, anything else (lists included) replaces the default.
 */
export function helmMerge(base: Json | undefined, override: Json): Json {
  if (!isMap(base) || !isMap(override)) return override;
  const merged: Record<string, Json> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === null) delete merged[key];
    else merged[key] = helmMerge(merged[key], value);
  }
  return merged;
}

/**
 * The values an umbrella release starts from before any -f file: each subchart's defaults
 * under its name, the subcharts' `global` maps together, and the umbrella's values.yaml
 * over all of it (Helm hands the umbrella's `global` to every subchart over its own).
 */
export function stackDefaults(
  umbrella: Record<string, Json>,
  subcharts: Record<string, Record<string, Json>>,
): Record<string, Json> {
  let stack: Json = { global: {} };
  for (const [name, values] of Object.entries(subcharts)) {
    const { global, ...own } = values;
    stack = helmMerge(stack, { global: global ?? {}, [name]: own });
  }
  const merged = helmMerge(stack, umbrella);
  return isMap(merged) ? merged : {};
}

/** Says whether the map at a path is one value in the table (true) or one row per key. */
export type IsUnit = (path: string[]) => boolean;

/** Flattens values to paths and leaf values, descending into maps that are not units. */
export function flattenValues(values: Json, isUnit: IsUnit, prefix: string[] = []): [string[], Json][] {
  const leaf = !isMap(values) || Object.keys(values).length === 0 || (prefix.length > 0 && isUnit(prefix));
  if (leaf) return prefix.length > 0 ? [[prefix, values]] : [];
  return Object.entries(values).flatMap(([key, value]) => flattenValues(value, isUnit, [...prefix, key]));
}

function valueAt(values: Json, path: string[]): Json | undefined {
  let node: Json | undefined = values;
  for (const key of path) {
    if (!isMap(node)) return undefined;
    node = node[key];
  }
  return node;
}

export interface EnvironmentRow {
  path: string;
  /** The default; undefined when no defaults file sets the path. */
  default: Json | undefined;
  /** Per environment, the value it ends up with, or undefined where it keeps the default. */
  values: (Json | undefined)[];
}

/**
 * One row per path that at least one environment changes, in the order of the defaults.
 * A cell holds the value after Helm merges the environment file over the defaults, so a
 * file that restates a default leaves its cell empty, and a partial map shows in full.
 */
export function environmentTable(
  defaults: Record<string, Json>,
  environments: Record<string, Json>[],
  isUnit: IsUnit,
): EnvironmentRow[] {
  const paths = new Map<string, string[]>();
  for (const source of [defaults, ...environments]) {
    for (const [path] of flattenValues(source, isUnit)) {
      const key = path.join('.');
      if (!paths.has(key)) paths.set(key, path);
    }
  }
  const rows: EnvironmentRow[] = [];
  for (const [key, path] of paths) {
    const base = valueAt(defaults, path);
    const values = environments.map((environment): Json | undefined => {
      const set = valueAt(environment, path);
      if (set === undefined) return undefined;
      const effective = helmMerge(base, set);
      return isDeepStrictEqual(effective, base) ? undefined : effective;
    });
    if (values.some((value) => value !== undefined)) rows.push({ path: key, default: base, values });
  }
  return rows;
}

/**
 * The units of the umbrella's values: a map a chart documents as a whole (resources, probes)
 * is one row; a free map of names to scalars (ConfigMap data, env) changes key by key, so
 * each of its keys is a row.
 */
function stackUnits(docs: ChartDoc[]): IsUnit {
  const whole = new Set<string>();
  for (const doc of docs) {
    for (const row of doc.rows) {
      if (row.covers && !row.scalarMap) whole.add(doc.chart === UMBRELLA ? row.key : `${doc.chart}.${row.key}`);
    }
  }
  return (path) => whole.has(path.join('.'));
}

/** The environment table of the real charts and environment files. */
export function stackEnvironmentTable(docs: ChartDoc[], environments: Record<string, Json>[]): EnvironmentRow[] {
  const umbrella = docs.find((doc) => doc.chart === UMBRELLA);
  const subcharts = Object.fromEntries(
    docs.filter((doc) => doc.chart !== UMBRELLA).map((doc): [string, Record<string, Json>] => [doc.chart, doc.values]),
  );
  return environmentTable(stackDefaults(umbrella?.values ?? {}, subcharts), environments, stackUnits(docs));
}

// ---------------------------------------------------------------------------------------
// Shared keys

/** A key as one or more charts declare it identically. */
interface Variant {
  charts: string[];
  row: ValueRow;
}

/** An entry of a section: the key, and how other charts declare the same path differently. */
export interface Entry {
  row: ValueRow;
  note: string;
}

export interface SharedSection {
  charts: string[];
  entries: Entry[];
}

export interface ChartSection {
  doc: ChartDoc;
  /** The shared sections that hold some of this chart's keys. */
  shared: SharedSection[];
  /** The keys that are the chart's own or differ from every other chart's. */
  entries: Entry[];
}

export interface Layout {
  shared: SharedSection[];
  charts: ChartSection[];
}

function sameDeclaration(a: ValueRow, b: ValueRow): boolean {
  return a.type === b.type && a.description === b.description && a.covers === b.covers && isDeepStrictEqual(a.default, b.default);
}

/** "a", "a and b", "a, b and c". */
function humanList(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1] ?? ''}`;
}

/** Says how the other declarations of a key differ from this one, grouped by what differs. */
function differenceNote(own: Variant, variants: Variant[]): string {
  const byFields = new Map<string, string[]>();
  for (const other of variants) {
    if (other === own) continue;
    const fields: string[] = [];
    if (other.row.type !== own.row.type) fields.push('type');
    if (other.row.covers !== own.row.covers || !isDeepStrictEqual(other.row.default, own.row.default)) fields.push('default');
    if (other.row.description !== own.row.description) fields.push('description');
    const text = humanList(fields);
    byFields.set(text, [...(byFields.get(text) ?? []), ...other.charts]);
  }
  const parts = [...byFields].map(([fields, charts]) => `from ${humanList(charts)} in its ${fields}`);
  return parts.length > 0 ? `Differs ${parts.join('; ')}.` : '';
}

/**
 * Splits every chart's keys into shared sections (a key several charts declare identically,
 * documented once) and each chart's own keys, keeping the order of the values files.
 */
export function layoutSections(docs: ChartDoc[]): Layout {
  const variantsByKey = new Map<string, Variant[]>();
  for (const doc of docs) {
    for (const row of doc.rows) {
      const variants = variantsByKey.get(row.key) ?? [];
      const same = variants.find((variant) => sameDeclaration(variant.row, row));
      if (same) same.charts.push(doc.chart);
      else variants.push({ charts: [doc.chart], row });
      variantsByKey.set(row.key, variants);
    }
  }

  const sharedByCharts = new Map<string, SharedSection>();
  const charts: ChartSection[] = [];
  for (const doc of docs) {
    const section: ChartSection = { doc, shared: [], entries: [] };
    for (const row of doc.rows) {
      const variants = variantsByKey.get(row.key) ?? [];
      const own = variants.find((variant) => variant.charts.includes(doc.chart));
      if (!own) continue;
      const entry: Entry = { row, note: differenceNote(own, variants) };
      if (own.charts.length < 2) {
        section.entries.push(entry);
        continue;
      }
      const groupKey = own.charts.join(',');
      let shared = sharedByCharts.get(groupKey);
      if (!shared) {
        shared = { charts: own.charts, entries: [] };
        sharedByCharts.set(groupKey, shared);
      }
      // The first chart of the group adds the entry; the others only point to the section.
      if (own.charts[0] === doc.chart) shared.entries.push(entry);
      if (!section.shared.includes(shared)) section.shared.push(shared);
    }
    charts.push(section);
  }
  // Sections shared by more charts come first: they hold the keys most charts have.
  const shared = [...sharedByCharts.values()].sort((a, b) => b.charts.length - a.charts.length);
  for (const section of charts) section.shared.sort((a, b) => shared.indexOf(a) - shared.indexOf(b));
  return { shared, charts };
}

// ---------------------------------------------------------------------------------------
// Markdown

function sharedTitle(section: SharedSection): string {
  return `Shared by ${humanList(section.charts)}`;
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return '#' + heading.toLowerCase().replace(/[^a-z0-9 _-]/g, '').replace(/ /g, '-');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function renderEntry(entry: Entry): string[] {
  const { row } = entry;
  const block = row.covers && isNonEmptyCollection(row.default);
  const inlineDefault = row.covers && !block ? `, default ${code(inlineYaml(row.default))}` : '';
  const note = entry.note ? ` _${entry.note}_` : '';
  const line = `- \`${row.key}\` (${row.type}${inlineDefault}): ${row.description}${note}`;
  if (!block) return [line];
  const yamlLines = blockYaml(row.default).split('\n');
  return [`${line} Default:`, '  ```yaml', ...yamlLines.map((text) => `  ${text}`), '  ```'];
}

function renderEnvironmentTable(rows: EnvironmentRow[]): string[] {
  const files = ENVIRONMENTS.map((name) => `[\`values-${name}.yaml\`](../helm/${UMBRELLA}/values-${name}.yaml)`);
  const cell = (value: Json | undefined): string => (value === undefined ? '—' : escapeCell(code(inlineYaml(value))));
  const out = [
    '## Environments',
    '',
    `What ${humanList(files)} change against the`,
    `defaults: \`helm/${UMBRELLA}/values.yaml\` over each subchart's own \`values.yaml\`, a subchart's values`,
    'under its name. A cell shows the value the release ends up with (Helm merges a map into the',
    'default key by key; a list replaces it); — means the environment keeps the default. The',
    `provider files in \`helm/${UMBRELLA}/examples/\` come on top and are not shown here.`,
    '',
    `| Key | Default | ${ENVIRONMENTS.join(' | ')} |`,
    `|---|---|${ENVIRONMENTS.map(() => '---').join('|')}|`,
  ];
  for (const row of rows) {
    const base = row.default === undefined ? '_not set_' : cell(row.default);
    out.push(`| \`${row.path}\` | ${base} | ${row.values.map(cell).join(' | ')} |`);
  }
  out.push('');
  return out;
}

export function renderMarkdown(docs: ChartDoc[], environmentRows: EnvironmentRow[]): string {
  const layout = layoutSections(docs);
  const out: string[] = [
    '# Helm values reference',
    '',
    '<!-- Generated by `npx tsx scripts/helm-values-docs.ts` from the `# --` comments in each',
    "     chart's values.yaml, the types in its values.schema.json and the environment files",
    '     of the umbrella chart. Do not edit by hand; `npx tsx scripts/helm-values-docs.ts --check`',
    '     fails when this file is stale. -->',
    '',
    'Every value of every chart under `helm/`, with its type, default and description. First',
    'what each environment changes; then the keys several charts declare alike, documented once',
    '(the three Dapr services share one implementation, the library chart `todo-common`, and',
    'so most of their keys); then, per chart, the keys that are its own or differ. In the',
    "umbrella chart `todo-app` a subchart's values sit under the subchart's name (for example",
    '`backend.replicaCount`), and `global.*` is set once for all of them. The provider examples',
    `(\`helm/${UMBRELLA}/examples/\`) override the defaults too.`,
    '',
    '## Contents',
    '',
    '- [Environments](#environments)',
    '- Keys shared by several charts',
    ...layout.shared.map((section) => `  - [${sharedTitle(section)}](${anchor(sharedTitle(section))})`),
    '- Keys of one chart',
    ...layout.charts.map((section) => `  - [${section.doc.chart}](${anchor(section.doc.chart)})`),
    '',
    ...renderEnvironmentTable(environmentRows),
  ];
  for (const section of layout.shared) {
    out.push(`## ${sharedTitle(section)}`, '', ...section.entries.flatMap(renderEntry), '');
  }
  for (const section of layout.charts) {
    out.push(`## ${section.doc.chart}`, '');
    if (section.doc.description) out.push(section.doc.description, '');
    if (section.shared.length > 0) {
      out.push('Keys it shares with other charts, documented once:', '');
      out.push(...section.shared.map((shared) => `- [${sharedTitle(shared)}](${anchor(sharedTitle(shared))})`), '');
      out.push('Its own keys, and the ones it declares differently from other charts:', '');
    }
    if (section.entries.length === 0) out.push('_None: every key is shared._');
    out.push(...section.entries.flatMap(renderEntry), '');
  }
  return out.join('\n');
}

export interface GenerateResult {
  markdown: string;
  undocumented: string[];
}

function readValuesFile(path: string): Record<string, Json> {
  const values: unknown = parse(readFileSync(path, 'utf8'));
  return isMap(values) ? values : {};
}

/** The umbrella's environment files, in the order of ENVIRONMENTS. */
export function readEnvironments(root: string = repoRoot): Record<string, Json>[] {
  return ENVIRONMENTS.map((name) => readValuesFile(join(root, 'helm', UMBRELLA, `values-${name}.yaml`)));
}

export function documentCharts(root: string = repoRoot): ChartDoc[] {
  return CHARTS.map((chart) => documentChart(join(root, 'helm', chart)));
}

export function generate(root: string = repoRoot): GenerateResult {
  const docs = documentCharts(root);
  const undocumented = docs.flatMap((doc) => doc.undocumented.map((key) => `${doc.chart}: ${key}`));
  const environmentRows = stackEnvironmentTable(docs, readEnvironments(root));
  return { markdown: renderMarkdown(docs, environmentRows), undocumented };
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
