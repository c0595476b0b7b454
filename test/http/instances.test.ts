// Two instances in one test process, on one database and one Redis (kv and bus), as behind a load
// balancer: what one instance changes, the other honours on its next request.
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { runCli } from '../../src/cli.ts';
import { TEST_REDIS_URL, testRedis } from '../helpers/redis.ts';
import { tcpProxy } from '../helpers/proxy.ts';
import { connectRedis } from '../../src/platform/redis.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, testProvider } from '../helpers/db.ts';
import { ManualClock } from '../helpers/clock.ts';
import { StreamClient } from '../helpers/sse.ts';
import { unlessReachable } from '../helpers/services.ts';

/** Every test here shares state through Redis: skipped (with the reason) when none answers. */
const noRedis = await unlessReachable('redis');

const json = (value: unknown) => JSON.stringify(value);

/** Redis for one instance, on the test's prefix; dropped after the test. */
function redisFor(t: Test, prefix: string) {
  const redis = testRedis(prefix);
  t.teardown(() => redis.drop());
  return redis;
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
  const b = await buildApp(a.database.config, {
    logger: false,
    watchApplications: false,
    presenceTimers: false,
    eventTimers: false,
    clock,
    redis: redisFor(t, prefix),
  });
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

t.test('a token revoked on one instance is refused on the other at its next request', { skip: noRedis }, async (t) => {
  const { a, b } = await twoInstances(t);
  const issued = (await a.signed('POST', '/v1/users/user-0001/tokens', { body: '{}' })).json().userToken;
  const echo = () => b.inject({ method: 'GET', url: '/v1/test/application/by/accesskey', headers: tokenHeader(issued.signedToken) });
  t.equal((await echo()).statusCode, 200, 'B accepts it (and caches its state)');
  t.equal((await a.signed('DELETE', `/v1/users/user-0001/tokens/${issued.tokenId}`)).statusCode, 200);
  t.equal(await settlesTo(async () => (await echo()).statusCode, 401), 401, 'B refuses it');
  t.equal((await echo()).json().errorCode, 'claim_rejected');
});

t.test('a token issued or revoked on A is listed so on B (each instance caches listings)', { skip: noRedis }, async (t) => {
  const { a, b } = await twoInstances(t);
  const listedOnB = async () => {
    const response = await b.inject({ method: 'GET', url: '/v1/users/user-0001/tokens', headers: a.signedHeaders('GET', '/v1/users/user-0001/tokens') });
    return response
      .json<Array<{ tokenId: string }>>()
      .map((token) => token.tokenId)
      .join();
  };
  t.equal(await listedOnB(), '', 'B lists none (and caches that)');
  const issued = (await a.signed('POST', '/v1/users/user-0001/tokens', { body: '{}' })).json().userToken;
  t.equal(await settlesTo(listedOnB, issued.tokenId), issued.tokenId, 'issued on A');
  t.equal((await a.signed('DELETE', `/v1/users/user-0001/tokens/${issued.tokenId}`)).statusCode, 200);
  t.equal(await settlesTo(listedOnB, ''), '', 'revoked on A');
});

t.test('a nonce used on one instance is refused on the other', { skip: noRedis }, async (t) => {
  const { a, b } = await twoInstances(t);
  const headers = a.signedHeaders('GET', '/v1/users/user-0001');
  t.equal((await a.app.inject({ method: 'GET', url: '/v1/users/user-0001', headers })).statusCode, 200);
  const replayed = await b.inject({ method: 'GET', url: '/v1/users/user-0001', headers });
  t.equal(replayed.statusCode, 401, 'a replay on B');
});

t.test('a presence set on one instance is read on the other and streamed to its subscribers', { skip: noRedis }, async (t) => {
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

t.test('a user deleted on one instance is gone for sudo requests on the other', { skip: noRedis }, async (t) => {
  const { a, b } = await twoInstances(t);
  const asSudo = () =>
    b.inject({
      method: 'GET',
      url: '/v1/users/user-0001',
      headers: { ...a.signedHeaders('GET', '/v1/users/user-0001'), 'x-mitter-sudo-user-id': 'user-0002' },
    });
  t.equal((await asSudo()).statusCode, 200, 'B knows user-0002 (and remembers it exists)');
  t.equal((await a.signed('DELETE', '/v1/users/user-0002')).statusCode, 200);
  t.equal(await settlesTo(async () => (await asSudo()).statusCode, 401), 401, 'B no longer accepts it as a sudo user');
});

t.test('a user changed on A reads changed on B, by id, by locator and its profile (each instance caches them)', { skip: noRedis }, async (t) => {
  const { a, b } = await twoInstances(t);
  const onB = async (url: string) => {
    const response = await b.inject({ method: 'GET', url, headers: a.signedHeaders('GET', url.split('?')[0]!) });
    return response.json();
  };
  const nameOnB = async () => (await onB('/v1/users/user-0001')).screenName.screenName;
  const ownersOnB = async (locator: string) =>
    ((await onB(`/v1/users?locators=${encodeURIComponent(locator)}`)) as Array<{ userId: string }>).map((u) => u.userId);

  t.equal((await a.signed('POST', '/v1/users/user-0001/locators', { body: json('email:a@x.io') })).statusCode, 200);
  t.equal(await nameOnB(), 'user-0001', 'B reads the user (and caches it)');
  t.same(await ownersOnB('email:a@x.io'), ['user-0001'], 'and finds it by its locator');

  t.equal((await a.signed('PUT', '/v1/users/user-0001/screenname', { body: json({ screenName: 'Renamed' }) })).statusCode, 200);
  t.equal(await settlesTo(nameOnB, 'Renamed'), 'Renamed', 'a new screen name');

  const [email] = (await a.signed('GET', '/v1/users/user-0001')).json().userLocators;
  t.equal((await a.signed('DELETE', `/v1/users/user-0001/locators/${email.userLocatorId}`)).statusCode, 200);
  t.equal((await a.signed('POST', '/v1/users/user-0002/locators', { body: json('email:a@x.io') })).statusCode, 200);
  t.equal(await settlesTo(async () => (await ownersOnB('email:a@x.io')).join(), 'user-0002'), 'user-0002', 'a locator moved to another user');

  t.equal((await a.signed('POST', '/v1/users/user-0001/suspension', { body: json({ reason: 'abuse' }) })).statusCode, 200);
  t.equal(await settlesTo(async () => (await onB('/v1/users/user-0001')).blocked, true), true, 'a suspension');

  const bioOnB = async () => ((await onB('/v1/users/user-0001/profile')).attributes as Array<{ value: string }>).map((a) => a.value).join();
  t.equal(await bioOnB(), '', 'B reads the profile (and caches it)');
  const bio = { key: 'mitter.upa.Bio', contentType: 'text/plain', contentEncoding: 'identity', value: 'hello' };
  t.equal((await a.signed('POST', '/v1/users/user-0001/profile', { body: json({ attributes: [bio] }) })).statusCode, 200);
  t.equal(await settlesTo(bioOnB, 'hello'), 'hello', 'a profile write');

  t.equal((await a.signed('DELETE', '/v1/users/user-0002')).statusCode, 200);
  t.equal(await settlesTo(async () => (await ownersOnB('email:a@x.io')).length, 0), 0, 'a deletion');
});

t.test('a suspension on A: B refuses the user’s token at its next request and ends its open stream', { skip: noRedis }, async (t) => {
  const { a, b, address } = await twoInstances(t);
  const issued = (await a.signed('POST', '/v1/users/user-0001/tokens', { body: '{}' })).json().userToken;
  const me = () => b.inject({ method: 'GET', url: '/v1/users/me', headers: tokenHeader(issued.signedToken) });
  t.equal((await me()).statusCode, 200, 'B accepts the token (and caches its state)');
  const stream = new StreamClient(`${address}/v1/users/me/events`, () => tokenHeader(issued.signedToken));
  t.teardown(() => stream.close());
  await stream.opened;

  t.equal((await a.signed('POST', '/v1/users/user-0001/suspension', { body: json({ reason: 'abuse' }) })).statusCode, 200);
  t.equal(await settlesTo(async () => (await me()).statusCode, 401), 401, 'B refuses it');
  t.equal((await me()).json().diagnostics.reason, 'suspended');
  await stream.ended;
  t.same(
    stream.events.map((event) => event.type),
    ['user.suspended'],
    'B’s stream of the user ended on the suspension',
  );
  t.equal((await a.signed('DELETE', '/v1/users/user-0001/suspension')).statusCode, 200);
  t.equal(await settlesTo(async () => (await me()).statusCode, 200), 200, 'reinstated on A: B accepts it again');
});

t.test('a block on A: B hides the blocker from the blocked user at its next request and in its open stream', { skip: noRedis }, async (t) => {
  const { a, b, address } = await twoInstances(t);
  const token = (user: string) => a.signed('POST', `/v1/users/${user}/tokens`, { body: '{}' }).then((r) => r.json().userToken.signedToken as string);
  const [blocker, blocked] = await Promise.all([token('user-0001'), token('user-0002')]);
  t.equal((await a.signed('POST', '/v1/users/user-0001/presence', { body: json({ type: 'mitter.up.Online', timeToLive: 0 }) })).statusCode, 200);
  const read = async () =>
    (await b.inject({ method: 'GET', url: '/v1/users/user-0001/presence', headers: tokenHeader(blocked) })).json()[0].presence.presence?.type ?? null;
  t.equal(await read(), 'mitter.up.Online', 'B shows the presence (and caches what the viewer may see)');
  const stream = new StreamClient(`${address}/v1/users/me/events?presenceOf=user-0001`, () => tokenHeader(blocked));
  t.teardown(() => stream.close());
  await stream.opened;

  const block = await a.app.inject({ method: 'POST', url: '/v1/users/me/blocked-users/user-0002', headers: tokenHeader(blocker) });
  t.equal(block.statusCode, 200);
  t.equal(await settlesTo(read, null), null, 'B hides it');
  t.equal((await a.signed('POST', '/v1/users/user-0001/presence', { body: json({ type: 'mitter.up.Away', timeToLive: 0 }) })).statusCode, 200);
  t.equal((await a.signed('POST', '/v1/users/user-0001/blocked-users/user-0002')).statusCode, 200);
  const unblock = await a.app.inject({ method: 'DELETE', url: '/v1/users/me/blocked-users/user-0002', headers: tokenHeader(blocker) });
  t.equal(unblock.statusCode, 200);
  t.equal((await a.signed('POST', '/v1/users/user-0001/presence', { body: json({ type: 'mitter.up.Busy', timeToLive: 0 }) })).statusCode, 200);
  const received = await stream.untilCount(3);
  t.same(
    received.map((event) => `${event.type}:${String((event.data.data?.presence as { type?: string } | undefined)?.type ?? event.data.data?.active)}`),
    ['block.changed:true', 'block.changed:false', 'presence:mitter.up.Busy'],
    'the Away set while blocked never reached B’s stream',
  );
});

const chain = { type: 'mitter.up.Online', timeToLive: 5, expiresTo: { type: 'mitter.up.Away', timeToLive: 0 } };

/** The transition events in the log (each instance appends the transitions it fired). */
async function transitionsLogged(pair: Pair): Promise<Array<{ userId: string | null; type: string }>> {
  const rows = await pair.b.locus.db.query.selectFrom('Event').select(['userId', 'data']).where('type', '=', 'presence').orderBy('seq').execute();
  return rows
    .map((row) => ({ userId: row.userId, data: JSON.parse(row.data) as { presence: { type: string } | null; setTimeMs: number } }))
    .filter((row) => row.data.presence?.type === 'mitter.up.Away')
    .map((row) => ({ userId: row.userId, type: row.data.presence?.type ?? 'none' }));
}

t.test('a chained transition fires exactly once across instances, whichever set it', { skip: noRedis }, async (t) => {
  const pair = await twoInstances(t);
  const { a, b } = pair;
  t.equal((await a.signed('POST', '/v1/users/user-0001/presence', { body: json(chain) })).statusCode, 200);
  const sudoHeaders = { ...a.signedHeaders('POST', '/v1/users/me/presence', { body: json(chain) }), 'x-mitter-sudo-user-id': 'user-0002' };
  t.equal((await b.inject({ method: 'POST', url: '/v1/users/me/presence', headers: sudoHeaders, payload: json(chain) })).statusCode, 200);
  t.equal(await a.app.locus.presence.scheduled(), 2, 'one shared schedule');
  a.clock.advance(5_000);
  // Both instances run their due transitions at the same moment, several times over.
  const fired = await Promise.all([a.app.locus.presence.runDue(), b.locus.presence.runDue(), a.app.locus.presence.runDue(), b.locus.presence.runDue()]);
  t.equal(
    fired.reduce((sum, n) => sum + n, 0),
    2,
    `each transition fired once (${fired.join(', ')})`,
  );
  await Promise.all([a.app.locus.events.flush(), b.locus.events.flush()]);
  t.same((await transitionsLogged(pair)).map((row) => row.userId).sort(), ['user-0001', 'user-0002'], 'one event each in the log');
  t.equal(await b.locus.presence.scheduled(), 0, 'Away is static: nothing left');
});

t.test(
  'stream caps hold across instances: a user’s sixth stream is refused wherever it opens, and a place freed on one is taken on the other',
  { skip: noRedis },
  async (t) => {
    const { a, address: addressB } = await twoInstances(t);
    const addressA = await a.app.listen({ host: '127.0.0.1', port: 0 });
    const token = (await a.signed('POST', '/v1/users/user-0001/tokens', { body: '{}' })).json().userToken.signedToken;
    const other = (await a.signed('POST', '/v1/users/user-0002/tokens', { body: '{}' })).json().userToken.signedToken;
    const open = (address: string, as = token) => new StreamClient(`${address}/v1/users/me/events`, () => tokenHeader(as));
    const streams = [open(addressA), open(addressA), open(addressA), open(addressB), open(addressB)];
    t.teardown(() => streams.forEach((stream) => stream.close()));
    await Promise.all(streams.map((stream) => stream.opened));

    for (const [name, address] of [
      ['A', addressA],
      ['B', addressB],
    ]) {
      const sixth = await fetch(`${address}/v1/users/me/events`, { headers: tokenHeader(token) });
      t.equal(sixth.status, 429, `a sixth stream on ${name} is refused`);
      t.equal(((await sixth.json()) as { errorCode: string }).errorCode, 'limit_exceeded');
    }
    const neighbour = open(addressB, other);
    t.teardown(() => neighbour.close());
    await neighbour.opened;
    t.pass('another user of the application still opens a stream');

    streams[0]!.close();
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      const attempt = await fetch(`${addressB}/v1/users/me/events`, { headers: tokenHeader(token) });
      status = attempt.status;
      await attempt.body?.cancel();
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    t.equal(status, 200, 'the place given back on A is taken on B');
  },
);

t.test('a transition scheduled by an instance that is gone fires on the other', { skip: noRedis }, async (t) => {
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

t.test('Redis gone: 503s and a failing /readyz, never a hang; back (even empty): the instance recovers by itself', { skip: noRedis }, async (t) => {
  const target = new URL(TEST_REDIS_URL);
  const proxy = await tcpProxy(t, target.hostname, Number(target.port || 6379));
  const prefix = `locus-test-${randomUUID()}`;
  const proxyUrl = `redis://${proxy.host}:${proxy.port}`;
  const redis = { client: connectRedis(proxyUrl), subscriber: connectRedis(proxyUrl, { subscriber: true }), prefix };
  const cleanup = testRedis(prefix);
  t.teardown(async () => {
    redis.client.disconnect();
    redis.subscriber.disconnect();
    await cleanup.drop();
  });
  const test = await buildTestApp(t, { presenceTimers: false, redis });
  t.equal((await test.signed('POST', '/v1/users', { body: json({ userId: 'user-0001', screenName: { screenName: 'One' } }) })).statusCode, 200);
  const presence = { type: 'mitter.up.Online', timeToLive: 0 };
  t.equal((await test.signed('POST', '/v1/users/user-0001/presence', { body: json(presence) })).statusCode, 200);
  await test.app.locus.presence.flush();

  proxy.cut();
  // What a restarted Redis would hold: nothing of this deployment.
  const keys = await cleanup.client.keys(`${prefix}:*`);
  if (keys.length > 0) await cleanup.client.del(...keys);
  const started = Date.now();
  const refused = await test.signed('GET', '/v1/users/user-0001/presence');
  t.same(
    { status: refused.statusCode, code: refused.json().errorCode, dependency: refused.json().diagnostics?.dependency },
    { status: 503, code: 'service_unavailable', dependency: 'redis' },
  );
  t.equal(refused.headers['retry-after'], '1');
  t.ok(Date.now() - started < 5_000, `answered in ${Date.now() - started} ms`);
  const ready = await test.app.inject({ method: 'GET', url: '/readyz' });
  t.same({ status: ready.statusCode, dependency: ready.json().diagnostics?.dependency }, { status: 503, dependency: 'redis' });
  const metrics = (await test.app.inject({ method: 'GET', url: '/metrics' })).body;
  const failures = Number(/^locus_dependency_errors_total\{dependency="redis",source="request"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
  t.ok(failures >= 2, `the metrics count the requests Redis failed (${failures})`);

  proxy.restore();
  t.equal(await settlesTo(async () => (await test.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200), 200, 'ready again, unrestarted');
  const read = async () => (await test.signed('GET', '/v1/users/user-0001/presence')).json()[0]?.presence?.presence?.type ?? null;
  t.equal(await settlesTo(read, 'mitter.up.Online'), 'mitter.up.Online', 'the presence, reloaded from the database');
});

t.test('webhooks: each event delivered once per deployment; another instance takes over when the deliverer stops', { skip: noRedis }, async (t) => {
  const pair = await twoInstances(t);
  const { a, b } = pair;
  const received: string[] = [];
  const receiver = createHttpServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      received.push((JSON.parse(body) as { data: { screenName: string } }).data.screenName);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  t.teardown(() => receiver.close());
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  let out = '';
  t.equal(
    await runCli(['webhook', 'add', a.credentials.applicationId, url, '--types', 'user.screenname'], {
      env: a.database.env,
      stdout: (s) => (out += s),
      stderr: (s) => (out += s),
    }),
    0,
    out,
  );
  await Promise.all([a.app.locus.webhooks.reload(), b.locus.webhooks.reload()]);
  t.equal(a.app.locus.webhooks.endpoints + b.locus.webhooks.endpoints, 1, 'one instance delivers');

  for (const name of ['one', 'two']) await a.signed('PUT', '/v1/users/user-0001/screenname', { body: json({ screenName: name }) });
  await b.locus.users.setScreenName(a.credentials.applicationId, 'user-0002', 'three');
  // B's change reaches the deliverer over the Redis bus.
  await settlesTo(async () => received.length >= 3, true);
  await Promise.all([a.app.locus.webhooks.settle(), b.locus.webhooks.settle()]);
  t.same([...received].sort(), ['one', 'three', 'two'], 'each once, whichever instance made the change');

  await a.app.close();
  await b.locus.webhooks.reload();
  t.equal(b.locus.webhooks.endpoints, 1, 'B took over');
  await b.locus.users.setScreenName(a.credentials.applicationId, 'user-0002', 'four');
  await b.locus.webhooks.settle();
  t.same(received.slice(3), ['four'], 'from the stored cursor: nothing again, nothing missed');
});

t.test(
  'an access key revoked by the CLI is refused by running instances at their next request',
  { skip: (testProvider !== 'postgresql' && 'REDIS_URL goes with PostgreSQL') || noRedis },
  async (t) => {
    const prefix = `locus-test-${randomUUID()}`;
    const test = await buildTestApp(t, { presenceTimers: false, redis: redisFor(t, prefix) });
    const second = await test.app.locus.applications.addKey(test.credentials.applicationId);
    const withSecond = { credentials: second };
    t.equal((await test.signed('GET', '/v1/users', withSecond)).statusCode, 200, 'the key works (and is cached)');
    let out = '';
    const env = { ...test.database.env, REDIS_URL: TEST_REDIS_URL, LOCUS_REDIS_PREFIX: prefix };
    t.equal(
      await runCli(['key', 'revoke', test.credentials.applicationId, second.accessKey], { env, stdout: (s) => (out += s), stderr: (s) => (out += s) }),
      0,
      out,
    );
    // No revision polling here (watchApplications is off in tests): only the CLI's message can do it.
    t.equal(await settlesTo(async () => (await test.signed('GET', '/v1/users', withSecond)).statusCode, 401), 401);
  },
);

t.test(
  'PostgreSQL gone: 503s and a failing /readyz, never a hang; back: the instance recovers by itself',
  { skip: (testProvider !== 'postgresql' && 'the embedded SQLite file cannot go away') || noRedis },
  async (t) => {
    const database = await createTestDatabase('postgresql');
    t.teardown(() => database.drop());
    const url = new URL(database.config.databaseUrl);
    const proxy = await tcpProxy(t, url.hostname, Number(url.port || 5432));
    url.hostname = proxy.host;
    url.port = String(proxy.port);
    const test = await buildTestApp(t, { presenceTimers: false, database: { ...database, config: { ...database.config, databaseUrl: url.toString() } } });
    t.equal((await test.signed('POST', '/v1/users', { body: json({ userId: 'user-0001', screenName: { screenName: 'One' } }) })).statusCode, 200);

    proxy.cut();
    const started = Date.now();
    const refused = await test.signed('GET', '/v1/users/user-0001');
    t.same(
      { status: refused.statusCode, code: refused.json().errorCode, dependency: refused.json().diagnostics?.dependency },
      { status: 503, code: 'service_unavailable', dependency: 'database' },
    );
    t.ok(Date.now() - started < 5_000, `answered in ${Date.now() - started} ms`);
    const write = await test.signed('PUT', '/v1/users/user-0001/screenname', { body: json({ screenName: 'lost?' }) });
    t.equal(write.statusCode, 503, 'a write is refused, not half-done');
    t.equal((await test.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503);

    proxy.restore();
    t.equal(await settlesTo(async () => (await test.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200), 200, 'ready again, unrestarted');
    const user = await settlesTo(async () => (await test.signed('GET', '/v1/users/user-0001')).statusCode, 200);
    t.equal(user, 200);
    t.equal((await test.signed('GET', '/v1/users/user-0001')).json().screenName.screenName, 'One', 'the refused write did not happen');
  },
);
