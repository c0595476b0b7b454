// Driver adapters for the Prisma CLI (prisma.config.ts only; the server never loads this file).
// Works around two problems of @prisma/adapter-pg 6.19 under the schema engine:
//  - columns of type `name` (OID 19) and `char` (OID 18) in catalog queries are refused
//    ("Column type 'name' could not be deserialized", prisma/orm#27403): report them as text;
//  - `migrate diff --from-migrations` needs a shadow database, which we supply as a fixed,
//    pre-created database that is emptied before each use.
// and one of @prisma/adapter-better-sqlite3 6.19: its shadow database receives whole migration
// scripts through executeRaw, which better-sqlite3 refuses ("more than one statement").
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';

const TEXT_OID = 25;
const CATALOG_TEXT_OIDS = new Set([18, 19]);

type QueryResultLike = { fields?: Array<{ dataTypeID: number }> };

function reportCatalogTypesAsText(target: { query: (...args: never[]) => unknown }): void {
  const original = target.query.bind(target) as (...args: unknown[]) => unknown;
  (target as { query: unknown }).query = (...args: unknown[]) => {
    const result = original(...args);
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      return (result as Promise<QueryResultLike>).then((res) => {
        for (const field of res?.fields ?? []) {
          if (CATALOG_TEXT_OIDS.has(field.dataTypeID)) field.dataTypeID = TEXT_OID;
        }
        return res;
      });
    }
    return result;
  };
}

function patchedPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool({ ...config, allowExitOnIdle: true });
  reportCatalogTypesAsText(pool);
  pool.on('connect', (client) => reportCatalogTypesAsText(client as never));
  return pool;
}

function poolConfigFromUrl(url: string): pg.PoolConfig {
  // Discrete fields, not connectionString: with a connection string the CLI lingers ~10 s on exit.
  const u = new URL(url);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username) || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || undefined,
    max: 4,
  };
}

export function shadowDatabaseName(database: string): string {
  return `${database}_prisma_shadow`;
}

export function cliAdapterFor(databaseUrl: string) {
  if (databaseUrl.startsWith('file:')) {
    const factory = new PrismaBetterSQLite3({ url: databaseUrl });
    const connectShadow = factory.connectToShadowDb.bind(factory);
    return Object.assign(factory, {
      async connectToShadowDb() {
        const shadow = await connectShadow();
        const executeRaw = shadow.executeRaw.bind(shadow);
        // The schema engine replays each migration file through executeRaw, which better-sqlite3
        // can only prepare one statement at a time; run parameterless scripts whole instead.
        shadow.executeRaw = async (query) => {
          if (query.args.length > 0) return executeRaw(query);
          await shadow.executeScript(query.sql);
          return 0;
        };
        return shadow;
      },
    });
  }
  const config = poolConfigFromUrl(databaseUrl);
  const factory = new PrismaPg(patchedPool(config));
  const shadowName = shadowDatabaseName(config.database ?? 'postgres');
  return Object.assign(factory, {
    async connectToShadowDb() {
      const admin = new pg.Client({ ...config });
      await admin.connect();
      try {
        const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [shadowName]);
        if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${shadowName.replace(/"/g, '""')}"`);
      } finally {
        await admin.end();
      }
      const shadowPool = patchedPool({ ...config, database: shadowName });
      await shadowPool.query('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;');
      return new PrismaPg(shadowPool).connect();
    },
  });
}
