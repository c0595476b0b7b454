// The in-process migrator: applies each migration once, in Prisma's bookkeeping format.
import t from 'tap';
import Database from 'better-sqlite3';
import pg from 'pg';
import { migrate, readMigrations, MigrationError } from '../src/platform/migrate.ts';
import { sha256Hex } from '../src/platform/crypto.ts';
import { createTestDatabase, testProvider } from './helpers/db.ts';

async function appliedRows(config: Awaited<ReturnType<typeof createTestDatabase>>['config']) {
  if (config.databaseProvider === 'sqlite') {
    const db = new Database(config.sqlitePath as string, { readonly: true });
    try {
      return db.prepare('SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" ORDER BY migration_name').all() as Array<
        Record<string, unknown>
      >;
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: config.databaseUrl });
  await client.connect();
  try {
    return (await client.query('SELECT migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name')).rows;
  } finally {
    await client.end();
  }
}

async function execute(config: Awaited<ReturnType<typeof createTestDatabase>>['config'], sql: string) {
  if (config.databaseProvider === 'sqlite') {
    const db = new Database(config.sqlitePath as string);
    db.exec(sql);
    db.close();
    return;
  }
  const client = new pg.Client({ connectionString: config.databaseUrl });
  await client.connect();
  await client.query(sql);
  await client.end();
}

t.test(`migrations apply once, recorded like Prisma records them (${testProvider})`, async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const migrations = readMigrations(database.config.databaseProvider);
  t.ok(migrations.length >= 1);
  const first = await migrate(database.config);
  t.same(
    first.applied,
    migrations.map((m) => m.name),
  );
  const second = await migrate(database.config);
  t.same(second, { applied: [], modified: [] }, 'nothing to do the second time');
  const rows = await appliedRows(database.config);
  t.same(
    rows.map((r) => r.migration_name),
    migrations.map((m) => m.name),
  );
  for (const [i, row] of rows.entries()) {
    t.equal(row.checksum, sha256Hex(migrations[i]?.sql ?? ''), 'checksum = sha256 of migration.sql, as Prisma computes it');
    t.ok(row.finished_at, 'finished');
  }
});

t.test('concurrent starts apply each migration exactly once', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const reports = await Promise.all([migrate(database.config), migrate(database.config), migrate(database.config)]);
  const appliedCount = reports.reduce((n, r) => n + r.applied.length, 0);
  t.equal(appliedCount, readMigrations(database.config.databaseProvider).length);
  t.equal((await appliedRows(database.config)).length, appliedCount);
});

t.test('a database from a newer Locus, or with a failed migration, is refused', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  await migrate(database.config);
  await execute(
    database.config,
    `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES ('x1', 'c', CURRENT_TIMESTAMP, '29990101000000_future', CURRENT_TIMESTAMP, 1)`,
  );
  await t.rejects(migrate(database.config), MigrationError);
  await t.rejects(migrate(database.config), /does not know/);
  await execute(database.config, `DELETE FROM "_prisma_migrations" WHERE id = 'x1'`);
  await execute(
    database.config,
    `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES ('x2', 'c', NULL, '20261123000000_init', CURRENT_TIMESTAMP, 0)`,
  );
  await t.rejects(migrate(database.config), /failed earlier/);
});

async function settingsById(config: Awaited<ReturnType<typeof createTestDatabase>>['config']): Promise<Record<string, unknown>> {
  const sql = 'SELECT "id", "settings" FROM "Application" ORDER BY "id"';
  let rows: Array<{ id: string; settings: string }>;
  if (config.databaseProvider === 'sqlite') {
    const db = new Database(config.sqlitePath as string, { readonly: true });
    rows = db.prepare(sql).all() as typeof rows;
    db.close();
  } else {
    const client = new pg.Client({ connectionString: config.databaseUrl });
    await client.connect();
    rows = (await client.query(sql)).rows;
    await client.end();
  }
  return Object.fromEntries(rows.map((row) => [row.id, JSON.parse(row.settings)]));
}

t.test(`applications from before password login was on by default keep it off (${testProvider})`, async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  await migrate(database.config);
  // Three applications as the release before that migration left them: one that never chose, one
  // that turned login on, one that changed something else.
  const applications: Array<[string, string]> = [
    ['AAAAA-AAAAA-AAAAA-AAAAA', '{}'],
    ['BBBBB-BBBBB-BBBBB-BBBBB', '{"passwordLogin":true}'],
    ['CCCCC-CCCCC-CCCCC-CCCCC', '{"tokenDefaultTtl":60}'],
  ];
  for (const [id, settings] of applications) {
    await execute(
      database.config,
      `INSERT INTO "Application" ("id", "name", "settings", "createdAt", "updatedAt") VALUES ('${id}', 'app', '${settings}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
    );
  }
  const name = '20261203120000_password_login_default';
  await execute(database.config, `DELETE FROM "_prisma_migrations" WHERE migration_name = '${name}'`);
  t.same((await migrate(database.config)).applied, [name]);
  t.same(await settingsById(database.config), {
    'AAAAA-AAAAA-AAAAA-AAAAA': { passwordLogin: false },
    'BBBBB-BBBBB-BBBBB-BBBBB': { passwordLogin: true },
    'CCCCC-CCCCC-CCCCC-CCCCC': { tokenDefaultTtl: 60, passwordLogin: false },
  });
});
