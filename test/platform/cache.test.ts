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
  for (const key of ['a', 'b', 'c', 'd']) cache.set(key, 'x', cache.generation);
  t.same(
    ['a', 'b', 'c', 'd'].map((key) => cache.get(key) ?? null),
    [null, 'x', 'x', 'x'],
    'three entries at most',
  );
  cache.set('big', 'y'.repeat(11), cache.generation);
  t.equal(cache.get('big'), undefined, 'over a tenth of the weight');
  cache.set('b', 'z'.repeat(10), cache.generation);
  cache.set('e', 'z'.repeat(10), cache.generation);
  t.same([cache.get('b'), cache.get('c'), cache.get('d'), cache.get('e')], ['z'.repeat(10), undefined, 'x', 'z'.repeat(10)], 'a replaced entry is the newest');

  const heavy = new EvictedCache<string>({ entries: 100, maxWeight: 100, weight: (value) => value.length });
  for (let i = 0; i < 12; i++) heavy.set(`k${i}`, 'w'.repeat(10), heavy.generation);
  t.equal(heavy.size, 10, 'the weight bounds the entries');
  t.equal(heavy.get('k1'), undefined, 'the oldest went');
  t.equal(heavy.get('k11'), 'w'.repeat(10));

  const generation = heavy.generation;
  heavy.evict(['k11']);
  t.equal(heavy.get('k11'), undefined, 'evicted');
  heavy.set('k11', 'stale', generation);
  t.equal(heavy.get('k11'), undefined, 'a value read before an eviction is not kept');
});
