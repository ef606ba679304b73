// `npm run report:unpack [-- --report-dir DIR]`: reads a log from stdin (`helm test ...
// --logs`, `kubectl logs` of the validation Pod, a CI log) and writes the report bundle it
// holds into DIR/<run-id>/ (default reports/), pointing DIR/latest at it.
import { resolve } from 'node:path';
import { parseFlags } from './lib/cli-options.js';
import { endCommand, InputError } from './lib/errors.js';
import { unpackBundle } from './lib/report/bundle.js';

const usage = `Usage: helm test <release> -n <namespace> --logs | npm run report:unpack [-- --report-dir DIR]

Writes the validation Pod's report (junit.xml, report.json, report.html, summary.md,
diagnostics), which the Pod prints to its log as a bundle, into DIR/<run-id>/ (default
reports/) and points DIR/latest at it. Exit 0 when a bundle was found, 2 otherwise.`;

async function main(argv: string[]): Promise<number> {
  if (argv.some((arg) => arg === '--help' || arg === '-h')) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const { values } = parseFlags(argv, { 'report-dir': { type: 'string' } });
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const dir = await unpackBundle(Buffer.concat(chunks).toString('utf8'), resolve(values['report-dir'] ?? 'reports'));
  if (!dir) throw new InputError('usage', 'no report bundle in the input: pipe the validation Pod\'s log into this command (see --help)');
  process.stdout.write(`report: ${dir} (junit.xml, report.json, report.html, summary.md)\n`);
  return 0;
}

endCommand(main(process.argv.slice(2)));
