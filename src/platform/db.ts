// The Prisma client for DATABASE_URL: better-sqlite3 (WAL) for file: URLs, pg for postgresql: URLs.
// Both clients are generated from one model (prisma/schema.prisma), so they share one type.
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient as PgPrismaClient } from '../generated/pg/client.ts';
import { PrismaClient as SqlitePrismaClient } from '../generated/sqlite/client.ts';
import type { Config } from '../config.ts';

export type Db = PgPrismaClient;

export async function createDb(config: Pick<Config, 'databaseProvider' | 'databaseUrl' | 'sqlitePath'>): Promise<Db> {
  if (config.databaseProvider === 'postgresql') {
    // A connection attempt gives up after 5 s: an unreachable database is a 503, never a hang.
    return new PgPrismaClient({ adapter: new PrismaPg({ connectionString: config.databaseUrl, max: 10, connectionTimeoutMillis: 5_000 }) });
  }
  const client = new SqlitePrismaClient({
    adapter: new PrismaBetterSQLite3({ url: `file:${config.sqlitePath}`, timeout: 5000 }),
  });
  // WAL lets readers run beside the writer and roughly triples write throughput; NORMAL sync is
  // durable across process crashes (an OS crash may lose the last transactions, never corrupt).
  await client.$queryRawUnsafe('PRAGMA journal_mode = WAL');
  await client.$queryRawUnsafe('PRAGMA synchronous = NORMAL');
  await client.$queryRawUnsafe('PRAGMA foreign_keys = ON');
  // Both generated clients expose the same models and methods; only their nominal types differ.
  return client as unknown as Db;
}

/** The client handed to a `$transaction` callback. */
export type DbTransaction = Parameters<Parameters<Db['$transaction']>[0]>[0];

/**
 * The columns of the unique index a write violated (Prisma P2002), or null for any other error.
 * PostgreSQL reports quoted column names and SQLite bare ones; both come back bare.
 */
export function uniqueViolationFields(error: unknown): string[] | null {
  if (typeof error !== 'object' || error === null || (error as { code?: unknown }).code !== 'P2002') return null;
  const meta = (error as { meta?: { target?: unknown; driverAdapterError?: { cause?: { constraint?: { fields?: unknown } } } } }).meta;
  const fields = meta?.driverAdapterError?.cause?.constraint?.fields ?? meta?.target;
  if (!Array.isArray(fields)) return [];
  return fields.filter((field): field is string => typeof field === 'string').map((field) => field.replace(/^"|"$/g, ''));
}

/** Tagged-template SQL with bound parameters for `$queryRaw` (both generated clients share this runtime). */
export { Prisma } from '../generated/pg/client.ts';
