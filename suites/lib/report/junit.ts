// JUnit XML in the shape CI systems import (Jenkins, GitLab, GitHub actions that read
// JUnit): one testsuite per group, one testcase per check, failure text with expected and
// actual. Validated against tests/suite/fixtures/junit.xsd in the unit tests.
import { hostname } from 'node:os';
import type { CheckResult } from '../check.js';
import type { RunReport } from './model.js';

// XML 1.0 forbids most control characters even when escaped; logs and error text can hold them.
const invalidXml = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function xmlEscape(text: string): string {
  return text
    .replace(invalidXml, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);
// xs:dateTime without fractional seconds keeps the strictest importers happy.
const stamp = (iso: string) => iso.replace(/\.\d+Z$/, 'Z');

function failureBody(result: CheckResult): string {
  const lines = [result.reason];
  if (result.expected !== undefined) lines.push(`expected: ${result.expected}`);
  if (result.actual !== undefined) lines.push(`actual: ${result.actual}`);
  for (const m of result.measurements) {
    lines.push(`measured ${m.name}: ${m.value} ${m.unit}${m.limit !== undefined ? ` (limit ${m.comparator ?? '<='} ${m.limit} ${m.unit})` : ''}`);
  }
  if (result.diagnostics) lines.push(`diagnostics: ${result.diagnostics}`);
  return lines.join('\n');
}

function testcase(result: CheckResult): string {
  const open = `    <testcase name="${xmlEscape(`${result.id}: ${result.title}`)}" classname="${xmlEscape(`todo-validation.${result.group}`)}" time="${seconds(result.durationMs)}">`;
  const parts = [open];
  if (result.verdict === 'fail') {
    parts.push(`      <failure message="${xmlEscape(result.reason)}" type="CheckFailure">${xmlEscape(failureBody(result))}</failure>`);
  } else if (result.verdict === 'skip') {
    parts.push(`      <skipped message="${xmlEscape(result.reason)}"/>`);
  }
  const out = [
    `criterion: ${result.criterion}`,
    `verdict: ${result.verdict}: ${result.reason}`,
    ...result.measurements.map((m) => `${m.name}: ${m.value} ${m.unit}${m.limit !== undefined ? ` (limit ${m.limit})` : ''}`),
    ...result.evidence,
  ];
  parts.push(`      <system-out>${xmlEscape(out.join('\n'))}</system-out>`);
  parts.push('    </testcase>');
  return parts.join('\n');
}

/**
 * One testsuite per group of the run. Several contexts in one file: each suite's name starts
 * with the context, and ids go on from `firstId`.
 */
export function junitSuites(report: RunReport, options: { namePrefix?: string; firstId?: number } = {}): string[] {
  const groups = new Map<string, CheckResult[]>();
  for (const result of report.results) groups.set(result.group, [...(groups.get(result.group) ?? []), result]);
  const host = xmlEscape(hostname());
  return [...groups.entries()].map(([group, results], index) => {
    const count = (verdict: CheckResult['verdict']) => results.filter((r) => r.verdict === verdict).length;
    const time = results.reduce((sum, r) => sum + r.durationMs, 0);
    const first = results.map((r) => r.startedAt).sort()[0] ?? report.startedAt;
    return [
      `  <testsuite name="${xmlEscape((options.namePrefix ?? '') + group)}" id="${index + (options.firstId ?? 0)}" package="todo-validation" tests="${results.length}" failures="${count('fail')}" errors="0" skipped="${count('skip')}" time="${seconds(time)}" timestamp="${stamp(first)}" hostname="${host}">`,
      '    <properties>',
      `      <property name="context" value="${xmlEscape(report.target.context)}"/>`,
      `      <property name="namespace" value="${xmlEscape(report.target.namespace)}"/>`,
      `      <property name="release" value="${xmlEscape(`${report.target.release}${report.target.revision > 0 ? ` r${report.target.revision}` : ''}`)}"/>`,
      `      <property name="run-id" value="${xmlEscape(report.runId)}"/>`,
      '    </properties>',
      ...results.map(testcase),
      '  </testsuite>',
    ].join('\n');
  });
}

export function renderJUnit(report: RunReport): string {
  return junitDocument(junitSuites(report), report);
}

/** The file around the testsuites: the totals, time and start of the whole run. */
export function junitDocument(suites: string[], run: Pick<RunReport, 'totals' | 'durationMs' | 'startedAt'>): string {
  const t = run.totals;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="todo-validation" tests="${t.total}" failures="${t.failed}" errors="0" skipped="${t.skipped}" time="${seconds(run.durationMs)}" timestamp="${stamp(run.startedAt)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
