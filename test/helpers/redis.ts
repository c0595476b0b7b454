// Redis for one test app: two connections (commands, pub/sub) and a key prefix of its own;
// drop() removes the prefix's keys and closes both.
import { randomUUID } from 'node:crypto';
import { connectRedis } from '../../src/platform/redis.ts';
import { TEST_REDIS_URL } from './services.ts';

export { TEST_REDIS_URL };

export function testRedis(prefix = `locus-test-${randomUUID()}`) {
  const client = connectRedis(TEST_REDIS_URL);
  const subscriber = connectRedis(TEST_REDIS_URL, { subscriber: true });
  return {
    client,
    subscriber,
    prefix,
    async drop(): Promise<void> {
      const keys = await client.keys(`${prefix}:*`);
      if (keys.length > 0) await client.del(...keys);
      client.disconnect();
      subscriber.disconnect();
    },
  };
}
