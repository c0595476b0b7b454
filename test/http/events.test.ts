// docs/events.md over real HTTP with a real SSE client (`eventsource`): every change is an event, in
// order, in the change's transaction; the application stream resumes by id without loss or
// duplication and says `reset` when its resume point is gone; a user's stream carries the
// presence (set and server-side transitions) and profile changes of the users it watches and its
// own token's revocation, and nothing else; slow consumers are cut off, not waited for.
import t, { type Test } from 'tap';
import type { EventDraft } from '../../src/modules/events/store.ts';
import { MAX_QUEUED_EVENTS, type EventSink } from '../../src/modules/events/subscription.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { StreamClient, type Received } from '../helpers/sse.ts';

const json = (value: unknown) => JSON.stringify(value);
const online = (ttl: number, expiresTo?: unknown) => ({ type: 'mitter.up.Online', timeToLive: ttl, ...(expiresTo ? { expiresTo } : {}) });
const away = () => ({ type: 'mitter.up.Away', timeToLive: 0 });

interface Setup extends TestApp {
  address: string;
  /** The application stream (`.system`), signed per connection. */
  appStream(query?: string, headers?: Record<string, string>): Promise<StreamClient>;
  /** A user's own stream with a token. */
  userStream(token: string, query?: string): Promise<StreamClient>;
  tokenFor(userId: string): Promise<{ token: string; tokenId: string }>;
}

async function setup(t: Test, users: string[] = ['user-0001', 'user-0002', 'user-0003']): Promise<Setup> {
  const test = await buildTestApp(t, { presenceTimers: false, eventTimers: false });
  const address = await test.app.listen({ host: '127.0.0.1', port: 0 });
  for (const userId of users) {
    const created = await test.signed('POST', '/v1/users', { body: json({ userId, screenName: { screenName: userId } }) });
    t.equal(created.statusCode, 200, `created ${userId}`);
  }
  const streams: StreamClient[] = [];
  t.teardown(() => streams.forEach((stream) => stream.close()));
  const open = async (path: string, query: string, headers: () => Record<string, string>) => {
    const stream = new StreamClient(`${address}${path}${query ? `?${query}` : ''}`, headers);
    streams.push(stream);
    await stream.opened;
    return stream;
  };
  return {
    ...test,
    address,
    appStream: (query = '', headers = {}) => open('/v1/events', query, () => ({ ...test.signedHeaders('GET', '/v1/events'), ...headers })),
    userStream: (token, query = '') => open('/v1/users/me/events', query, () => ({ 'x-issued-mitter-user-authorization': token })),
    async tokenFor(userId) {
      const issued = (await test.signed('POST', `/v1/users/${userId}/tokens`, { body: '{}' })).json();
      return { token: issued.userToken.signedToken, tokenId: issued.userToken.tokenId };
    },
  };
}

const types = (received: Received[]) => received.map((message) => message.type);
const ids = (received: Received[]) => received.map((message) => Number(message.data.id));

t.test('the application stream: every change is an event, with its data, in order', async (t) => {
  const test = await setup(t, ['user-0001']);
  const stream = await test.appStream();
  const t0 = test.clock.now();

  t.equal(
    (
      await test.signed('POST', '/v1/users', {
        body: json({ userId: 'user-0002', screenName: { screenName: 'Two' }, userLocators: ['email:two@example.com'] }),
      })
    ).statusCode,
    200,
  );
  t.equal((await test.signed('PUT', '/v1/users/user-0002/screenname', { body: json({ screenName: 'Deux' }) })).statusCode, 200);
  t.equal((await test.signed('POST', '/v1/users/user-0002/locators', { body: json('tele:+14155550100') })).statusCode, 200);
  const locatorId = (await test.signed('GET', '/v1/users/user-0002'))
    .json()
    .userLocators.find((l: { locator: string }) => l.locator.startsWith('tele:')).userLocatorId;
  t.equal((await test.signed('DELETE', `/v1/users/user-0002/locators/${locatorId}`)).statusCode, 200);
  const attribute = { key: 'mitter.upa.Email', contentType: 'text/plain', contentEncoding: 'identity', value: 'Two@Example.com' };
  t.equal((await test.signed('POST', '/v1/users/user-0002/profile/mitter.upa.Email', { body: json(attribute) })).statusCode, 200);
  const { tokenId } = await test.tokenFor('user-0002');
  t.equal((await test.signed('DELETE', `/v1/users/user-0002/tokens/${tokenId}`)).statusCode, 200);
  t.equal((await test.signed('POST', '/v1/users/user-0002/presence', { body: json(away()) })).statusCode, 200);
  t.equal((await test.signed('DELETE', '/v1/users/user-0002')).statusCode, 200);

  const received = await stream.untilCount(9);
  t.same(types(received), [
    'user.created',
    'user.screenname',
    'locator.added',
    'locator.removed',
    'profile.changed',
    'token.issued',
    'token.revoked',
    'presence',
    'user.deleted',
  ]);
  t.ok(received.every((message) => message.data.userId === 'user-0002' && message.data.applicationId === test.credentials.applicationId));
  t.ok(
    received.every((message) => message.lastEventId === message.data.id && message.data.occurredAtMs === t0),
    'the SSE id is the event id',
  );
  const sequence = ids(received);
  t.ok(
    sequence.every((id, i) => i === 0 || id > (sequence[i - 1] as number)),
    'ids increase',
  );
  const byType = new Map(received.map((message) => [message.type, message.data.data]));
  t.match(byType.get('user.created'), {
    user: { userId: 'user-0002', screenName: { screenName: 'Two' }, userLocators: [{ locator: 'email:two@example.com' }] },
  });
  t.same(byType.get('user.screenname'), { screenName: 'Deux' });
  t.match(byType.get('locator.added'), { locator: { locator: 'tele:+14155550100' } });
  t.same(byType.get('locator.removed'), { locatorId, locator: 'tele:+14155550100' });
  t.same(byType.get('profile.changed'), { keys: ['mitter.upa.Email'] });
  t.match(byType.get('token.issued'), { tokenId, expiresAtMs: Number });
  t.same(byType.get('token.revoked'), { tokenId });
  t.same(byType.get('presence'), { presence: away(), setTimeMs: t0 });
  t.same(byType.get('user.deleted'), {});
});

t.test('a change that fails appends nothing; a change and its event commit together', async (t) => {
  const test = await setup(t, ['user-0001']);
  const stream = await test.appStream();
  // A taken user id: the insert fails, so does its event.
  t.equal((await test.signed('POST', '/v1/users', { body: json({ userId: 'user-0001', screenName: { screenName: 'again' } }) })).statusCode, 409);
  // A profile write to nobody, an attribute without a def: refused before or inside the transaction.
  const attribute = { key: 'app.undefined', contentType: 'text/plain', contentEncoding: 'identity', value: 'x' };
  t.equal(
    (await test.signed('POST', '/v1/users/nobody-0001/profile/mitter.upa.Email', { body: json({ ...attribute, key: 'mitter.upa.Email', value: 'a@b.co' }) }))
      .statusCode,
    404,
  );
  t.equal((await test.signed('POST', '/v1/users/user-0001/profile/app.undefined', { body: json(attribute) })).statusCode, 400);
  t.equal((await test.signed('PUT', '/v1/users/user-0001/screenname', { body: json({ screenName: 'marker' }) })).statusCode, 200);
  const received = await stream.untilCount(1);
  t.same(types(received), ['user.screenname'], 'only the change that happened');
  const position = await test.app.locus.events.position(test.credentials.applicationId);
  t.equal(position.last, Number(received[0]?.data.id), 'no id was handed out for the failed changes');
});

t.test('resume: reconnecting with the last id gets exactly the missed events, in order, then live ones', async (t) => {
  const test = await setup(t);
  const first = await test.appStream();
  for (const name of ['a', 'b']) await test.signed('PUT', '/v1/users/user-0001/screenname', { body: json({ screenName: name }) });
  const seen = await first.untilCount(2);
  first.close();
  const lastId = seen[1]?.lastEventId as string;

  for (const name of ['c', 'd', 'e']) await test.signed('PUT', '/v1/users/user-0001/screenname', { body: json({ screenName: name }) });
  const resumed = await test.appStream('', { 'last-event-id': lastId });
  await test.signed('PUT', '/v1/users/user-0001/screenname', { body: json({ screenName: 'f' }) });
  const received = await resumed.untilCount(4);
  t.same(
    received.map((m) => m.data.data?.screenName),
    ['c', 'd', 'e', 'f'],
    'the missed three, then the live one',
  );
  t.same(
    ids(received),
    [1, 2, 3, 4].map((i) => Number(lastId) + i),
    'no gap, no repeat',
  );
  t.notOk(resumed.received.some((m) => m.type === 'reset'));

  // The query parameter works too (for clients that cannot set headers); the header wins over it.
  const byQuery = await test.appStream(`lastEventId=${lastId}`);
  t.same(
    (await byQuery.untilCount(4)).map((m) => m.data.data?.screenName),
    ['c', 'd', 'e', 'f'],
  );
});

t.test('resume past the retention window: a reset first, then everything retained', async (t) => {
  const test = await setup(t, ['user-0001']);
  await test.app.locus.applications.updateSettings(test.credentials.applicationId, ['eventRetentionSeconds=60']);
  await test.signed('PUT', '/v1/users/user-0001/screenname', { body: json({ screenName: 'old' }) });
  const oldest = (await test.app.locus.events.position(test.credentials.applicationId)).last;
  test.clock.advance(120_000);
  await test.signed('PUT', '/v1/users/user-0001/screenname', { body: json({ screenName: 'kept' }) });
  t.equal(await test.app.locus.events.prune(), oldest, 'the events older than 60 s are removed (user.created and the first rename)');

  const stream = await test.appStream('', { 'last-event-id': '1' });
  await stream.until((received) => received.some((m) => m.type === 'user.screenname'), 'the retained event');
  t.same(types(stream.received), ['reset', 'user.screenname']);
  t.same(stream.received[0]?.data, { reason: 'expired', lastEventId: '1', resumedAfter: String(oldest) });
  t.equal(stream.received[1]?.data.data?.screenName, 'kept');

  // Inside the window nothing is reset; an id this server never handed out is.
  const fresh = await test.appStream('', { 'last-event-id': String(oldest) });
  await fresh.untilCount(1);
  t.same(types(fresh.received), ['user.screenname']);
  const unknown = await test.appStream('', { 'last-event-id': '999999' });
  await unknown.untilCount(1);
  t.same(types(unknown.received), ['reset', 'user.screenname']);
  t.equal(unknown.received[0]?.data.reason, 'unknown_event_id');
});

t.test('the types filter, and bad stream parameters', async (t) => {
  const test = await setup(t, ['user-0001']);
  const stream = await test.appStream('types=presence,user.deleted');
  await test.signed('PUT', '/v1/users/user-0001/screenname', { body: json({ screenName: 'skipped' }) });
  await test.signed('POST', '/v1/users/user-0001/presence', { body: json(away()) });
  await test.app.locus.events.flush();
  await test.signed('DELETE', '/v1/users/user-0001');
  await stream.untilCount(2);
  t.same(types(stream.received), ['presence', 'user.deleted']);

  // Resuming with a filter when the log ends with events the filter skips: the stream still goes live.
  const resumed = await test.appStream('types=user.screenname&lastEventId=0');
  await resumed.untilCount(1);
  await test.signed('POST', '/v1/users', { body: json({ userId: 'user-0002', screenName: { screenName: 'Two' } }) });
  await test.signed('PUT', '/v1/users/user-0002/screenname', { body: json({ screenName: 'live' }) });
  t.same(
    (await resumed.untilCount(2)).map((m) => m.data.data?.screenName),
    ['skipped', 'live'],
  );

  const bad = async (query: string, headers: Record<string, string> = {}) => {
    const response = await test.app.inject({ method: 'GET', url: `/v1/events${query}`, headers: { ...test.signedHeaders('GET', '/v1/events'), ...headers } });
    return { status: response.statusCode, code: response.json().errorCode, field: response.json().diagnostics?.field };
  };
  t.same(await bad('?types=presence,nope'), { status: 400, code: 'invalid_entity', field: 'types[1]' });
  t.same(await bad('?lastEventId=abc'), { status: 400, code: 'invalid_entity', field: 'lastEventId' });
  t.same(await bad('', { 'last-event-id': '-1' }), { status: 400, code: 'invalid_entity', field: 'Last-Event-ID' });
});

t.test('who may listen: .system the application stream, users their own stream', async (t) => {
  const test = await setup(t, ['user-0001', 'user-0002']);
  const { token } = await test.tokenFor('user-0001');
  const get = (url: string, headers: Record<string, string>) => test.app.inject({ method: 'GET', url, headers });
  const status = async (url: string, headers: Record<string, string>) => {
    const response = await get(url, headers);
    return { status: response.statusCode, code: response.json().errorCode };
  };
  t.same(await status('/v1/events', { 'x-issued-mitter-user-authorization': token }), { status: 403, code: 'missing_privilege' });
  t.same(await status('/v1/events', {}), { status: 401, code: 'authorization_exception' });
  t.same(await status('/v1/users/me/events', {}), { status: 401, code: 'authorization_exception' });
  t.same(await status('/v1/users/me/events', test.signedHeaders('GET', '/v1/users/me/events')), { status: 400, code: 'missing_context' });
  t.same(await status('/v1/users/me/events?presenceOf=user-0002,nobody-0001', { 'x-issued-mitter-user-authorization': token }), {
    status: 404,
    code: 'entity_not_found',
  });
  const tooMany = Array.from({ length: 1001 }, (_, i) => `user-${String(i).padStart(4, '0')}`).join(',');
  t.same(await status(`/v1/users/me/events?presenceOf=${tooMany}`, { 'x-issued-mitter-user-authorization': token }), { status: 400, code: 'invalid_entity' });
  t.same(await status('/v1/users/me/events?presenceOf=bad id', { 'x-issued-mitter-user-authorization': token }), { status: 400, code: 'invalid_entity' });
  // A sudo user has a stream of its own too.
  const sudo = new StreamClient(`${test.address}/v1/users/me/events?presenceOf=user-0002`, () => ({
    ...test.signedHeaders('GET', '/v1/users/me/events'),
    'x-mitter-sudo-user-id': 'user-0001',
  }));
  t.teardown(() => sudo.close());
  await sudo.opened;
  await test.signed('POST', '/v1/users/user-0002/presence', { body: json(away()) });
  t.same(types(await sudo.untilCount(1)), ['presence']);
});

t.test('a user stream: presence sets, server-side transitions and profile changes of watched users, its own revocation, then the end', async (t) => {
  const test = await setup(t, ['user-0001', 'user-0002', 'user-0003']);
  const { token, tokenId } = await test.tokenFor('user-0001');
  const other = await test.tokenFor('user-0001');
  const stream = await test.userStream(token, 'presenceOf=user-0002');
  const t0 = test.clock.now();

  // Set by .system: online for 5 s, then away. Nobody reads it after this.
  t.equal((await test.signed('POST', '/v1/users/user-0002/presence', { body: json(online(5, away())) })).statusCode, 200);
  await stream.untilCount(1);
  test.clock.advance(5_000);
  t.equal(await test.app.locus.presence.runDue(), 1, 'the transition fires on the server');
  await stream.untilCount(2);

  // What the user is not entitled to: another user's presence, the watched user's other changes,
  // another of its own tokens, a user of another application.
  await test.signed('POST', '/v1/users/user-0003/presence', { body: json(away()) });
  await test.signed('PUT', '/v1/users/user-0002/screenname', { body: json({ screenName: 'secret' }) });
  await test.signed('DELETE', `/v1/users/user-0001/tokens/${other.tokenId}`);
  const elsewhere = await test.app.locus.applications.create('other-app');
  await test.app.locus.users.create(elsewhere.applicationId, { userId: 'user-0002', screenName: 'twin', locators: [] });
  await test.app.locus.presence.set(elsewhere.applicationId, 'user-0002', { ...away(), expiresTo: null });

  const attribute = { key: 'mitter.upa.Mobile', contentType: 'text/plain', contentEncoding: 'identity', value: '+14155550100' };
  t.equal((await test.signed('POST', '/v1/users/user-0002/profile/mitter.upa.Mobile', { body: json(attribute) })).statusCode, 200);
  await stream.untilCount(3);
  // Its own token revoked (the user logs out): the event, then the stream ends.
  const logout = await test.app.inject({ method: 'GET', url: '/v1/users/me/logout', headers: { 'x-issued-mitter-user-authorization': token } });
  t.equal(logout.statusCode, 200);
  await stream.ended;

  t.same(types(stream.received), ['presence', 'presence', 'profile.changed', 'token.revoked']);
  const [set, transition, profile, revoked] = stream.received;
  t.same(set?.data.data, { presence: online(5, away()), setTimeMs: t0 });
  t.same(transition?.data.data, { presence: away(), setTimeMs: t0 + 5_000 }, 'the chain moved on by itself');
  t.same(profile?.data.data, { keys: ['mitter.upa.Mobile'] });
  t.same({ userId: revoked?.data.userId, data: revoked?.data.data }, { userId: 'user-0001', data: { tokenId } });
  t.ok(
    stream.received.every((m) => m.data.applicationId === test.credentials.applicationId),
    'nothing from the other application',
  );
  t.equal(test.app.locus.events.subscriptions, 0, 'the server let go of the stream');
});

t.test('keep-alive comments every tick; a stream ends when its token expires', async (t) => {
  const test = await setup(t, ['user-0001']);
  const issued = (await test.signed('POST', '/v1/users/user-0001/tokens', { body: json({ ttl: 60 }) })).json();
  const response = await fetch(`${test.address}/v1/users/me/events`, { headers: { 'x-issued-mitter-user-authorization': issued.userToken.signedToken } });
  t.equal(response.status, 200);
  t.match(response.headers.get('content-type'), /^text\/event-stream/);
  t.equal(response.headers.get('cache-control'), 'no-store', 'a stream read with a token is never stored');
  const reader = response.body?.getReader();
  if (!reader) throw new Error('no body');
  const decoder = new TextDecoder();
  let text = '';
  const readUntil = async (needle: string) => {
    while (!text.includes(needle)) {
      const chunk = await reader.read();
      if (chunk.done) return false;
      text += decoder.decode(chunk.value);
    }
    return true;
  };
  await test.app.locus.events.keepAlive();
  t.ok(await readUntil(': keep-alive\n\n'), 'a comment line');
  test.clock.advance(60_000);
  await test.app.locus.events.keepAlive();
  t.ok(await readUntil('event: closing\n'), 'a closing message');
  t.match(text, /data: \{"reason":"token_expired","lastEventId":null\}/);
  t.equal((await reader.read()).done, true, 'and the response ends');
});

t.test('a consumer that falls too far behind is closed with a reason; the others are not held up', async (t) => {
  const test = await setup(t, ['user-0001']);
  const { events } = test.app.locus;
  const applicationId = test.credentials.applicationId;
  const stalled: { controls: Array<[string, unknown]>; closed: boolean } = { controls: [], closed: false };
  const never = new Promise<void>(() => undefined);
  const slowSink: EventSink = {
    send: () => never,
    control: async (name, data) => void stalled.controls.push([name, data]),
    comment: () => undefined,
    close: () => void (stalled.closed = true),
  };
  const fast: number[] = [];
  const fastSink: EventSink = {
    send: async (event) => void fast.push(event.seq),
    control: async () => undefined,
    comment: () => undefined,
    close: () => undefined,
  };
  const all = { applicationId, after: null, filter: { types: null, userIds: null }, matches: () => true };
  await events.subscribe({ ...all, sink: slowSink });
  await events.subscribe({ ...all, sink: fastSink });

  const drafts: EventDraft[] = Array.from({ length: MAX_QUEUED_EVENTS + 10 }, (_, i) => ({
    type: 'user.screenname',
    userId: 'user-0001',
    data: { screenName: `n${i}` },
  }));
  await events.transaction(applicationId, async (_tx, emit) => emit(...drafts));
  await events.settle();
  t.equal(fast.length, drafts.length, 'the fast consumer got every event');
  t.ok(stalled.closed, 'the stalled one was closed');
  t.same(stalled.controls, [['closing', { reason: 'too_far_behind', lastEventId: null }]]);
  t.equal(events.subscriptions, 1);
});

t.test('a graceful stop ends every stream with a closing message, and waits for none of them', async (t) => {
  const test = await setup(t, ['user-0001']);
  const stream = await test.appStream();
  await test.signed('PUT', '/v1/users/user-0001/screenname', { body: json({ screenName: 'last' }) });
  await stream.untilCount(1);
  await test.app.close();
  await stream.ended;
  t.same(types(stream.received), ['user.screenname', 'closing']);
  t.same(stream.received[1]?.data, { reason: 'shutdown', lastEventId: stream.received[0]?.lastEventId });
});
