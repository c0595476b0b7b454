// Locates files that ship with Locus (migrations), wherever the process was started from, and keeps the
// files Locus writes (the data directory, the SQLite database) private to the service user.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findProjectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the Locus project root (package.json)');
    dir = parent;
  }
  return dir;
}

export const projectRoot = findProjectRoot();
export const migrationsDir = (provider: string): string => join(projectRoot, 'prisma', 'migrations', provider);

/**
 * Makes sure the SQLite database file (and its WAL and shared-memory files, which SQLite creates
 * with the database's own mode) is private to the service user: created 0600 when absent, set
 * to 0600 when it exists; a directory it creates is 0700.
 */
export function preparePrivateDatabaseFile(path: string): void {
  if (path === ':memory:' || path === '') return;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
}

/** The data directory, private to the service user even when it already existed (and is ours). */
export function preparePrivateDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = statSync(dir);
  if (typeof process.getuid === 'function' && stat.uid === process.getuid() && (stat.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}
