// Device (QR) login (docs/social.md) over HTTP on a manual clock: a new device starts a link, a
// logged-in user approves it, and the device collects its own token exactly once, by long-poll or
// by SSE; codes are single-use, links expire, starts are limited per address.
import t, { type Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { ManualTimers } from '../helpers/timers.ts';
import { ManualClock } from '../helpers/clock.ts';
import { json, populate, type World } from '../helpers/world.ts';

interface Setup extends TestApp {
  users: World;
  start(headers?: Record<string, string>): Promise<{ linkId: string; pollToken: string; code: string; qrSvg: string; expiresAt: number }>;
  poll(linkId: string, pollToken: string, wait?: number): Promise<LightMyRequestResponse>;
}

async function setup(t: Test, options: Parameters<typeof buildTestApp>[1] = {}): Promise<Setup> {
  const test = await buildTestApp(t, { presenceTimers: false, ...options });
  const users = await populate(test, ['user-0001', 'user-0002']);
  return {
    ...test,
    users,
    async start(headers = {}) {
      const response = await test.app.inject({
        method: 'POST',
        url: '/v1/device-links',
        headers: { 'x-mitter-application-id': test.credentials.applicationId, 'user-agent': 'NewPhone/1.0', ...headers },
      });
      if (response.statusCode !== 200) throw new Error(`could not start a link: ${response.body}`);
      return response.json();
    },
    poll: (linkId, pollToken, wait = 0) =>
      test.app.inject({ method: 'GET', url: `/v1/device-links/${linkId}?pollToken=${encodeURIComponent(pollToken)}&wait=${wait}` }),
  };
}

t.test('start, approve, collect once: the device gets its own token for the approving user', async (t) => {
  const test = await setup(t);
  const link = await test.start();
  t.match(link.linkId, /^[A-Za-z0-9]{22}$/);
  t.match(link.code, /^[A-Za-z0-9]{32}$/, 'the code carries ≥ 128 bits');
  t.not(link.code, link.pollToken);
  t.match(link.qrSvg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"[\s\S]*<\/svg>\s*$/, 'an SVG QR code');
  t.equal(link.expiresAt, test.clock.now() + 120_000, 'two minutes');

  const pending = await test.poll(link.linkId, link.pollToken);
  t.equal(pending.statusCode, 200);
  t.same(pending.json(), { status: 'pending' });
  t.equal(pending.headers['cache-control'], 'no-store');

  const approver = test.users['user-0001']!;
  t.equal((await approver.call('POST', `/v1/device-links/${link.code}/approve`, { deviceName: 'Kitchen tablet' })).statusCode, 200);
  const again = await test.users['user-0002']!.call('POST', `/v1/device-links/${link.code}/approve`, {});
  t.equal(again.statusCode, 404, 'a code is single-use');

  const collected = await test.poll(link.linkId, link.pollToken);
  t.equal(collected.statusCode, 200);
  const body = collected.json();
  t.equal(body.status, 'approved');
  t.not(body.userToken.tokenId, approver.tokenId, 'a fresh token, not the approver’s');
  const me = await test.app.inject({ method: 'GET', url: '/v1/users/me', headers: { authorization: `Bearer ${body.userToken.signedToken}` } });
  t.equal(me.json().userId, 'user-0001', 'it acts as the approving user');
  const listed = (await test.signed('GET', '/v1/users/user-0001/tokens')).json();
  t.equal(
    listed.find((token: { tokenId: string }) => token.tokenId === body.userToken.tokenId)?.userAgent,
    'NewPhone/1.0',
    'listed with the new device’s agent',
  );

  t.equal((await test.poll(link.linkId, link.pollToken)).statusCode, 404, 'then the link is gone');
});

t.test('wrong poll tokens, unknown links and codes are 404s; bad input is a 400; the policy', async (t) => {
  const test = await setup(t);
  const link = await test.start();
  t.equal((await test.poll(link.linkId, 'not-the-poll-token')).statusCode, 404);
  t.equal((await test.poll('NoSuchLink', link.pollToken)).statusCode, 404);
  t.equal((await test.users['user-0001']!.call('POST', '/v1/device-links/NoSuchCode/approve')).statusCode, 404);
  const noToken = await test.app.inject({ method: 'GET', url: `/v1/device-links/${link.linkId}` });
  t.equal(noToken.statusCode, 400);
  t.equal(noToken.json().diagnostics.field, 'pollToken');
  const longName = await test.users['user-0001']!.call('POST', `/v1/device-links/${link.code}/approve`, { deviceName: 'x'.repeat(129) });
  t.equal(longName.statusCode, 400);
  t.equal(longName.json().diagnostics.field, 'deviceName');
  t.same((await test.poll(link.linkId, link.pollToken)).json(), { status: 'pending' }, 'still pending');

  t.equal((await test.app.inject({ method: 'POST', url: '/v1/device-links' })).statusCode, 401, 'a link needs X-Mitter-Application-Id');
  t.equal((await test.signed('POST', '/v1/device-links')).statusCode, 403, 'only a device without credentials starts one');
  const anonymousApproval = await test.app.inject({
    method: 'POST',
    url: `/v1/device-links/${link.code}/approve`,
    headers: { 'x-mitter-application-id': test.credentials.applicationId },
  });
  t.equal(anonymousApproval.statusCode, 401, 'approving needs a logged-in user');
  const systemApproval = await test.signed('POST', `/v1/device-links/${link.code}/approve`);
  t.equal(systemApproval.statusCode, 403, '.system has no user to log in as');
});

t.test('an expired link is gone (controlled clock)', async (t) => {
  const test = await setup(t);
  const link = await test.start();
  test.clock.advance(120_000);
  t.equal((await test.poll(link.linkId, link.pollToken)).statusCode, 404, 'the poll');
  t.equal((await test.users['user-0001']!.call('POST', `/v1/device-links/${link.code}/approve`)).statusCode, 404, 'the approval');

  const approvedLate = await test.start();
  await test.users['user-0001']!.call('POST', `/v1/device-links/${approvedLate.code}/approve`);
  test.clock.advance(120_000);
  t.equal((await test.poll(approvedLate.linkId, approvedLate.pollToken)).statusCode, 404, 'approved but not collected in time');
});

t.test('two concurrent long-polls receive the token once between them', async (t) => {
  const test = await setup(t);
  for (let round = 0; round < 5; round++) {
    const link = await test.start();
    const polls = [test.poll(link.linkId, link.pollToken, 30), test.poll(link.linkId, link.pollToken, 30)];
    const approval = test.users['user-0001']!.call('POST', `/v1/device-links/${link.code}/approve`);
    const [a, b] = await Promise.all(polls);
    t.equal((await approval).statusCode, 200);
    const statuses = [a!.statusCode, b!.statusCode].sort();
    t.same(statuses, [200, 404], `round ${round}: one token, one 404`);
    const winner = a!.statusCode === 200 ? a! : b!;
    t.equal(winner.json().status, 'approved');
  }
});

t.test('the long-poll waits at most 30 s, and ends pending (manual timers)', async (t) => {
  const clock = new ManualClock();
  const timers = new ManualTimers(clock);
  const test = await setup(t, { clock, eventTimers: timers });
  const link = await test.start();
  const armed = timers.pending.size;
  const waiting = test.poll(link.linkId, link.pollToken, 30);
  while (timers.pending.size === armed) await new Promise((resolve) => setImmediate(resolve));
  let answered = false;
  void waiting.then(() => (answered = true));
  await timers.advance(29_000, 1_000);
  t.notOk(answered, 'still waiting after 29 s');
  await timers.advance(1_000, 1_000);
  const response = await waiting;
  t.same(response.json(), { status: 'pending' }, 'pending at 30 s');
});

t.test('SSE: one approved event with the token, then the stream ends; an expired link closes it', async (t) => {
  const clock = new ManualClock();
  const timers = new ManualTimers(clock);
  const test = await setup(t, { clock, eventTimers: timers });
  const address = await test.app.listen({ host: '127.0.0.1', port: 0 });
  const link = await test.start();
  const response = await fetch(`${address}/v1/device-links/${link.linkId}/events?pollToken=${link.pollToken}`);
  t.equal(response.status, 200);
  t.match(response.headers.get('content-type'), /text\/event-stream/);
  t.equal((await test.users['user-0002']!.call('POST', `/v1/device-links/${link.code}/approve`)).statusCode, 200);
  const text = await response.text();
  const data = /event: approved\ndata: (.*)\n/.exec(text)?.[1];
  t.ok(data, 'an approved event');
  const event = JSON.parse(data!);
  t.equal(event.status, 'approved');
  const me = await test.app.inject({ method: 'GET', url: '/v1/users/me', headers: { authorization: `Bearer ${event.userToken.signedToken}` } });
  t.equal(me.json().userId, 'user-0002');
  t.equal((await test.poll(link.linkId, link.pollToken)).statusCode, 404, 'consumed: the long-poll finds nothing');

  const refused = await fetch(`${address}/v1/device-links/${link.linkId}/events?pollToken=${link.pollToken}`);
  t.equal(refused.status, 404, 'a consumed link’s stream is a 404');
  t.equal(((await refused.json()) as { errorCode: string }).errorCode, 'entity_not_found');

  const expiring = await test.start();
  const armed = timers.pending.size;
  const stream = await fetch(`${address}/v1/device-links/${expiring.linkId}/events?pollToken=${expiring.pollToken}`);
  const body = stream.text();
  while (timers.pending.size === armed) await new Promise((resolve) => setImmediate(resolve));
  await timers.advance(120_000, 10_000);
  t.match(await body, /event: closing\ndata: \{"reason":"expired"\}/, 'the link expired first');
});

t.test('at most 10 links a minute from one address; the session limit applies to the new token', async (t) => {
  const test = await setup(t);
  for (let i = 0; i < 10; i++) await test.start();
  const limited = await test.app.inject({ method: 'POST', url: '/v1/device-links', headers: { 'x-mitter-application-id': test.credentials.applicationId } });
  t.equal(limited.statusCode, 429);
  t.equal(limited.json().errorCode, 'rate_limited');
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After');
  const elsewhere = await test.app.inject({
    method: 'POST',
    url: '/v1/device-links',
    remoteAddress: '10.0.0.7',
    headers: { 'x-mitter-application-id': test.credentials.applicationId },
  });
  t.equal(elsewhere.statusCode, 200, 'another address has its own budget');
  test.clock.advance(60_000);
  const link = await test.start();

  await test.app.locus.applications.updateSettings(test.credentials.applicationId, ['maxActiveTokensPerUser=1']);
  const approver = test.users['user-0001']!;
  t.equal((await approver.call('POST', `/v1/device-links/${link.code}/approve`)).statusCode, 200);
  const collected = (await test.poll(link.linkId, link.pollToken)).json();
  t.equal(collected.status, 'approved');
  t.equal((await approver.call('GET', '/v1/users/me')).statusCode, 401, 'at the limit, the least recently used token made room');
  t.equal(json(collected.userToken.ttl), json(30 * 24 * 60 * 60), 'the application’s default lifetime');
});
