// The per-instance read caches (src/platform/cache.ts): bounds, and the race between a read and a
// change, through the users service on the test database.
import t from 'tap';
import { EvictedCache } from '../../src/platform/cache.ts';
import { buildTestApp } from '../helpers/app.ts';

t.test('a read that raced a change caches nothing: the next read goes to the database', async (t) => {
  const test = await buildTestApp(t);
  const { users, db } = test.app.locus;
  const applicationId = test.credentials.applicationId;
  await users.create(applicationId, { userId: 'user-0001', screenName: 'Before', locators: [] });
  // What the database holds from here on, unknown to any cache (as if written by an instance whose
  // eviction has not arrived yet, or before this read started).
  const renameBehindTheCache = (screenName: string) =>
    db.query.updateTable('User').set({ screenName }).where('applicationId', '=', applicationId).where('userId', '=', 'user-0001').execute();

  const raced = users.get(applicationId, 'user-0001');
  users.changed(applicationId, ['user-0001']);
  t.equal((await raced).screenName, 'Before', 'the raced read answers what it read');
  await renameBehindTheCache('After');
  t.equal((await users.get(applicationId, 'user-0001')).screenName, 'After', 'but did not cache it');

  t.equal((await users.get(applicationId, 'user-0001')).screenName, 'After', 'an unraced read caches');
  await renameBehindTheCache('Hidden');
  t.equal((await users.get(applicationId, 'user-0001')).screenName, 'After', 'and answers from the cache');
  users.changed(applicationId, ['user-0001']);
  t.equal((await users.get(applicationId, 'user-0001')).screenName, 'Hidden', 'until the user changes');
});

t.test('bounds: the oldest entries go past the count or the weight; a value over a tenth of the weight is not kept', async (t) => {
  const cache = new EvictedCache<string>({ entries: 3, maxWeight: 100, weight: (value) => value.length });
  for (const key of ['a', 'b', 'c', 'd']) cache.set('app', key, 'x', cache.generation);
  t.same(
    ['a', 'b', 'c', 'd'].map((key) => cache.get('app', key) ?? null),
    [null, 'x', 'x', 'x'],
    'three entries at most',
  );
  cache.set('app', 'big', 'y'.repeat(11), cache.generation);
  t.equal(cache.get('app', 'big'), undefined, 'over a tenth of the weight');
  cache.set('app', 'b', 'z'.repeat(10), cache.generation);
  cache.set('other', 'e', 'z'.repeat(10), cache.generation);
  t.same(
    [cache.get('app', 'b'), cache.get('app', 'c'), cache.get('app', 'd'), cache.get('other', 'e')],
    ['z'.repeat(10), undefined, 'x', 'z'.repeat(10)],
    'a replaced entry is the newest; the count spans every scope',
  );

  const heavy = new EvictedCache<string>({ entries: 100, maxWeight: 100, weight: (value) => value.length });
  for (let i = 0; i < 12; i++) heavy.set(i % 2 === 0 ? 'even' : 'odd', `k${i}`, 'w'.repeat(10), heavy.generation);
  t.equal(heavy.size, 10, 'the weight bounds the entries');
  t.equal(heavy.get('odd', 'k1'), undefined, 'the oldest went');
  t.equal(heavy.get('odd', 'k11'), 'w'.repeat(10));

  const generation = heavy.generation;
  heavy.evict('odd', ['k11']);
  t.equal(heavy.get('odd', 'k11'), undefined, 'evicted');
  heavy.set('odd', 'k11', 'stale', generation);
  t.equal(heavy.get('odd', 'k11'), undefined, 'a value read before an eviction is not kept');
  t.equal(heavy.size, 9);
  heavy.set('odd', 'k11', 'w'.repeat(10), heavy.generation);
  for (let i = 0; i < 20; i++) heavy.set('new', `n${i}`, 'w'.repeat(10), heavy.generation);
  t.equal(heavy.size, 10, 'still bounded after evictions, over emptied scopes');
  t.same([heavy.get('even', 'k10'), heavy.get('odd', 'k11'), heavy.get('new', 'n19')], [undefined, undefined, 'w'.repeat(10)]);
});

t.test('the same id in two scopes names two entries', async (t) => {
  const cache = new EvictedCache<string>({ entries: 10 });
  cache.set('app-1', 'user', 'one', cache.generation);
  cache.set('app-2', 'user', 'two', cache.generation);
  t.same([cache.get('app-1', 'user'), cache.get('app-2', 'user')], ['one', 'two']);
  cache.evict('app-1', ['user']);
  t.same([cache.get('app-1', 'user'), cache.get('app-2', 'user')], [undefined, 'two'], 'an eviction names its scope');
  // Ids and scopes that would join into the same string stay apart.
  cache.set('a:b', 'c', 'joined left', cache.generation);
  cache.set('a', 'b:c', 'joined right', cache.generation);
  t.same([cache.get('a:b', 'c'), cache.get('a', 'b:c')], ['joined left', 'joined right']);
  t.equal(cache.size, 3);
});
