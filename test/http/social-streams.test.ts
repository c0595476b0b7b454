// docs/social.md on the user streams: blocks hide the blocker's events from the blocked user (and no
// one else), contacts feed a stream without presenceOf, privacy hides presence events, and a
// suspension ends the suspended user's streams. Over real SSE connections.
import t, { type Test } from 'tap';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { StreamClient, type Received } from '../helpers/sse.ts';
import { json, populate, type World } from '../helpers/world.ts';

interface Setup extends TestApp {
  users: World;
  stream(userId: string, query?: string): Promise<StreamClient>;
}

async function setup(t: Test): Promise<Setup> {
  const test = await buildTestApp(t, { presenceTimers: false });
  const address = await test.app.listen({ host: '127.0.0.1', port: 0 });
  const users = await populate(test, ['alice-0001', 'bob-00001', 'carol-0001', 'dave-00001']);
  const streams: StreamClient[] = [];
  t.teardown(() => streams.forEach((stream) => stream.close()));
  return {
    ...test,
    users,
    async stream(userId, query = '') {
      const token = users[userId]!.token;
      const stream = new StreamClient(`${address}/v1/users/me/events${query ? `?${query}` : ''}`, () => ({ 'x-issued-mitter-user-authorization': token }));
      streams.push(stream);
      await stream.opened;
      return stream;
    },
  };
}

const presence = (type: string) => ({ type, timeToLive: 0 });
const summary = (received: Received[]) => received.map((message) => `${message.type}:${String(message.data.userId)}`);

/** dave changes his presence: every stream that watches dave sees it, so it marks "everything before has been delivered". */
async function sentinel(test: Setup, streams: StreamClient[], label: string): Promise<void> {
  const before = streams.map((stream) => stream.events.length);
  await test.users['dave-00001']!.call('POST', '/v1/users/me/presence', presence(label));
  await Promise.all(
    streams.map((stream, i) =>
      stream.until(
        (received) => received.filter((m) => m.type !== 'reset' && m.type !== 'closing').length > before[i]! && JSON.stringify(received.at(-1)).includes(label),
      ),
    ),
  );
}

t.test('a blocked user receives nothing about the blocker, while a third user does', async (t) => {
  const test = await setup(t);
  const { users } = test;
  const alice = await test.stream('alice-0001', 'presenceOf=bob-00001,dave-00001');
  const carol = await test.stream('carol-0001', 'presenceOf=bob-00001,dave-00001');
  const bob = await test.stream('bob-00001');

  t.equal((await users['bob-00001']!.call('POST', '/v1/users/me/blocked-users/alice-0001')).statusCode, 200);
  await users['bob-00001']!.call('POST', '/v1/users/me/presence', presence('mitter.up.Online'));
  const name = { key: 'mitter.upa.FirstName', contentType: 'text/plain', contentEncoding: 'identity', value: 'Bob' };
  await users['bob-00001']!.call('POST', '/v1/users/me/profile/mitter.upa.FirstName', name);
  await sentinel(test, [alice, carol], 'sentinel.1');

  t.same(summary(alice.events), ['block.changed:bob-00001', 'presence:dave-00001'], 'alice: the block, then nothing about bob');
  t.same(summary(carol.events), ['presence:bob-00001', 'profile.changed:bob-00001', 'presence:dave-00001'], 'carol sees bob');
  t.same(alice.events[0]!.data.data, { blocker: 'bob-00001', blockedUser: 'alice-0001', active: true });
  await bob.until((received) => received.length >= 1);
  t.same(summary(bob.events), ['block.changed:bob-00001'], 'the blocker sees block.changed on its own stream');

  await users['bob-00001']!.call('DELETE', '/v1/users/me/blocked-users/alice-0001');
  await users['bob-00001']!.call('POST', '/v1/users/me/presence', presence('mitter.up.Away'));
  await sentinel(test, [alice], 'sentinel.2');
  t.same(summary(alice.events).slice(2), ['block.changed:bob-00001', 'presence:bob-00001', 'presence:dave-00001'], 'after the unblock, bob again');
  t.equal(alice.events[2]!.data.data!.active, false);
});

t.test('contacts feed a stream without presenceOf; contacts.changed tells the owner', async (t) => {
  const test = await setup(t);
  const { users } = test;
  const alice = await test.stream('alice-0001', 'presenceOf=dave-00001');

  await users['alice-0001']!.call('PUT', '/v1/users/me/contacts/bob-00001');
  await users['bob-00001']!.call('POST', '/v1/users/me/presence', presence('mitter.up.Online'));
  await users['carol-0001']!.call('POST', '/v1/users/me/presence', presence('mitter.up.Online'));
  await sentinel(test, [alice], 'sentinel.1');
  t.same(summary(alice.events), ['contacts.changed:alice-0001', 'presence:bob-00001', 'presence:dave-00001'], 'a contact’s presence, not a stranger’s');
  t.same(alice.events[0]!.data.data, { added: ['bob-00001'], removed: [] });

  await users['alice-0001']!.call('DELETE', '/v1/users/me/contacts/bob-00001');
  await users['bob-00001']!.call('POST', '/v1/users/me/presence', presence('mitter.up.Away'));
  await sentinel(test, [alice], 'sentinel.2');
  t.same(summary(alice.events).slice(3), ['contacts.changed:alice-0001', 'presence:dave-00001'], 'a removed contact is no longer followed');
});

t.test('privacy: presence hidden from others is not streamed to them either', async (t) => {
  const test = await setup(t);
  const { users } = test;
  await users['alice-0001']!.call('PUT', '/v1/users/me/contacts/bob-00001');
  await users['bob-00001']!.call('PUT', '/v1/users/me/contacts/alice-0001');
  const alice = await test.stream('alice-0001', 'presenceOf=dave-00001');
  const carol = await test.stream('carol-0001', 'presenceOf=bob-00001,dave-00001');

  await users['bob-00001']!.call('PUT', '/v1/users/me/privacy', { presence: 'contacts' });
  await users['bob-00001']!.call('POST', '/v1/users/me/presence', presence('contacts.only'));
  await users['bob-00001']!.call('PUT', '/v1/users/me/privacy', { presence: 'nobody' });
  await users['bob-00001']!.call('POST', '/v1/users/me/presence', presence('nobody.at.all'));
  await sentinel(test, [alice, carol], 'sentinel.1');
  t.same(summary(alice.events), ['presence:bob-00001', 'presence:dave-00001'], 'alice (in bob’s contacts) saw the contacts-only presence');
  t.equal((alice.events[0]!.data.data!.presence as { type: string }).type, 'contacts.only');
  t.same(summary(carol.events), ['presence:dave-00001'], 'carol saw neither');
});

t.test('a suspension ends the suspended user’s streams', async (t) => {
  const test = await setup(t);
  const alice = await test.stream('alice-0001');
  t.equal((await test.signed('POST', '/v1/users/alice-0001/suspension', { body: json({ reason: 'abuse' }) })).statusCode, 200);
  await alice.ended;
  t.same(summary(alice.events), ['user.suspended:alice-0001'], 'it learns why, and the stream ends');
  const again = new StreamClient(
    `${test.app.server.address() ? `http://127.0.0.1:${(test.app.server.address() as { port: number }).port}` : ''}/v1/users/me/events`,
    () => ({
      'x-issued-mitter-user-authorization': test.users['alice-0001']!.token,
    }),
  );
  t.teardown(() => again.close());
  t.equal((await again.ended).status, 401, 'and cannot be opened again');
});

t.test('at most 5 open streams per user (maxStreamsPerUser): the sixth is a 429, and a closed one frees its place', async (t) => {
  const test = await setup(t);
  const streams = [];
  for (let i = 0; i < 5; i++) streams.push(await test.stream('alice-0001'));
  const address = `http://127.0.0.1:${(test.app.server.address() as { port: number }).port}`;
  const sixth = await fetch(`${address}/v1/users/me/events`, { headers: { 'x-issued-mitter-user-authorization': test.users['alice-0001']!.token } });
  t.equal(sixth.status, 429);
  const body = (await sixth.json()) as { errorCode: string };
  t.equal(body.errorCode, 'limit_exceeded');
  const other = await test.stream('bob-00001');
  t.ok(other, 'another user is not affected');
  streams[0]!.close();
  let reopened: StreamClient | null = null;
  for (let i = 0; i < 100 && reopened === null; i++) {
    const attempt = await fetch(`${address}/v1/users/me/events`, { headers: { 'x-issued-mitter-user-authorization': test.users['alice-0001']!.token } });
    if (attempt.status === 200) {
      await attempt.body?.cancel();
      reopened = streams[1]!;
    } else {
      await attempt.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  t.ok(reopened, 'a place freed by a closed stream is taken again');
});

t.test('at most maxStreamsPerApp application streams', async (t) => {
  const test = await setup(t);
  await test.app.locus.applications.updateSettings(test.credentials.applicationId, ['maxStreamsPerApp=2']);
  const address = `http://127.0.0.1:${(test.app.server.address() as { port: number }).port}`;
  const open = () => new StreamClient(`${address}/v1/events`, () => test.signedHeaders('GET', '/v1/events'));
  const [a, b] = [open(), open()];
  t.teardown(() => [a, b].forEach((s) => s.close()));
  await Promise.all([a.opened, b.opened]);
  const third = await fetch(`${address}/v1/events`, { headers: test.signedHeaders('GET', '/v1/events') });
  t.equal(third.status, 429);
  t.equal(((await third.json()) as { errorCode: string }).errorCode, 'limit_exceeded');
});
