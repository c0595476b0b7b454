// Rate limits (docs/api.md) from the outside, on a manual clock: a burst that passes each budget gets
// 429 `rate_limited` with Retry-After and the RateLimit headers, while a neighbour (another address,
// user or application) does not; probes are never limited; the budgets are shared by two instances
// on Redis.
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { ManualClock } from '../helpers/clock.ts';
import { testRedis } from '../helpers/redis.ts';
import { unlessReachable } from '../helpers/services.ts';
import { json, populate, type World } from '../helpers/world.ts';

const noRedis = await unlessReachable('redis');

async function setup(t: Test, settings: string[] = []): Promise<TestApp & { users: World }> {
  const test = await buildTestApp(t, { presenceTimers: false });
  const users = await populate(test, ['user-0001', 'user-0002']);
  if (settings.length > 0) await test.app.locus.applications.updateSettings(test.credentials.applicationId, settings);
  // A fresh window: populating the users spent some of this one.
  test.clock.advance(60_000);
  return { ...test, users };
}

function isLimited(response: LightMyRequestResponse, policy: string): boolean {
  if (response.statusCode !== 429) return false;
  const body = response.json<{ errorCode: string; diagnostics: { policy: string } }>();
  return body.errorCode === 'rate_limited' && body.diagnostics.policy === policy && Number(response.headers['retry-after']) >= 1;
}

t.test('anonymous callers: 20 a second per address; probes are never limited', async (t) => {
  const test = await setup(t);
  const anonymous = (address: string) => test.app.inject({ method: 'GET', url: '/v1/users/user-0001', remoteAddress: address });
  for (let i = 0; i < 20; i++) t.equal((await anonymous('198.51.100.1')).statusCode, 401);
  const limited = await anonymous('198.51.100.1');
  t.ok(isLimited(limited, 'address'), `the 21st is a 429 (${limited.statusCode})`);
  t.equal(limited.headers['ratelimit-policy'], '"address";q=20;w=1');
  t.match(String(limited.headers.ratelimit), /^"address";r=0;t=1$/);
  t.equal((await anonymous('198.51.100.2')).statusCode, 401, 'another address is not limited');
  for (let i = 0; i < 30; i++) t.equal((await test.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '198.51.100.1' })).statusCode, 200);
  test.clock.advance(1_000);
  t.equal((await anonymous('198.51.100.1')).statusCode, 401, 'the next second, the address may try again');
});

t.test('failed credentials count against the address', async (t) => {
  const test = await setup(t);
  const badToken = () =>
    test.app.inject({ method: 'GET', url: '/v1/users/me', remoteAddress: '198.51.100.9', headers: { authorization: 'Bearer not.a.token' } });
  for (let i = 0; i < 20; i++) t.equal((await badToken()).statusCode, 401);
  t.ok(isLimited(await badToken(), 'address'), 'a flood of bad tokens is refused');
});

t.test('users: rateLimitUser a second, in bursts of twice that; each user has its own budget', async (t) => {
  const test = await setup(t, ['rateLimitUser=5']);
  const one = test.users['user-0001']!;
  const answers = [];
  for (let i = 0; i < 11; i++) answers.push(await one.call('GET', '/v1/users/me'));
  t.same(
    answers.slice(0, 10).map((r) => r.statusCode),
    Array(10).fill(200),
    'a burst of 10',
  );
  t.ok(isLimited(answers[10]!, 'user'), 'the 11th in the window is a 429');
  t.equal(answers[10]!.headers['ratelimit-policy'], '"user";q=10;w=2', 'the refusal names the budget');
  t.equal((await test.users['user-0002']!.call('GET', '/v1/users/me')).statusCode, 200, 'another user is not limited');
  test.clock.advance(2_000);
  t.equal((await one.call('GET', '/v1/users/me')).statusCode, 200, 'the next window');
});

t.test('applications: rateLimitApp signed requests a second', async (t) => {
  const test = await setup(t, ['rateLimitApp=10']);
  for (let i = 0; i < 10; i++) t.equal((await test.signed('GET', '/v1/users/user-0001')).statusCode, 200);
  const limited = await test.signed('GET', '/v1/users/user-0001');
  t.ok(isLimited(limited, 'app'), 'the 11th is a 429');
  const sudo = await test.signed('GET', '/v1/users/me', { headers: { 'x-mitter-sudo-user-id': 'user-0001' } });
  t.equal(sudo.statusCode, 429, 'sudo requests share the application budget');
  const other = await test.app.locus.applications.create('neighbour');
  const neighbour = await test.signed('GET', '/v1/users', { credentials: other });
  t.equal(neighbour.statusCode, 200, 'another application is not limited');
  t.equal((await test.users['user-0001']!.call('GET', '/v1/users/me')).statusCode, 200, 'nor the users, who have their own budgets');
});

t.test('login and device-link starts: 10 a minute per address, whatever the answer', async (t) => {
  const test = await setup(t, ['passwordLogin=true']);
  await test.signed('PUT', '/v1/users/user-0001/password', { body: json({ password: 'the right password' }) });
  const login = (address: string, password: string) =>
    test.app.inject({
      method: 'POST',
      url: '/v1/login',
      remoteAddress: address,
      headers: { 'content-type': 'application/json', 'x-mitter-application-id': test.credentials.applicationId },
      payload: json({ userId: 'user-0001', password }),
    });
  for (let i = 0; i < 4; i++) t.equal((await login('198.51.100.5', `wrong ${i}`)).statusCode, 401);
  for (let i = 0; i < 6; i++) {
    const started = await test.app.inject({
      method: 'POST',
      url: '/v1/device-links',
      remoteAddress: '198.51.100.5',
      headers: { 'x-mitter-application-id': test.credentials.applicationId },
    });
    t.equal(started.statusCode, 200);
  }
  t.ok(isLimited(await login('198.51.100.5', 'the right password'), 'login'), 'the 11th of the minute is refused, even right');
  t.equal((await login('198.51.100.6', 'the right password')).statusCode, 200, 'another address logs in');
  test.clock.advance(60_000);
  t.equal((await login('198.51.100.5', 'the right password')).statusCode, 200, 'a minute later');
});

t.test('two instances on Redis share a user’s budget', { skip: noRedis }, async (t) => {
  const prefix = `locus-test-${randomUUID()}`;
  const clock = new ManualClock();
  const redisA = testRedis(prefix);
  const redisB = testRedis(prefix);
  t.teardown(async () => {
    await redisA.drop();
    await redisB.drop();
  });
  const a = await buildTestApp(t, { clock, presenceTimers: false, redis: redisA });
  const b = await buildApp(a.database.config, { logger: false, watchApplications: false, presenceTimers: false, eventTimers: false, clock, redis: redisB });
  t.teardown(() => b.close());
  const users = await populate(a, ['user-0001']);
  await a.app.locus.applications.updateSettings(a.credentials.applicationId, ['rateLimitUser=5']);
  await b.locus.applications.refreshIfChanged();
  clock.advance(60_000);
  const token = users['user-0001']!.token;
  const me = (instance: typeof b) => instance.inject({ method: 'GET', url: '/v1/users/me', headers: { 'x-issued-mitter-user-authorization': token } });
  const statuses = [];
  for (let i = 0; i < 11; i++) statuses.push((await me(i % 2 === 0 ? a.app : b)).statusCode);
  t.same(statuses, [...Array(10).fill(200), 429], 'ten between them, then refused on either');
  t.equal((await me(a.app)).statusCode, 429);
});

t.test('behind a trusted proxy, the client address is the X-Forwarded-For hop it vouches for', async (t) => {
  const database = await createTestDatabase();
  database.config.trustedProxies = ['127.0.0.1'];
  t.teardown(() => database.drop());
  const test = await buildTestApp(t, { presenceTimers: false, database });
  test.clock.advance(60_000);
  const viaProxy = (client: string, remoteAddress = '127.0.0.1') =>
    test.app.inject({ method: 'GET', url: '/v1/users/nobody-0001', remoteAddress, headers: { 'x-forwarded-for': `${client}, 127.0.0.1` } });
  for (let i = 0; i < 20; i++) t.equal((await viaProxy('203.0.113.50')).statusCode, 401);
  t.equal((await viaProxy('203.0.113.50')).statusCode, 429, 'one client behind the proxy is limited');
  t.equal((await viaProxy('203.0.113.51')).statusCode, 401, 'another client behind the same proxy is not');
  for (let i = 0; i < 20; i++) await viaProxy(`198.51.100.${i}`, '192.0.2.99');
  t.equal((await viaProxy('198.51.100.200', '192.0.2.99')).statusCode, 429, 'an untrusted peer’s X-Forwarded-For is ignored: its own address is counted');
});
