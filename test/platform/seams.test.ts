// The kv and bus contracts, run against the in-memory implementations and the Redis ones (the
// Redis of LOCUS_TEST_REDIS_URL, default 127.0.0.1:6379; each test uses a key prefix of its own).
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { MemoryBus, type Bus } from '../../src/platform/bus.ts';
import { MemoryKv, type Kv } from '../../src/platform/kv.ts';
import { connectRedis, RedisBus, RedisKv } from '../../src/platform/redis.ts';
import { ManualClock } from '../helpers/clock.ts';
import { TEST_REDIS_URL as REDIS_URL, unlessReachable } from '../helpers/services.ts';

/** Why the Redis cases are skipped here (no Redis answers), or false. */
const noRedis = await unlessReachable('redis');

/** A Redis connection for one test, and more on demand; the prefix's keys are removed afterwards. */
function redisFor(t: Test) {
  const prefix = `locus-test-${randomUUID()}`;
  const redis = connectRedis(REDIS_URL);
  const extra: Array<ReturnType<typeof connectRedis>> = [];
  t.teardown(async () => {
    for (const connection of extra) connection.disconnect();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  const connection = () => {
    const made = connectRedis(REDIS_URL);
    extra.push(made);
    return made;
  };
  return { redis, prefix, connection };
}

const kinds: Array<[string, (t: Test, clock: ManualClock) => Kv]> = [
  [
    'memory',
    (t, clock) => {
      const kv = new MemoryKv(clock, 60_000);
      t.teardown(() => kv.close());
      return kv;
    },
  ],
  [
    'redis',
    (t, clock) => {
      const { redis, prefix } = redisFor(t);
      return new RedisKv(redis, clock, { prefix });
    },
  ],
];

for (const [kind, make] of kinds) {
  const skip = kind === 'redis' && noRedis;
  t.test(`kv (${kind}): setIfAbsent and increment expire on the injected clock`, { skip }, async (t) => {
    const clock = new ManualClock();
    const kv = make(t, clock);
    t.equal(await kv.setIfAbsent('nonce', 'x', 1_000), true);
    t.equal(await kv.setIfAbsent('nonce', 'y', 1_000), false, 'taken');
    t.equal(await kv.get('nonce'), 'x');
    clock.advance(999);
    t.equal(await kv.setIfAbsent('nonce', 'y', 1_000), false, 'still taken 1 ms before expiry');
    clock.advance(1);
    t.equal(await kv.get('nonce'), null, 'gone at expiry');
    t.equal(await kv.setIfAbsent('nonce', 'y', 1_000), true, 'free again');

    t.equal(await kv.increment('count', 10_000), 1);
    t.equal(await kv.increment('count', 10_000), 2);
    clock.advance(5_000);
    t.equal(await kv.increment('count', 10_000), 3, 'the window does not move with each increment');
    clock.advance(5_000);
    t.equal(await kv.increment('count', 10_000), 1, 'a new window after the first one ends');
  });

  t.test(`kv (${kind}): lasting values, many at once, deletion`, { skip }, async (t) => {
    const clock = new ManualClock();
    const kv = make(t, clock);
    await kv.set('presence:a', '{"a":1}');
    await kv.set('presence:b', 'line one\nline two');
    clock.advance(365 * 24 * 60 * 60 * 1000);
    t.same(await kv.getMany(['presence:b', 'nothing', 'presence:a']), ['line one\nline two', null, '{"a":1}'], 'in order, values kept verbatim');
    t.equal(await kv.setIfAbsent('presence:a', 'other', 1_000), false, 'a lasting value is present');
    await kv.set('presence:a', 'replaced');
    t.equal(await kv.get('presence:a'), 'replaced');
    await kv.delete('presence:a');
    t.equal(await kv.get('presence:a'), null);
    t.same(await kv.getMany([]), []);
  });
}

t.test('kv (redis): setIfAbsent is atomic across connections (one winner of many racing)', { skip: noRedis }, async (t) => {
  const clock = new ManualClock();
  const { prefix, connection } = redisFor(t);
  const connections = Array.from({ length: 4 }, () => connection());
  const stores = connections.map((redis) => new RedisKv(redis, clock, { prefix }));
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (stores[i % stores.length] as RedisKv).setIfAbsent('nonce:race', String(i), 60_000)));
  t.equal(results.filter(Boolean).length, 1);
  const counts = await Promise.all(Array.from({ length: 40 }, (_, i) => (stores[i % stores.length] as RedisKv).increment('count:race', 60_000)));
  t.same(
    [...counts].sort((a, b) => a - b),
    Array.from({ length: 40 }, (_, i) => i + 1),
    'every increment counted once',
  );
});

async function eventually(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

t.test('bus (memory and redis): local subscribers hear a message at once; a failing one stops nobody', async (t) => {
  const buses: Array<[string, Bus]> = [['memory', new MemoryBus()]];
  if (noRedis === false) {
    const { redis, prefix, connection } = redisFor(t);
    buses.push(['redis', new RedisBus(redis, connection(), { prefix })]);
  }
  for (const [kind, bus] of buses) {
    const heard: unknown[] = [];
    bus.subscribe('topic', () => {
      throw new Error('a broken subscriber');
    });
    const unsubscribe = bus.subscribe('topic', (message) => heard.push(message));
    bus.publish('topic', { n: 1 });
    t.same(heard, [{ n: 1 }], `${kind}: delivered synchronously`);
    unsubscribe();
    bus.publish('topic', { n: 2 });
    t.same(heard, [{ n: 1 }], `${kind}: not after unsubscribing`);
    await bus.close();
  }
});

t.test('bus (redis): another instance hears every message once, this one does not hear its own twice', { skip: noRedis }, async (t) => {
  const { prefix, connection } = redisFor(t);
  const a = new RedisBus(connection(), connection(), { prefix });
  const b = new RedisBus(connection(), connection(), { prefix });
  const heardByA: unknown[] = [];
  const heardByB: unknown[] = [];
  a.subscribe('events', (message) => heardByA.push(message));
  b.subscribe('events', (message) => heardByB.push(message));
  b.subscribe('other', () => heardByB.push('wrong topic'));
  await new Promise((resolve) => setTimeout(resolve, 50)); // SUBSCRIBE reaches Redis
  for (let n = 0; n < 5; n++) a.publish('events', { n });
  await eventually(() => heardByB.length >= 5);
  t.same(
    heardByB,
    [0, 1, 2, 3, 4].map((n) => ({ n })),
    'in order, once each',
  );
  t.same(
    heardByA,
    [0, 1, 2, 3, 4].map((n) => ({ n })),
    'the publisher heard each once (locally)',
  );
});
