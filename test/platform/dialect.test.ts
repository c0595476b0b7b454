// Each difference between SQLite and PostgreSQL that src/platform/dialect.ts and db.ts settle, on the
// suite's database (`npm test`: SQLite; `npm run test:pg`: PostgreSQL), so both run every case.
import t, { type Test } from 'tap';
import { sql } from 'kysely';
import { createDb, prepared, type Db } from '../../src/platform/db.ts';
import { readBool, readTime, uniqueViolationFields } from '../../src/platform/dialect.ts';
import { migrate } from '../../src/platform/migrate.ts';
import { createTestDatabase, testProvider } from '../helpers/db.ts';

async function open(t: Test): Promise<Db> {
  const database = await createTestDatabase();
  await migrate(database.config);
  const db = createDb(database.config);
  t.teardown(async () => {
    await db.close();
    await database.drop();
  });
  const now = db.dialect.time(new Date('2026-12-02T10:00:00.000Z'));
  await db.query.insertInto('Application').values({ id: 'APP01-APP01-APP01-APP01', name: 'a', createdAt: now, updatedAt: now }).execute();
  return db;
}

const APP = 'APP01-APP01-APP01-APP01';

async function insertUser(db: Db, id: string, userId: string, at = new Date('2026-12-02T10:00:00.000Z')): Promise<void> {
  const time = db.dialect.time(at);
  await db.query.insertInto('User').values({ id, applicationId: APP, userId, screenName: userId, createdAt: time, updatedAt: time }).execute();
}

t.test(`times are stored in the database's own form, read back as Dates and compared in SQL (${testProvider})`, async (t) => {
  const db = await open(t);
  const early = new Date('2026-12-02T10:00:00.123Z');
  const late = new Date('2027-01-15T23:59:59.999Z');
  await insertUser(db, 'i-early', 'early', early);
  await insertUser(db, 'i-late', 'late', late);
  const rows = await db.query.selectFrom('User').select(['userId', 'createdAt']).orderBy('createdAt').execute();
  t.same(
    rows.map((row) => [row.userId, readTime(row.createdAt).toISOString()]),
    [
      ['early', early.toISOString()],
      ['late', late.toISOString()],
    ],
    'millisecond-exact, in time order',
  );
  const after = await db.query
    .selectFrom('User')
    .select('userId')
    .where('createdAt', '>', db.dialect.time(new Date('2026-12-31T00:00:00Z')))
    .execute();
  t.same(
    after.map((row) => row.userId),
    ['late'],
    'a comparison with a bound time',
  );
  if (db.provider === 'sqlite') {
    // The form Prisma's SQLite adapter wrote: databases created by earlier releases read the same.
    t.equal(db.dialect.time(early), '2026-12-02T10:00:00.123+00:00');
  }
});

t.test(`booleans round-trip (${testProvider})`, async (t) => {
  const db = await open(t);
  const at = db.dialect.time(new Date());
  for (const [key, value] of [
    ['a.yes', true],
    ['a.no', false],
  ] as const) {
    await db.query
      .insertInto('AttributeDef')
      .values({
        applicationId: APP,
        entityType: 'users',
        key,
        allowedContentTypes: '[]',
        allowedContentEncodings: '[]',
        canBeEmpty: db.dialect.bool(value),
        createdAt: at,
      })
      .execute();
  }
  const rows = await db.rows<{ key: string; canBeEmpty: boolean | number }>(db.query.selectFrom('AttributeDef').select(['key', 'canBeEmpty']).orderBy('key'));
  t.same(
    rows.map((row) => [row.key, readBool(row.canBeEmpty)]),
    [
      ['a.no', false],
      ['a.yes', true],
    ],
  );
});

t.test(`a row lock serialises read-modify-write transactions (${testProvider})`, async (t) => {
  const db = await open(t);
  await db.query.insertInto('ServerMeta').values({ key: 'counter', value: '0' }).execute();
  const increment = () =>
    db.transaction(async (tx) => {
      const row = await db.dialect.forUpdate(tx.selectFrom('ServerMeta').select('value').where('key', '=', 'counter')).executeTakeFirstOrThrow();
      // Give the other transactions every chance to interleave here.
      await new Promise((resolve) => setTimeout(resolve, 5));
      await tx
        .updateTable('ServerMeta')
        .set({ value: String(Number(row.value) + 1) })
        .where('key', '=', 'counter')
        .execute();
    });
  await Promise.all(Array.from({ length: 8 }, increment));
  const [row] = await db.rows<{ value: string }>(db.query.selectFrom('ServerMeta').select('value').where('key', '=', 'counter'));
  t.equal(row?.value, '8', 'no increment lost');
});

t.test(`upserts and RETURNING are written once for both (${testProvider})`, async (t) => {
  const db = await open(t);
  const upsert = (value: string) =>
    db.query
      .insertInto('ServerMeta')
      .values({ key: 'k', value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .returning(['key', 'value'])
      .execute();
  t.same(await upsert('first'), [{ key: 'k', value: 'first' }]);
  t.same(await upsert('second'), [{ key: 'k', value: 'second' }], 'the conflict updates, and RETURNING sees the new row');
  await insertUser(db, 'i-1', 'u1');
  const updated = await db.query.updateTable('User').set({ screenName: 'renamed' }).where('userId', '=', 'u1').returning('id').execute();
  t.same(updated, [{ id: 'i-1' }]);
});

t.test(`64-bit integers and counts come back as numbers (${testProvider})`, async (t) => {
  const db = await open(t);
  const big = 2 ** 40 + 3;
  await db.query.insertInto('EventSequence').values({ applicationId: APP, last: big }).execute();
  const [row] = await db.rows<{ last: unknown; prunedThrough: unknown }>(db.query.selectFrom('EventSequence').select(['last', 'prunedThrough']));
  t.same(row, { last: big, prunedThrough: 0 });
  const [count] = await db.rows<{ count: unknown }>(db.query.selectFrom('EventSequence').select((eb) => eb.fn.countAll().as('count')));
  t.same(count, { count: 1 });
});

t.test(`a JSON array parameter as a table (${testProvider})`, async (t) => {
  const db = await open(t);
  const items = [
    { a: 'first', b: 'ü – 🙂' },
    { a: 'second', b: null },
    { a: 'it\'s "quoted"', b: 'x' },
  ];
  const rows = await db.rows<{ ord: number; a: string; b: string | null }>(
    sql`SELECT v."ord", v."a", v."b" FROM ${db.dialect.jsonRows(JSON.stringify(items), ['a', 'b'])} v ORDER BY v."ord"`.compile(db.query),
  );
  t.same(
    rows.map((row) => [Number(row.ord), row.a, row.b]),
    [
      [0, 'first', 'ü – 🙂'],
      [1, 'second', null],
      [2, 'it\'s "quoted"', 'x'],
    ],
  );
  t.throws(() => db.dialect.jsonRows('[]', ['a"; DROP TABLE x; --']), /bad field name/, 'field names never reach SQL unchecked');
});

t.test(`unique violations name their columns (${testProvider})`, async (t) => {
  const db = await open(t);
  await insertUser(db, 'i-1', 'u1');
  const failure = async (work: Promise<unknown>) => {
    try {
      await work;
    } catch (error) {
      return error;
    }
    return undefined;
  };
  t.same(uniqueViolationFields(await failure(insertUser(db, 'i-2', 'u1'))), ['applicationId', 'userId'], 'a unique index');
  t.same(uniqueViolationFields(await failure(insertUser(db, 'i-1', 'u2'))), ['id'], 'a primary key');
  t.equal(
    uniqueViolationFields(
      await failure(
        db.query
          .insertInto('User')
          .values({
            id: 'i-3',
            applicationId: 'no-such-app',
            userId: 'u3',
            screenName: 's',
            createdAt: db.dialect.time(new Date()),
            updatedAt: db.dialect.time(new Date()),
          })
          .execute(),
      ),
    ),
    null,
    'a foreign key violation is not one',
  );
  t.equal(uniqueViolationFields(new Error('something else')), null);
});

t.test(`a batch commits all of its statements or none (${testProvider})`, async (t) => {
  const db = await open(t);
  await db.batch([db.query.insertInto('ServerMeta').values({ key: 'a', value: '1' }), db.query.insertInto('ServerMeta').values({ key: 'b', value: '2' })]);
  const keys = async () => (await db.rows<{ key: string }>(db.query.selectFrom('ServerMeta').select('key').orderBy('key'))).map((row) => row.key);
  t.same(await keys(), ['a', 'b']);
  await t.rejects(
    db.batch([db.query.insertInto('ServerMeta').values({ key: 'c', value: '3' }), db.query.insertInto('ServerMeta').values({ key: 'a', value: 'again' })]),
  );
  t.same(await keys(), ['a', 'b'], 'the failing batch left nothing behind');
});

t.test(`reads outside a transaction see committed data only; prepared reads take new arguments (${testProvider})`, async (t) => {
  const db = await open(t);
  const byUserId = prepared(db, (q, applicationId: string, userId: string) =>
    q.selectFrom('User').select('id').where('applicationId', '=', applicationId).where('userId', '=', userId),
  );
  const byUserIds = prepared(db, (q, userIds: readonly string[], after: Date) =>
    q.selectFrom('User').select('id').where('userId', 'in', userIds).where('createdAt', '>', after).orderBy('id'),
  );
  await insertUser(db, 'i-1', 'u1');
  await insertUser(db, 'i-2', 'u2');
  t.same(await byUserId(APP, 'u1'), [{ id: 'i-1' }]);
  t.same(await byUserId(APP, 'u2'), [{ id: 'i-2' }]);
  t.same(await byUserId('other', 'u1'), []);
  t.same(await byUserIds(['u1', 'u2', 'nobody'], new Date('2026-01-01T00:00:00Z')), [{ id: 'i-1' }, { id: 'i-2' }], 'a list and a time');
  t.same(await byUserIds(['u2'], new Date('2026-01-01T00:00:00Z')), [{ id: 'i-2' }], 'another list length: its own compiled shape');
  t.same(await byUserIds(['u1', 'u2', 'nobody'], new Date('2027-01-01T00:00:00Z')), [], 'the first shape again, other values');
  await t.rejects(
    prepared(db, (q, userId: string) =>
      q
        .selectFrom('User')
        .select('id')
        .where('userId', '=', userId === '' ? userId : 'fixed'),
    )('x'),
    /every argument/,
  );

  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let inserted = () => {};
  const insertedInside = new Promise<void>((resolve) => (inserted = resolve));
  const transaction = db.transaction(async (tx) => {
    await tx
      .insertInto('User')
      .values({ id: 'i-3', applicationId: APP, userId: 'u3', screenName: 'u3', createdAt: db.dialect.time(new Date()), updatedAt: db.dialect.time(new Date()) })
      .execute();
    inserted();
    await held;
  });
  await insertedInside;
  t.same(await byUserId(APP, 'u3'), [], 'an open transaction’s insert is not visible');
  release();
  await transaction;
  t.same(await byUserId(APP, 'u3'), [{ id: 'i-3' }], 'visible once committed');
});
