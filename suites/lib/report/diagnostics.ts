// The diagnostics bundle written when a check fails: describe-like dumps of the release's
// objects, events, the last 200 log lines of every container (init and daprd included) read
// through the API, and `helm status` / `helm history` when a helm binary is at hand. Each
// failing check gets one HTML page that shows its pods' state, events and logs inline, so a
// reader needs no other file. Everything passes through the redactor; Secrets themselves are
// never dumped.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import type * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { CheckResult } from '../check.js';
import { oneLine } from '../errors.js';
import type { Kube } from '../kube.js';
import type { Redactor } from '../redact.js';
import { withTimeout } from '../wait.js';
import { htmlEscape, pageStyle } from './html.js';

const execFileAsync = promisify(execFile);
export const logTailLines = 200;
const callTimeoutMs = 10_000;

export function findHelm(explicit: string | undefined, env: Record<string, string | undefined> = process.env): string | undefined {
  if (explicit) return existsSync(explicit) ? explicit : undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'helm'))) return join(dir, 'helm');
  }
  // Where the project's sandbox installs its tools (scripts/sandbox/install-tools.sh).
  const sandbox = join(env.TODO_SANDBOX_HOME ?? join(homedir(), '.cache/todo-sandbox'), 'bin/helm');
  return existsSync(sandbox) ? sandbox : undefined;
}

/** An object without the noise that makes dumps unreadable. */
function clean<T extends { metadata?: k8s.V1ObjectMeta }>(object: T): T {
  const copy = JSON.parse(JSON.stringify(object)) as T;
  if (copy.metadata) delete copy.metadata.managedFields;
  return copy;
}

const fileSafe = (name: string) => name.replace(/[^a-zA-Z0-9._-]/g, '_');

export interface DiagnosticsInput {
  kube: Kube;
  namespace: string;
  release: string;
  kubeconfig: string | undefined;
  context: string;
  helmBinary: string | undefined;
  redactor: Redactor;
  /** Absolute directory of the run; the bundle goes in `<runDir>/diagnostics`. */
  runDir: string;
}

async function settle<T>(what: string, work: () => Promise<T>): Promise<T | string> {
  try {
    return await withTimeout(what, callTimeoutMs, () => work());
  } catch (error) {
    return `${what} failed: ${oneLine(error)}`;
  }
}

function eventLine(e: k8s.CoreV1Event): string {
  const when = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  const whenText = when instanceof Date ? when.toISOString() : String(when ?? '');
  return `${whenText} ${e.type ?? ''} ${e.reason ?? ''} ${e.involvedObject?.kind}/${e.involvedObject?.name}: ${e.message ?? ''}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ''}`;
}

/** Write the bundle; returns the relative path of each failing check's page, by check id. */
export async function writeDiagnostics(input: DiagnosticsInput, failed: CheckResult[]): Promise<Map<string, string>> {
  const { kube, namespace, redactor } = input;
  const dir = join(input.runDir, 'diagnostics');
  await mkdir(join(dir, 'pods'), { recursive: true });
  await mkdir(join(dir, 'logs'), { recursive: true });
  await mkdir(join(dir, 'checks'), { recursive: true });
  // What each file holds after scrubbing, for the check pages that show it inline.
  const written = new Map<string, string>();
  const write = (path: string, text: string) => {
    const safe = redactor.scrub(text);
    written.set(path, safe);
    return writeFile(join(dir, path), safe);
  };

  const [pods, events, deployments, statefulSets, jobs, services, replicaSets] = await Promise.all([
    settle('list pods', () => kube.core.listNamespacedPod({ namespace })),
    settle('list events', () => kube.core.listNamespacedEvent({ namespace })),
    settle('list deployments', () => kube.apps.listNamespacedDeployment({ namespace })),
    settle('list statefulsets', () => kube.apps.listNamespacedStatefulSet({ namespace })),
    settle('list jobs', () => kube.batch.listNamespacedJob({ namespace })),
    settle('list services', () => kube.core.listNamespacedService({ namespace })),
    settle('list replicasets', () => kube.apps.listNamespacedReplicaSet({ namespace })),
  ]);
  const eventItems = typeof events === 'string' ? [] : [...events.items].sort((a, b) => eventLine(a).localeCompare(eventLine(b)));
  await write('events.txt', typeof events === 'string' ? events : eventItems.map(eventLine).join('\n') + '\n');

  const dump = (value: unknown) =>
    typeof value === 'string' ? value : stringify((value as { items: { metadata?: k8s.V1ObjectMeta }[] }).items.map(clean));
  await write('workloads.yaml', ['# Deployments', dump(deployments), '# StatefulSets', dump(statefulSets), '# ReplicaSets', dump(replicaSets), '# Jobs', dump(jobs), '# Services', dump(services)].join('\n---\n'));

  const podItems = typeof pods === 'string' ? [] : pods.items;
  const podFiles = new Map<string, string[]>();
  const logJobs: (() => Promise<void>)[] = [];
  for (const pod of podItems) {
    const name = pod.metadata?.name ?? 'unknown';
    const files: string[] = [];
    const podEvents = eventItems.filter((e) => e.involvedObject?.name === name).map(eventLine);
    const describe = [
      `Name: ${name}`,
      `Phase: ${pod.status?.phase}`,
      `Node: ${pod.spec?.nodeName ?? '(not scheduled)'}`,
      `Conditions: ${(pod.status?.conditions ?? []).map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}`).join(', ')}`,
      ...[...(pod.status?.initContainerStatuses ?? []).map((s) => ({ s, kind: 'init' })), ...(pod.status?.containerStatuses ?? []).map((s) => ({ s, kind: 'container' }))].map(
        ({ s, kind }) => `${kind} ${s.name}: ready=${s.ready} restarts=${s.restartCount} state=${JSON.stringify(s.state)} last=${JSON.stringify(s.lastState ?? {})}`,
      ),
      'Events:',
      ...(podEvents.length ? podEvents : ['  (none)']),
      '',
      '# Object',
      stringify(clean(pod)),
    ].join('\n');
    const podFile = `pods/${fileSafe(name)}.txt`;
    files.push(podFile);
    await write(podFile, describe);
    const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
    for (const container of containers) {
      const logFile = `logs/${fileSafe(name)}__${fileSafe(container.name)}.log`;
      files.push(logFile);
      const restarted = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].some((s) => s.name === container.name && s.restartCount > 0);
      logJobs.push(async () => {
        const current = await settle(`logs of ${name}/${container.name}`, () => kube.core.readNamespacedPodLog({ name, namespace, container: container.name, tailLines: logTailLines }));
        let text = `# last ${logTailLines} lines of ${name}/${container.name}\n${current}`;
        if (restarted) {
          const previous = await settle('previous logs', () => kube.core.readNamespacedPodLog({ name, namespace, container: container.name, tailLines: logTailLines, previous: true }));
          text += `\n# previous instance\n${previous}`;
        }
        await write(logFile, text);
      });
    }
    podFiles.set(name, files);
  }
  // A few at a time: the API server and a slow kubelet should not see 50 log streams at once.
  for (let i = 0; i < logJobs.length; i += 6) await Promise.all(logJobs.slice(i, i + 6).map((job) => job()));

  const helm = findHelm(input.helmBinary);
  if (helm) {
    const env = { ...process.env, ...(input.kubeconfig ? { KUBECONFIG: input.kubeconfig } : {}) };
    const context = input.context !== 'in-cluster' ? ['--kube-context', input.context] : [];
    for (const [file, args] of [
      ['helm-status.txt', ['status', input.release, '-n', namespace, ...context]],
      ['helm-history.txt', ['history', input.release, '-n', namespace, ...context]],
    ] as const) {
      try {
        const { stdout, stderr } = await execFileAsync(helm, [...args], { env, timeout: 30_000 });
        await write(file, `$ helm ${args.join(' ')}\n${stdout}${stderr}`);
      } catch (error) {
        await write(file, `$ helm ${args.join(' ')}\nfailed: ${oneLine(error)}\n`);
      }
    }
  } else {
    await write('helm-status.txt', 'no helm binary found (PATH, TODO_SUITE_HELM); helm status and history not collected\n');
  }

  const pages = new Map<string, string>();
  const inline = (file: string, open: boolean) =>
    `<details${open ? ' open' : ''}><summary><a href="../${htmlEscape(file)}">${htmlEscape(file)}</a></summary><pre>${htmlEscape(written.get(file) ?? '(not collected)')}</pre></details>`;
  // A pod's state and events are shown; its whole object only on request.
  const describePod = (file: string) => {
    const [state = '', object] = (written.get(file) ?? '(not collected)').split('\n# Object\n');
    const objectPart = object === undefined ? '' : `<details><summary>the pod object</summary><pre>${htmlEscape(object)}</pre></details>`;
    return `<p><a href="../${htmlEscape(file)}">${htmlEscape(file)}</a></p><pre>${htmlEscape(state.trimEnd())}</pre>${objectPart}`;
  };
  for (const result of failed) {
    const named = (pod: string) => (result.reason.includes(pod) || (result.actual ?? '').includes(pod) ? 0 : 1);
    // The pods the failure names come first.
    const involved = (result.pods.length > 0 ? [...result.pods] : [...podFiles.keys()]).sort((a, b) => named(a) - named(b));
    const podSections = involved
      .filter((pod) => podFiles.has(pod))
      .map((pod) => {
        const [describe, ...logs] = podFiles.get(pod) ?? [];
        return `<h3>pod ${htmlEscape(pod)}</h3>${describe ? describePod(describe) : ''}${logs.map((file) => inline(file, false)).join('')}`;
      });
    const namespaceFiles = ['workloads.yaml', 'helm-status.txt', ...(helm ? ['helm-history.txt'] : [])];
    const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${htmlEscape(result.id)}: diagnostics</title>${pageStyle}</head><body>
<p><a href="../../report.html#${htmlEscape(result.id)}">back to the report</a> · <a href="../index.html">all diagnostics</a></p>
<h1><span class="badge ${result.verdict}">${result.verdict}</span> ${htmlEscape(result.id)}</h1>
<p>${htmlEscape(result.reason)}</p>
${result.expected !== undefined ? `<p class="ea">expected: ${htmlEscape(result.expected)}${result.actual !== undefined && result.actual !== result.reason ? `<br>actual: ${htmlEscape(result.actual)}` : ''}</p>` : ''}
${(result.artifacts ?? []).map((file) => (file.endsWith('.png') ? `<h2>${htmlEscape(basename(file))}</h2><p><a href="../../${htmlEscape(file)}"><img src="../../${htmlEscape(file)}" alt="${htmlEscape(basename(file))}" style="max-width:100%;border:1px solid #ccc"></a></p>` : `<p><a href="../../${htmlEscape(file)}">${htmlEscape(file)}</a></p>`)).join('\n')}
${result.evidence.length ? `<h2>Evidence</h2><pre>${htmlEscape(result.evidence.join('\n'))}</pre>` : ''}
<h2>Pods involved</h2>
${podSections.length ? podSections.join('\n') : '<p>(none)</p>'}
<h2>Namespace</h2>
${inline('events.txt', involved.length === 0)}
${namespaceFiles.map((file) => inline(file, false)).join('\n')}
</body></html>
`;
    const path = `checks/${fileSafe(result.id)}.html`;
    await write(path, page);
    pages.set(result.id, `diagnostics/${path}`);
  }
  await write(
    'index.html',
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Diagnostics</title>${pageStyle}</head><body>
<p><a href="../report.html">back to the report</a></p>
<h1>Diagnostics</h1>
<ul>${failed.map((r) => `<li><a href="${htmlEscape(pages.get(r.id)?.replace('diagnostics/', '') ?? '')}">${htmlEscape(r.id)}</a>: ${htmlEscape(r.reason)}</li>`).join('')}</ul>
<h2>Namespace</h2>
<ul>${['events.txt', 'workloads.yaml', 'helm-status.txt', ...(helm ? ['helm-history.txt'] : [])].map((file) => `<li><a href="${file}">${file}</a></li>`).join('')}</ul>
<h2>Pods</h2>
<ul>${[...podFiles.entries()].map(([pod, files]) => `<li>${htmlEscape(pod)}: ${files.map((file) => `<a href="${htmlEscape(file)}">${htmlEscape(file.replace(/^(pods|logs)\//, ''))}</a>`).join(', ')}</li>`).join('')}</ul>
</body></html>
`,
  );
  return pages;
}
