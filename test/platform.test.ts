// Platform seams: ids, sealing secrets, the in-memory kv.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { DOMAIN_ID_PATTERN, domainId, randomAlphanumeric } from '../src/platform/ids.ts';
import { constantTimeEqual, deriveKey, open, seal } from '../src/platform/crypto.ts';
import { MemoryKv, SWEEP_SLICE } from '../src/platform/kv.ts';
import { splitCommaList } from '../src/platform/lists.ts';
import { ManualClock } from './helpers/clock.ts';

t.test('ids', async (t) => {
  const ids = new Set(Array.from({ length: 2000 }, () => domainId()));
  t.equal(ids.size, 2000, 'no collisions');
  for (const id of [...ids].slice(0, 50)) t.match(id, DOMAIN_ID_PATTERN);
  const key = randomAlphanumeric(16);
  t.match(key, /^[A-Za-z0-9]{16}$/);
  // Every symbol appears: the alphabet is fully used.
  t.equal(new Set(randomAlphanumeric(5000)).size, 62);
});

t.test('sealed secrets open only with the same key and context', async (t) => {
  const master = randomBytes(32);
  const key = deriveKey(master, 'access-key-secrets');
  t.notOk(key.equals(deriveKey(master, 'token-signing')), 'purposes get different keys');
  const secret = randomBytes(128);
  const sealed = seal(key, secret, 'access-key:AAAA');
  t.notMatch(sealed, secret.toString('base64url'));
  t.ok(open(key, sealed, 'access-key:AAAA').equals(secret));
  t.throws(() => open(key, sealed, 'access-key:BBBB'), 'another row cannot open it');
  t.throws(() => open(deriveKey(randomBytes(32), 'access-key-secrets'), sealed, 'access-key:AAAA'), 'another master key cannot open it');
  const parts = sealed.split('.');
  parts[3] = Buffer.from('tampered').toString('base64url');
  t.throws(() => open(key, parts.join('.'), 'access-key:AAAA'), 'tampering is detected');
  t.throws(() => open(key, 'v2.x.y.z', 'access-key:AAAA'));
});

t.test('constantTimeEqual', async (t) => {
  t.ok(constantTimeEqual('abc', 'abc'));
  t.notOk(constantTimeEqual('abc', 'abd'));
  t.notOk(constantTimeEqual('abc', 'abcd'));
  t.notOk(constantTimeEqual('', 'a'));
});

t.test('MemoryKv.setIfAbsent honours TTLs on the injected clock', async (t) => {
  const clock = new ManualClock();
  const kv = new MemoryKv(clock, 60_000);
  t.teardown(() => kv.close());
  t.equal(await kv.setIfAbsent('a', '1', 1000), true);
  t.equal(await kv.setIfAbsent('a', '1', 1000), false);
  clock.advance(999);
  t.equal(await kv.setIfAbsent('a', '1', 1000), false, 'still present just before expiry');
  clock.advance(1);
  t.equal(await kv.setIfAbsent('a', '1', 1000), true, 'free again at expiry');
  await kv.setIfAbsent('b', '1', 5000);
  await kv.setIfAbsent('c', '1', 100);
  clock.advance(2000);
  kv.sweep();
  // 'a' (expired, in front) goes; the sweep stops at live 'b', so expired 'c' behind it waits.
  t.equal(kv.size, 2, 'sweeps from the front up to the first live entry');
  t.equal(await kv.setIfAbsent('b', '1', 5000), false, 'live entries are kept');
  t.equal(await kv.setIfAbsent('c', '1', 100), true, 'an expired entry is free even before it is swept');
  clock.advance(10_000);
  kv.sweep();
  t.equal(kv.size, 0, 'everything expired is gone once the front expires');
  t.equal(kv.setIfAbsentNow('d', '1', 1000), true, 'the synchronous claim stores');
  t.equal(await kv.setIfAbsent('d', '1', 1000), false, 'and both spellings see one another');
  t.equal(kv.setIfAbsentNow('d', '1', 1000), false);
});

t.test('MemoryKv drops a flood of expired entries in slices, never all in one turn', async (t) => {
  const clock = new ManualClock();
  const kv = new MemoryKv(clock, 60_000);
  t.teardown(() => kv.close());
  for (let i = 0; i < 2 * SWEEP_SLICE + 1; i += 1) kv.setIfAbsentNow(`nonce:${i}`, '1', 1_000);
  kv.setIfAbsentNow('live', '1', 100_000);
  clock.advance(1_000);
  t.equal(kv.sweep(SWEEP_SLICE), true, 'a slice stops at its limit and says more are expired');
  t.equal(kv.size, SWEEP_SLICE + 2);
  t.equal(kv.sweep(SWEEP_SLICE), true);
  t.equal(kv.sweep(SWEEP_SLICE), false, 'the last slice reaches the first live entry');
  t.equal(kv.size, 1);
  t.equal(kv.setIfAbsentNow('live', '1', 100_000), false, 'the live entry is kept');

  // The timed sweep goes on slice after slice until the expired front is gone.
  const timed = new MemoryKv(clock, 1);
  t.teardown(() => timed.close());
  for (let i = 0; i < 3 * SWEEP_SLICE; i += 1) timed.setIfAbsentNow(`nonce:${i}`, '1', 1_000);
  clock.advance(1_000);
  for (let turn = 0; turn < 1_000 && timed.size > 0; turn += 1) await new Promise((resolve) => setTimeout(resolve, 1));
  t.equal(timed.size, 0, 'every expired entry is dropped');
});

t.test('comma lists: trimmed entries in order, empty ones kept for the caller or dropped', async (t) => {
  t.same(splitCommaList(' a, b ,c'), ['a', 'b', 'c']);
  t.same(splitCommaList('a,,b,'), ['a', '', 'b', '']);
  t.same(splitCommaList('a,,b,', { dropEmpty: true }), ['a', 'b']);
  t.same(splitCommaList(['b,a', ' c ', ''], {}), ['b', 'a', 'c', ''], 'a repeated parameter: its values in order');
  t.same(splitCommaList(['b,a', ' , ', 'a'], { dropEmpty: true }), ['b', 'a', 'a'], 'repeats are the caller’s to drop');
  t.same(splitCommaList(''), [''], 'an empty list is one empty entry');
  t.same(splitCommaList('', { dropEmpty: true }), []);
});
