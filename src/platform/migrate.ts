// Applies the SQL migrations in prisma/migrations/<provider>/ in order, recording them in Prisma's own
// `_prisma_migrations` table (same columns, same checksums), so `prisma migrate status` agrees and
// either tool can take over. Runs in-process at server start and from `locus migrate`: no Prisma CLI,
// no child process. Each migration runs in one transaction with its bookkeeping row.
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Config } from '../config.ts';
import { sha256Hex } from './crypto.ts';
import { migrationsDir, preparePrivateDatabaseFile } from './paths.ts';

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationReport {
  applied: string[];
  /** Applied earlier, but the file has changed since (the database keeps what ran then). */
  modified: string[];
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

// Prisma's advisory lock id, so that this migrator and `prisma migrate deploy` exclude each other.
const PG_MIGRATION_LOCK = 72707369;

export function readMigrations(provider: Config['databaseProvider']): Migration[] {
  const dir = migrationsDir(provider);
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: sha256Hex(sql) };
    });
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

function plan(migrations: Migration[], rows: AppliedRow[]): { pending: Migration[]; modified: string[] } {
  const known = new Set(migrations.map((m) => m.name));
  const failed = rows.filter((r) => r.finished_at === null && r.rolled_back_at === null);
  if (failed.length > 0) {
    throw new MigrationError(
      `migration ${failed.map((r) => r.migration_name).join(', ')} failed earlier and was never resolved; ` +
        'repair the database and mark it with `prisma migrate resolve` before starting Locus',
    );
  }
  const applied = rows.filter((r) => r.finished_at !== null && r.rolled_back_at === null);
  const unknown = applied.filter((r) => !known.has(r.migration_name));
  if (unknown.length > 0) {
    throw new MigrationError(
      `the database has migrations this version of Locus does not know (${unknown.map((r) => r.migration_name).join(', ')}): run a newer Locus`,
    );
  }
  const byName = new Map(applied.map((r) => [r.migration_name, r]));
  return {
    pending: migrations.filter((m) => !byName.has(m.name)),
    modified: migrations.filter((m) => byName.has(m.name) && byName.get(m.name)?.checksum !== m.checksum).map((m) => m.name),
  };
}

const SQLITE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

const PG_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

function migrateSqlite(path: string, migrations: Migration[]): MigrationReport {
  preparePrivateDatabaseFile(path);
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.exec(SQLITE_MIGRATIONS_TABLE);
    // BEGIN IMMEDIATE takes the write lock before reading, so two processes cannot both apply.
    const run = db.transaction(() => {
      const rows = db.prepare('SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"').all() as AppliedRow[];
      const { pending, modified } = plan(migrations, rows);
      for (const migration of pending) {
        const startedAt = new Date().toISOString();
        try {
          db.exec(migration.sql);
        } catch (error) {
          throw new MigrationError(`migration ${migration.name} failed: ${(error as Error).message}`);
        }
        db.prepare(
          'INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES (?, ?, ?, ?, ?, 1)',
        ).run(randomUUID(), migration.checksum, new Date().toISOString(), migration.name, startedAt);
      }
      return { applied: pending.map((m) => m.name), modified };
    });
    return run.immediate();
  } finally {
    db.close();
  }
}

async function migratePostgres(url: string, migrations: Migration[]): Promise<MigrationReport> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PG_MIGRATION_LOCK]);
    await client.query(PG_MIGRATIONS_TABLE);
    const { rows } = await client.query<AppliedRow>('SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations');
    const { pending, modified } = plan(migrations, rows);
    for (const migration of pending) {
      await client.query('BEGIN');
      try {
        const startedAt = new Date();
        await client.query(migration.sql);
        await client.query(
          'INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES ($1, $2, now(), $3, $4, 1)',
          [randomUUID(), migration.checksum, migration.name, startedAt],
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new MigrationError(`migration ${migration.name} failed: ${(error as Error).message}`);
      }
    }
    return { applied: pending.map((m) => m.name), modified };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [PG_MIGRATION_LOCK]).catch(() => undefined);
    await client.end();
  }
}

export async function migrate(config: Pick<Config, 'databaseProvider' | 'databaseUrl' | 'sqlitePath'>): Promise<MigrationReport> {
  const migrations = readMigrations(config.databaseProvider);
  if (config.databaseProvider === 'sqlite') {
    if (!config.sqlitePath) throw new MigrationError('no SQLite path configured');
    return migrateSqlite(config.sqlitePath, migrations);
  }
  return migratePostgres(config.databaseUrl, migrations);
}
