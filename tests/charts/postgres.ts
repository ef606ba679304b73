/**
 * A database for the install test. The stack's services are Ready only when their database
 * answers (`/ready`), so the test needs one: TODO_SANDBOX_DATABASE_URL when the caller has
 * one, otherwise a throwaway PostgreSQL cluster from the sandbox's tool cache, listening on
 * 127.0.0.1 and removed afterwards. Sandbox-only: on a cloud cluster the database is a
 * managed service named by the app-secrets Secret.
 */
import { chownSync, existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../support/helm.js';

const START_TIMEOUT_MS = 60_000;
/** The unprivileged account PostgreSQL runs as when the tests run as root (it refuses root). */
const UNPRIVILEGED_UID = 65534;
const UNPRIVILEGED_GID = 65534;

export interface TestDatabase {
  url: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function postgresBin(name: string): string {
  const home = process.env.TODO_SANDBOX_HOME ?? join(homedir(), '.cache', 'todo-sandbox');
  const path = join(home, 'tools', 'postgresql-15', 'bin', name);
  if (!existsSync(path)) throw new Error(`${name} is not at ${path}; run: bash scripts/sandbox/install-tools.sh --only postgresql`);
  // The cache links to the distribution's binaries; resolve the link so that the
  // unprivileged user, who cannot enter root's home, runs them from their real place.
  return realpathSync(path);
}

async function asPostgresUser(command: string, args: string[], timeoutMs: number) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const result = isRoot
    ? await run('setpriv', [`--reuid=${UNPRIVILEGED_UID}`, `--regid=${UNPRIVILEGED_GID}`, '--clear-groups', command, ...args], { timeoutMs })
    : await run(command, args, { timeoutMs });
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result;
}

export async function startTestDatabase(): Promise<TestDatabase> {
  const given = process.env.TODO_SANDBOX_DATABASE_URL;
  if (given) return { url: given, stop: async () => {} };

  const dir = mkdtempSync(join(tmpdir(), 'charts-pg-'));
  const dataDir = join(dir, 'data');
  if (typeof process.getuid === 'function' && process.getuid() === 0) chownSync(dir, UNPRIVILEGED_UID, UNPRIVILEGED_GID);
  const port = await freePort();
  const pgCtl = postgresBin('pg_ctl');
  await asPostgresUser(postgresBin('initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync'], START_TIMEOUT_MS);
  await asPostgresUser(
    pgCtl,
    ['-D', dataDir, '-l', join(dir, 'postgres.log'), '-w', '-t', '60', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start'],
    START_TIMEOUT_MS,
  );
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await asPostgresUser(pgCtl, ['-D', dataDir, '-m', 'fast', '-w', 'stop'], START_TIMEOUT_MS).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
