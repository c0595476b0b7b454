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
    return new PgPrismaClient({ adapter: new PrismaPg({ connectionString: config.databaseUrl, max: 10 }) });
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

