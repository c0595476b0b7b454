// Two instances in one test process, on one database and one Redis (kv and bus), as behind a load
// balancer: what one instance changes, the other honours on its next request.
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { connectRedis } from '../../src/platform/redis.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { ManualClock } from '../helpers/clock.ts';
import { StreamClient } from '../helpers/sse.ts';

const REDIS_URL = process.env.LOCUS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const json = (value: unknown) => JSON.stringify(value);

/** Connections for one instance, under one prefix per test; closed, and the prefix's keys removed, after. */
function redisFor(t: Test, prefix: string) {
  const client = connectRedis(REDIS_URL);
  const subscriber = connectRedis(REDIS_URL);
  t.teardown(async () => {
    const keys = await client.keys(`${prefix}:*`);
    if (keys.length > 0) await client.del(...keys);
    client.disconnect();
    subscriber.disconnect();
  });
  return { client, subscriber, prefix };
}

interface Pair {
  a: TestApp;
  b: FastifyInstance;
  address: string;
}

async function twoInstances(t: Test): Promise<Pair> {
  const prefix = `locus-test-${randomUUID()}`;
  const clock = new ManualClock();
  const a = await buildTestApp(t, { clock, presenceTimers: false, redis: redisFor(t, prefix) });
  const b = await buildApp(a.database.config, { logger: false, watchApplications: false, presenceTimers: false, eventTimers: false, clock, redis: redisFor(t, prefix) });
  t.teardown(() => b.close());
  const address = await b.listen({ host: '127.0.0.1', port: 0 });
  for (const userId of ['user-0001', 'user-0002']) {
    t.equal((await a.signed('POST', '/v1/users', { body: json({ userId, screenName: { screenName: userId } }) })).statusCode, 200);
  }
  return { a, b, address };
}

/** Polls `read` until it returns `expected` (a change crossing Redis), at most 2 s; returns the last reading. */
async function settlesTo<T>(read: () => Promise<T>, expected: T): Promise<T> {
  let value = await read();
  for (let i = 0; i < 200 && value !== expected; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    value = await read();
  }
  return value;
}

const tokenHeader = (token: string) => ({ 'x-issued-mitter-user-authorization': token });

t.test('a token revoked on one instance is refused on the other at its next request', async (t) => {
  const { a, b } = await twoInstances(t);
  const issued = (await a.signed('POST', '/v1/users/user-0001/tokens', { body: '{}' })).json().userToken;
  const echo = () => b.inject({ method: 'GET', url: '/v1/test/application/by/accesskey', headers: tokenHeader(issued.signedToken) });
  t.equal((await echo()).statusCode, 200, 'B accepts it (and caches its state)');
  t.equal((await a.signed('DELETE', `/v1/users/user-0001/tokens/${issued.tokenId}`)).statusCode, 200);
  t.equal(await settlesTo(async () => (await echo()).statusCode, 401), 401, 'B refuses it');
  t.equal((await echo()).json().errorCode, 'claim_rejected');
});

t.test('a nonce used on one instance is refused on the other', async (t) => {
  const { a, b } = await twoInstances(t);
  const headers = a.signedHeaders('GET', '/v1/users/user-0001');
  t.equal((await a.app.inject({ method: 'GET', url: '/v1/users/user-0001', headers })).statusCode, 200);
  const replayed = await b.inject({ method: 'GET', url: '/v1/users/user-0001', headers });
  t.equal(replayed.statusCode, 401, 'a replay on B');
});

t.test('a presence set on one instance is read on the other and streamed to its subscribers', async (t) => {
  const { a, b, address } = await twoInstances(t);
  const token = (await a.signed('POST', '/v1/users/user-0002/tokens', { body: '{}' })).json().userToken.signedToken;
  const stream = new StreamClient(`${address}/v1/users/me/events?presenceOf=user-0001`, () => tokenHeader(token));
  t.teardown(() => stream.close());
  await stream.opened;

  const presence = { type: 'mitter.up.Online', timeToLive: 0 };
  t.equal((await a.signed('POST', '/v1/users/user-0001/presence', { body: json(presence) })).statusCode, 200);
  const read = await b.inject({ method: 'GET', url: '/v1/users/user-0001/presence', headers: tokenHeader(token) });
  t.same(read.json()[0].presence.presence, presence, 'B reads what A set');
  const [event] = await stream.untilCount(1);
  t.same(event?.data.data, { presence, setTimeMs: a.clock.now() }, "B's subscriber got A's event");
});

t.test('a user deleted on one instance is gone for sudo requests on the other', async (t) => {
  const { a, b } = await twoInstances(t);
  const asSudo = () => b.inject({ method: 'GET', url: '/v1/users/user-0001', headers: { ...a.signedHeaders('GET', '/v1/users/user-0001'), 'x-mitter-sudo-user-id': 'user-0002' } });
  t.equal((await asSudo()).statusCode, 200, 'B knows user-0002 (and remembers it exists)');
  t.equal((await a.signed('DELETE', '/v1/users/user-0002')).statusCode, 200);
  t.equal(await settlesTo(async () => (await asSudo()).statusCode, 401), 401, 'B no longer accepts it as a sudo user');
});

const chain = { type: 'mitter.up.Online', timeToLive: 5, expiresTo: { type: 'mitter.up.Away', timeToLive: 0 } };

/** The transition events in the log (each instance appends the transitions it fired). */
async function transitionsLogged(pair: Pair): Promise<Array<{ userId: string | null; type: string }>> {
  const rows = await pair.a.app.locus.db.event.findMany({ where: { type: 'presence' }, orderBy: { seq: 'asc' } });
  return rows
    .map((row) => ({ userId: row.userId, data: JSON.parse(row.data) as { presence: { type: string } | null; setTimeMs: number } }))
    .filter((row) => row.data.presence?.type === 'mitter.up.Away')
    .map((row) => ({ userId: row.userId, type: row.data.presence?.type ?? 'none' }));
}

t.test('a chained transition fires exactly once across instances, whichever set it', async (t) => {
  const pair = await twoInstances(t);
  const { a, b } = pair;
  t.equal((await a.signed('POST', '/v1/users/user-0001/presence', { body: json(chain) })).statusCode, 200);
  const sudoHeaders = { ...a.signedHeaders('POST', '/v1/users/me/presence', { body: json(chain) }), 'x-mitter-sudo-user-id': 'user-0002' };
  t.equal((await b.inject({ method: 'POST', url: '/v1/users/me/presence', headers: sudoHeaders, payload: json(chain) })).statusCode, 200);
  t.equal(await a.app.locus.presence.scheduled(), 2, 'one shared schedule');
  a.clock.advance(5_000);
  // Both instances run their due transitions at the same moment, several times over.
  const fired = await Promise.all([a.app.locus.presence.runDue(), b.locus.presence.runDue(), a.app.locus.presence.runDue(), b.locus.presence.runDue()]);
  t.equal(fired.reduce((sum, n) => sum + n, 0), 2, `each transition fired once (${fired.join(', ')})`);
  await Promise.all([a.app.locus.events.flush(), b.locus.events.flush()]);
  t.same((await transitionsLogged(pair)).map((row) => row.userId).sort(), ['user-0001', 'user-0002'], 'one event each in the log');
  t.equal(await b.locus.presence.scheduled(), 0, 'Away is static: nothing left');
});

t.test('a transition scheduled by an instance that is gone fires on the other', async (t) => {
  const pair = await twoInstances(t);
  const { a, b } = pair;
  t.equal((await a.signed('POST', '/v1/users/user-0001/presence', { body: json(chain) })).statusCode, 200);
  await a.app.close();
  a.clock.advance(5_000);
  t.equal(await b.locus.presence.runDue(), 1, 'B fires what A scheduled');
  await b.locus.events.flush();
  t.same(await transitionsLogged(pair), [{ userId: 'user-0001', type: 'mitter.up.Away' }]);
  const read = await b.inject({ method: 'GET', url: '/v1/users/user-0001/presence', headers: a.signedHeaders('GET', '/v1/users/user-0001/presence') });
  t.equal(read.json()[0].presence.presence.type, 'mitter.up.Away');
});
