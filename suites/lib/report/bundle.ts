// A validation Pod's report directory dies with the Pod; its log does not. The in-cluster
// run prints the whole directory (already scrubbed of secrets) as a gzip'd, base64 bundle
// between two marker lines, and `npm run report:unpack` writes it back from any text that
// holds it: `helm test ... --logs`, `kubectl logs`, a CI log.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { pointLatest } from './index.js';

export const bundleBegin = '--- todo-validation report bundle: begin ---';
export const bundleEnd = '--- todo-validation report bundle: end ---';

interface Bundle {
  runId: string;
  files: Record<string, string>;
}

async function filesBelow(dir: string, root = dir): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await filesBelow(path, root)));
    else if (entry.isFile()) found.push(relative(root, path));
  }
  return found;
}

/** The marker lines and the bundle of every file of a run's report directory. */
export async function bundleLines(runDir: string, runId: string): Promise<string[]> {
  const bundle: Bundle = { runId, files: {} };
  for (const file of (await filesBelow(runDir)).sort()) bundle.files[file.split(sep).join('/')] = await readFile(join(runDir, file), 'utf8');
  const encoded = gzipSync(Buffer.from(JSON.stringify(bundle))).toString('base64');
  const lines = [bundleBegin];
  for (let i = 0; i < encoded.length; i += 76) lines.push(encoded.slice(i, i + 76));
  lines.push(bundleEnd);
  return lines;
}

/**
 * Writes the last bundle found in TEXT into reportDir/<runId>/ and points reportDir/latest
 * at it; returns that directory, or undefined when TEXT holds no bundle.
 */
export async function unpackBundle(text: string, reportDir: string): Promise<string | undefined> {
  const end = text.lastIndexOf(bundleEnd);
  const begin = text.lastIndexOf(bundleBegin, end);
  if (begin < 0 || end < 0) return undefined;
  // Log prefixes (a timestamp, a pod name) may precede each line: keep only base64.
  const body = text
    .slice(begin + bundleBegin.length, end)
    .split('\n')
    .map((line) => /([A-Za-z0-9+/=]+)\s*$/.exec(line)?.[1] ?? '')
    .join('');
  const bundle = JSON.parse(gunzipSync(Buffer.from(body, 'base64')).toString('utf8')) as Bundle;
  if (!/^[\w.-]+$/.test(bundle.runId)) throw new Error(`the bundle names an unusable run id "${bundle.runId}"`);
  const dir = join(reportDir, bundle.runId);
  for (const [file, content] of Object.entries(bundle.files)) {
    const path = normalize(join(dir, file));
    if (!path.startsWith(dir + sep)) throw new Error(`the bundle holds a path outside its run directory: ${file}`);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
  await pointLatest(reportDir, bundle.runId);
  return dir;
}
