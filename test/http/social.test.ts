// docs/social.md over HTTP, from the users' side: blocking (and what a blocked user can no longer see),
// contact lists with presence and last seen, and privacy settings.
import t, { type Test } from 'tap';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { json, populate, type World } from '../helpers/world.ts';

const ONLINE = { type: 'mitter.up.Online', timeToLive: 0 };

interface Setup extends TestApp {
  users: World;
}

/** alice, bob and carol (bob's email is bob@example.com), each online with a profile first name. */
async function setup(t: Test): Promise<Setup> {
  const test = await buildTestApp(t, { presenceTimers: false });
  const users = await populate(test, ['alice-0001', 'bob-00001', 'carol-0001']);
  t.equal((await test.signed('POST', '/v1/users/bob-00001/locators', { body: json('email:bob@example.com') })).statusCode, 200);
  for (const userId of Object.keys(users)) {
    t.equal((await test.signed('POST', `/v1/users/${userId}/presence`, { body: json(ONLINE) })).statusCode, 200);
    const name = { key: 'mitter.upa.FirstName', contentType: 'text/plain', contentEncoding: 'identity', value: userId };
    t.equal((await test.signed('POST', `/v1/users/${userId}/profile/mitter.upa.FirstName`, { body: json(name) })).statusCode, 200);
  }
  return { ...test, users };
}

/** What `viewer` sees of `target`: presence type, last seen, profile attribute count, found by locator. */
async function sight(test: Setup, viewer: string, target: string) {
  const user = test.users[viewer]!;
  const presence = (await user.call('GET', `/v1/users/${target}/presence`)).json()[0].presence.presence;
  const lastSeen = (await user.call('GET', `/v1/users/${target}/last-seen`)).json()[0].lastSeenMs;
  const profile = (await user.call('GET', `/v1/users/${target}/profile`)).json().attributes.length;
  const keyed = (await user.call('GET', `/v1/users/${target}/profile/mitter.upa.FirstName`)).json().length;
  const withProfile = (await user.call('GET', `/v1/users/${target}?withProfileAttributes=*`)).json().entityProfile.attributes.length;
  return { presence: presence?.type ?? null, lastSeen, profile, keyed, withProfile };
}

const VISIBLE = { presence: 'mitter.up.Online', profile: 1, keyed: 1, withProfile: 1 };
const HIDDEN = { presence: null, lastSeen: null, profile: 0, keyed: 0, withProfile: 0 };

t.test('a blocker disappears from the view of the user it blocks, and only from theirs', async (t) => {
  const test = await setup(t);
  const { users } = test;
  const alice = users['alice-0001']!;
  t.match(await sight(test, 'alice-0001', 'bob-00001'), VISIBLE, 'before the block alice sees bob');

  t.equal((await users['bob-00001']!.call('POST', '/v1/users/me/blocked-users/alice-0001')).statusCode, 200, 'bob blocks alice');
  t.same((await users['bob-00001']!.call('POST', '/v1/users/me/blocked-users/alice-0001')).json(), {}, 'blocking again is a no-op');

  t.same(await sight(test, 'alice-0001', 'bob-00001'), HIDDEN, 'alice no longer sees bob');
  const lookup = await alice.call('GET', '/v1/users?locators=email:bob@example.com');
  t.equal(lookup.statusCode, 200);
  t.same(lookup.json(), [], 'a locator lookup does not find the blocker');
  const bobsEmail = 'locators=email:bob@example.com';
  t.equal((await test.signed('GET', '/v1/users', { query: bobsEmail })).json().length, 1, '.system finds the blocker');
  const sudoLookup = await test.signed('GET', '/v1/users', { query: bobsEmail, headers: { 'x-mitter-sudo-user-id': 'alice-0001' } });
  t.equal(sudoLookup.json().length, 1, 'so does a sudo lookup as the blocked user');
  t.equal((await alice.call('GET', '/v1/users/bob-00001')).statusCode, 200, 'the user itself can still be read');

  t.match(await sight(test, 'carol-0001', 'bob-00001'), VISIBLE, 'carol still sees bob');
  t.equal((await users['carol-0001']!.call('GET', '/v1/users?locators=email:bob@example.com')).json().length, 1);
  t.match(await sight(test, 'bob-00001', 'alice-0001'), VISIBLE, 'the blocker still sees the user it blocks');

  const asSystem = (await test.signed('GET', '/v1/users/bob-00001/presence')).json()[0].presence.presence;
  t.same(asSystem, ONLINE, '.system sees the truth');
  const sudo = await test.signed('GET', '/v1/users/bob-00001/presence', { headers: { 'x-mitter-sudo-user-id': 'alice-0001' } });
  t.same(sudo.json()[0].presence.presence, ONLINE, 'sudo reads are not filtered');
  const callers: Array<[string, Record<string, string>]> = [
    ['.system', {}],
    ['sudo as the blocked user', { 'x-mitter-sudo-user-id': 'alice-0001' }],
  ];
  for (const [as, headers] of callers) {
    t.equal((await test.signed('GET', '/v1/users/bob-00001/profile', { headers })).json().attributes.length, 1, `${as} reads the blocker's profile`);
    t.equal((await test.signed('GET', '/v1/users/bob-00001/profile/mitter.upa.FirstName', { headers })).json().length, 1, `and its attributes by key`);
  }

  t.equal((await users['bob-00001']!.call('DELETE', '/v1/users/me/blocked-users/alice-0001')).statusCode, 200, 'bob unblocks alice');
  t.equal((await users['bob-00001']!.call('DELETE', '/v1/users/me/blocked-users/alice-0001')).statusCode, 200, 'unblocking again is a no-op');
  t.match(await sight(test, 'alice-0001', 'bob-00001'), VISIBLE, 'alice sees bob again');
});

t.test('block lists: whom I block and who blocks me; .system reads anyone’s', async (t) => {
  const test = await setup(t);
  const { users } = test;
  await users['bob-00001']!.call('POST', '/v1/users/me/blocked-users/alice-0001');
  await users['carol-0001']!.call('POST', '/v1/users/me/blocked-users/alice-0001');
  const ids = (body: { users: Array<{ userId: string }> }) => body.users.map((user) => user.userId);
  t.same(ids((await users['bob-00001']!.call('GET', '/v1/users/me/blocked-users')).json()), ['alice-0001']);
  t.same(ids((await users['alice-0001']!.call('GET', '/v1/users/me/blocked-by')).json()), ['bob-00001', 'carol-0001']);
  t.same(ids((await users['alice-0001']!.call('GET', '/v1/users/me/blocked-users')).json()), []);
  t.same(ids((await test.signed('GET', '/v1/users/alice-0001/blocked-by')).json()), ['bob-00001', 'carol-0001'], '.system reads any user’s lists');
  t.same(ids((await test.signed('GET', '/v1/users/carol-0001/blocked-users')).json()), ['alice-0001']);
  const other = await users['alice-0001']!.call('GET', '/v1/users/bob-00001/blocked-users');
  t.equal(other.statusCode, 403, 'a user cannot read another user’s list');
  t.equal(other.json().errorCode, 'missing_privilege');
  t.equal((await users['alice-0001']!.call('POST', '/v1/users/bob-00001/blocked-users/carol-0001')).statusCode, 403, 'nor block on its behalf');
});

t.test('blocking: bad input is a 4xx naming the problem, and changes nothing', async (t) => {
  const test = await setup(t);
  const bob = test.users['bob-00001']!;
  const self = await bob.call('POST', '/v1/users/me/blocked-users/bob-00001');
  t.equal(self.statusCode, 400);
  t.equal(self.json().errorCode, 'invalid_entity');
  const unknown = await bob.call('POST', '/v1/users/me/blocked-users/nobody-0001');
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().errorCode, 'entity_not_found');
  const bad = await bob.call('POST', '/v1/users/me/blocked-users/x');
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().diagnostics.field, 'blockedUserId');
  t.equal((await test.app.inject({ method: 'POST', url: '/v1/users/me/blocked-users/alice-0001' })).statusCode, 401, '.anonymous may not');
  t.same((await bob.call('GET', '/v1/users/me/blocked-users')).json().users, [], 'nothing was blocked');
});

t.test('a user blocks at most 10,000 users', async (t) => {
  const test = await setup(t);
  const at = test.app.locus.db.dialect.time(new Date(test.clock.now()));
  const rows = Array.from({ length: 10_000 }, (_, i) => ({
    applicationId: test.credentials.applicationId,
    blockerId: 'bob-00001',
    blockedId: `ghost-${String(i).padStart(5, '0')}`,
    createdAt: at,
  }));
  for (let i = 0; i < rows.length; i += 1000)
    await test.app.locus.db.query
      .insertInto('UserBlock')
      .values(rows.slice(i, i + 1000))
      .execute();
  const over = await test.users['bob-00001']!.call('POST', '/v1/users/me/blocked-users/alice-0001');
  t.equal(over.statusCode, 409);
  t.equal(over.json().errorCode, 'limit_exceeded');
});

t.test('contacts: a list with presence and last seen, paginated, blocks and privacy applied', async (t) => {
  const test = await setup(t);
  const { users } = test;
  const alice = users['alice-0001']!;
  t.equal((await alice.call('PUT', '/v1/users/me/contacts/bob-00001,carol-0001')).statusCode, 200);
  t.equal((await alice.call('PUT', '/v1/users/me/contacts/bob-00001')).statusCode, 200, 'adding again is a no-op');
  const list = await alice.call('GET', '/v1/users/me/contacts');
  t.equal(list.statusCode, 200);
  t.equal(list.headers['x-mitter-paginated-estimated-count'], '2');
  t.same(
    list.json().contacts.map((c: { user: { userId: string }; presence: unknown; lastSeenMs: number }) => [c.user.userId, c.presence, c.lastSeenMs]),
    [
      ['bob-00001', ONLINE, test.clock.now()],
      ['carol-0001', ONLINE, test.clock.now()],
    ],
  );

  const first = await alice.call('GET', '/v1/users/me/contacts?limit=1');
  t.same(
    first.json().contacts.map((c: { user: { userId: string } }) => c.user.userId),
    ['bob-00001'],
  );
  const next = /<([^>]+)>; rel="next"/.exec(String(first.headers.link))?.[1];
  t.ok(next, 'a Link to the next page');
  t.same(
    (await alice.call('GET', next!)).json().contacts.map((c: { user: { userId: string } }) => c.user.userId),
    ['carol-0001'],
  );

  await users['carol-0001']!.call('PUT', '/v1/users/me/privacy', { presence: 'nobody', lastSeen: 'nobody' });
  await users['bob-00001']!.call('POST', '/v1/users/me/blocked-users/alice-0001');
  const filtered = (await alice.call('GET', '/v1/users/me/contacts')).json().contacts;
  t.same(
    filtered.map((c: { user: { userId: string }; presence: unknown; lastSeenMs: unknown }) => [c.user.userId, c.presence, c.lastSeenMs]),
    [['carol-0001', null, null]],
    'bob (who blocks alice) is left out; carol’s presence and last seen are private',
  );
  const truth = (await test.signed('GET', '/v1/users/alice-0001/contacts')).json().contacts;
  t.equal(truth.length, 2, '.system sees the whole list');

  t.equal((await alice.call('DELETE', '/v1/users/me/contacts/carol-0001,bob-00001')).statusCode, 200);
  t.same((await alice.call('GET', '/v1/users/me/contacts')).json().contacts, []);
  t.equal((await alice.call('DELETE', '/v1/users/me/contacts/carol-0001')).statusCode, 200, 'removing a non-contact is a no-op');
});

t.test('contacts: bad input is a 4xx naming the problem, and changes nothing', async (t) => {
  const test = await setup(t);
  const alice = test.users['alice-0001']!;
  const unknown = await alice.call('PUT', '/v1/users/me/contacts/bob-00001,nobody-0001');
  t.equal(unknown.statusCode, 404);
  t.match(unknown.json().message, /nobody-0001/);
  const self = await alice.call('PUT', '/v1/users/me/contacts/alice-0001');
  t.equal(self.statusCode, 400);
  const bad = await alice.call('PUT', '/v1/users/me/contacts/bob-00001,!');
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().diagnostics.field, 'userIds[1]');
  const many = await alice.call('PUT', `/v1/users/me/contacts/${Array.from({ length: 101 }, (_, i) => `user-${String(i).padStart(4, '0')}`).join(',')}`);
  t.equal(many.statusCode, 400, 'at most 100 per call');
  t.equal(many.json().diagnostics.field, 'userIds');
  t.same((await alice.call('GET', '/v1/users/me/contacts')).json().contacts, [], 'nothing was added');
  t.equal((await alice.call('PUT', '/v1/users/bob-00001/contacts/carol-0001')).statusCode, 403, 'not on another user’s list');
  t.equal((await alice.call('GET', '/v1/users/bob-00001/contacts')).statusCode, 403);
  const page = await alice.call('GET', '/v1/users/me/contacts?limit=0');
  t.equal(page.statusCode, 400);
});

t.test('a contact list holds at most 5,000 users', async (t) => {
  const test = await setup(t);
  const at = test.app.locus.db.dialect.time(new Date(test.clock.now()));
  const rows = Array.from({ length: 4_999 }, (_, i) => ({
    applicationId: test.credentials.applicationId,
    ownerId: 'alice-0001',
    contactId: `ghost-${String(i).padStart(5, '0')}`,
    createdAt: at,
  }));
  for (let i = 0; i < rows.length; i += 1000)
    await test.app.locus.db.query
      .insertInto('UserContact')
      .values(rows.slice(i, i + 1000))
      .execute();
  const over = await test.users['alice-0001']!.call('PUT', '/v1/users/me/contacts/bob-00001,carol-0001');
  t.equal(over.statusCode, 409);
  t.equal(over.json().errorCode, 'limit_exceeded');
  t.equal((await test.users['alice-0001']!.call('PUT', '/v1/users/me/contacts/bob-00001')).statusCode, 200, 'the 5,000th fits');
});

t.test('privacy: everyone, contacts, nobody; the user itself and .system see the truth', async (t) => {
  const test = await setup(t);
  const { users } = test;
  const bob = users['bob-00001']!;
  t.same((await bob.call('GET', '/v1/users/me/privacy')).json(), { presence: 'everyone', lastSeen: 'everyone' }, 'the default');

  t.same((await bob.call('PUT', '/v1/users/me/privacy', { presence: 'contacts' })).json(), { presence: 'contacts', lastSeen: 'everyone' });
  await bob.call('PUT', '/v1/users/me/contacts/alice-0001');
  const alice = await sight(test, 'alice-0001', 'bob-00001');
  const carol = await sight(test, 'carol-0001', 'bob-00001');
  t.equal(alice.presence, 'mitter.up.Online', 'alice is in bob’s contacts: she sees his presence');
  t.equal(carol.presence, null, 'carol is not');
  t.equal(carol.lastSeen, test.clock.now(), 'last seen is still everyone’s');
  t.equal(carol.profile, 1, 'privacy does not hide the profile');

  await bob.call('PUT', '/v1/users/me/privacy', { presence: 'nobody', lastSeen: 'nobody' });
  t.equal((await sight(test, 'alice-0001', 'bob-00001')).presence, null, 'nobody: not even contacts');
  t.equal((await sight(test, 'alice-0001', 'bob-00001')).lastSeen, null);
  t.equal((await sight(test, 'bob-00001', 'bob-00001')).presence, 'mitter.up.Online', 'bob sees his own');
  t.same((await test.signed('GET', '/v1/users/bob-00001/presence')).json()[0].presence.presence, ONLINE, '.system sees the truth');
  t.same((await test.signed('GET', '/v1/users/bob-00001/privacy')).json(), { presence: 'nobody', lastSeen: 'nobody' }, '.system reads it');
  t.equal((await test.signed('PUT', '/v1/users/bob-00001/privacy', { body: json({ presence: 'everyone' }) })).statusCode, 200, '.system writes it');
  t.equal((await sight(test, 'carol-0001', 'bob-00001')).presence, 'mitter.up.Online');

  const bad = await bob.call('PUT', '/v1/users/me/privacy', { presence: 'friends' });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().errorCode, 'invalid_entity');
  t.match(bad.json().diagnostics, { field: 'presence', rule: 'enum' });
  t.match(bad.json().message, 'must be one of: everyone, contacts, nobody', 'the refusal names the choices');
  t.equal((await users['alice-0001']!.call('GET', '/v1/users/bob-00001/privacy')).statusCode, 403, 'another user’s settings are theirs');
});
