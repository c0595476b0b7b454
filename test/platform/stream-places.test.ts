// Open-stream places (src/modules/events/places.ts), in process and on Redis: the cap, the
// release, and (Redis) places of an instance that stops renewing lapse while renewed ones stay.
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { LocalStreamPlaces, RedisStreamPlaces, type StreamPlaces } from '../../src/modules/events/places.ts';
import { ApiError } from '../../src/errors.ts';
import { testRedis } from '../helpers/redis.ts';
import { unlessReachable } from '../helpers/services.ts';

const noRedis = await unlessReachable('redis');

async function refused(t: Test, places: StreamPlaces, holder: string, limit: number): Promise<void> {
  const error = await places.take(holder, limit, 'streams').then(
    () => null,
    (caught: unknown) => caught,
  );
  t.ok(
    error instanceof ApiError && error.statusCode === 429 && error.code === 'limit_exceeded',
    `place ${limit + 1} of ${holder} refused with 429 limit_exceeded`,
  );
}

for (const kind of ['memory', 'redis'] as const) {
  t.test(
    `${kind}: a holder gets at most its limit; a release (once, however often called) frees one; holders are apart`,
    { skip: kind === 'redis' && noRedis },
    async (t) => {
      const redis = kind === 'redis' ? testRedis() : null;
      const places: StreamPlaces = redis ? new RedisStreamPlaces(redis.client, redis.prefix, t.error) : new LocalStreamPlaces();
      t.teardown(async () => {
        await places.close();
        await redis?.drop();
      });
      const releases = [await places.take('user:a', 2, 'streams'), await places.take('user:a', 2, 'streams')];
      await refused(t, places, 'user:a', 2);
      await places.take('user:b', 2, 'streams');
      releases[0]!();
      releases[0]!();
      await places.take('user:a', 2, 'streams');
      await refused(t, places, 'user:a', 2);
    },
  );
}

t.test('redis: places an instance stops renewing lapse with their lease; renewed ones are kept', { skip: noRedis }, async (t) => {
  const redis = testRedis();
  const leaseMs = 300;
  const crashed = new RedisStreamPlaces(redis.client, redis.prefix, t.error, leaseMs);
  const alive = new RedisStreamPlaces(redis.client, redis.prefix, t.error, leaseMs);
  t.teardown(async () => {
    await alive.close();
    await redis.drop();
  });
  const holder = `user:${randomUUID()}`;
  await crashed.take(holder, 2, 'streams');
  await alive.take(holder, 2, 'streams');
  await refused(t, alive, holder, 2);
  // Redis's own clock decides lapses: this waits on it, renewing the live place meanwhile.
  for (let waited = 0; waited < 2 * leaseMs; waited += leaseMs / 3) {
    await alive.renew();
    await new Promise((resolve) => setTimeout(resolve, leaseMs / 3));
  }
  await alive.take(holder, 2, 'streams');
  t.pass('the place of the instance that stopped renewing was taken again');
  await refused(t, alive, holder, 2);
});
