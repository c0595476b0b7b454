// docs/users.md over HTTP: users, screen names, locators, lookups, paging, deletion.
import t from 'tap';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { capturedLogs } from '../helpers/logs.ts';

const locatorRows = async (test: TestApp) => (await test.app.locus.db.query.selectFrom('UserLocator').select('id').execute()).length;

const json = (value: unknown) => JSON.stringify(value);

async function createUser(test: TestApp, body: Record<string, unknown>) {
  return test.signed('POST', '/v1/users', { body: json(body) });
}

t.test('create and read a user: the wire shape', async (t) => {
  const test = await buildTestApp(t);
  const created = await createUser(test, {
    userId: 'user-0001',
    screenName: { screenName: '  Alice ' },
    userLocators: ['email:Alice@Example.com', { '@type': 'tele', phoneNumber: '+91 98765-43210', verificationStatus: 0 }],
    systemUser: false,
    synthetic: true,
    auditInfo: { createdAt: 1, updatedAt: 2 },
    internalId: 'chosen-by-client',
  });
  t.equal(created.statusCode, 200);
  t.same(created.json(), { identifier: 'user-0001' });

  const read = await test.signed('GET', '/v1/users/user-0001', { query: 'shouldFetchMetadata=false&withProfileAttributes=*&requestTimeStamp=17' });
  t.equal(read.statusCode, 200, 'query flags accepted, unknown parameters ignored');
  const user = read.json();
  const [email, tele] = user.userLocators;
  t.same(
    user,
    {
      userId: 'user-0001',
      identifier: 'user-0001',
      internalId: user.internalId,
      screenName: { screenName: 'Alice' },
      userLocators: [
        {
          '@type': 'email',
          locator: 'email:alice@example.com',
          email: 'alice@example.com',
          verificationStatus: 'StatusNotProvided',
          userLocatorId: email.userLocatorId,
          identifier: email.userLocatorId,
          applicationId: { identifier: test.credentials.applicationId },
        },
        {
          '@type': 'tele',
          locator: 'tele:+919876543210',
          phoneNumber: '+919876543210',
          verificationStatus: 'Verified',
          userLocatorId: tele.userLocatorId,
          identifier: tele.userLocatorId,
          applicationId: { identifier: test.credentials.applicationId },
        },
      ],
      systemUser: false,
      synthetic: false,
      blocked: false,
      entityProfile: { entityId: { identifier: 'user-0001' }, attributes: [] },
      entityMetadata: null,
      auditInfo: { createdAt: test.clock.now(), updatedAt: test.clock.now() },
    },
    'every field, audit fields and internalId from the server, locators in the order given',
  );
  t.not(user.internalId, 'chosen-by-client');
  t.match(email.userLocatorId, /^[A-Za-z0-9]{5}(-[A-Za-z0-9]{5}){3}$/);

  const generated = await createUser(test, { screenName: { screenName: 'Anon' }, userId: null });
  t.match(generated.json().identifier, /^[A-Za-z0-9]{5}(-[A-Za-z0-9]{5}){3}$/, 'a missing id is generated');
  t.equal((await test.signed('GET', `/v1/users/${generated.json().identifier}`)).statusCode, 200);
});

t.test('create: every rule answers 400 invalid_entity naming the field', async (t) => {
  const test = await buildTestApp(t);
  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
    ['system user', { screenName: { screenName: 'S' }, systemUser: true }, { field: 'systemUser', rule: 'reserved' }],
    ['reserved id', { userId: '.system', screenName: { screenName: 'S' } }, { field: 'userId', rule: 'reserved' }],
    ['short id', { userId: 'abc', screenName: { screenName: 'S' } }, { field: 'userId', rule: 'pattern' }],
    ['empty id', { userId: '', screenName: { screenName: 'S' } }, { field: 'userId', rule: 'pattern' }],
    ['no screen name', { userId: 'user-0002' }, { field: 'screenName', rule: 'required' }],
    ['blank screen name', { screenName: { screenName: ' ' } }, { field: 'screenName.screenName', rule: 'required' }],
    ['long screen name', { screenName: { screenName: 'x'.repeat(257) } }, { field: 'screenName.screenName', rule: 'maxLength' }],
    ['control character', { screenName: { screenName: 'a\u0000b' } }, { field: 'screenName.screenName', rule: 'control_characters' }],
    ['bad email', { screenName: { screenName: 'S' }, userLocators: ['email:nope'] }, { field: 'userLocators[0]', rule: 'email' }],
    ['no region', { screenName: { screenName: 'S' }, userLocators: ['tele:98765 43210'] }, { field: 'userLocators[0]', rule: 'phone' }],
    ['extension', { screenName: { screenName: 'S' }, userLocators: ['tele:+1 213 373 4253 ext. 9'] }, { field: 'userLocators[0]', rule: 'phone_extension' }],
    [
      'same locator twice',
      { screenName: { screenName: 'S' }, userLocators: ['tele:+12133734253', 'tele:+1 (213) 373-4253'] },
      { field: 'userLocators[1]', rule: 'duplicate' },
    ],
    [
      'too many locators',
      { screenName: { screenName: 'S' }, userLocators: Array.from({ length: 21 }, (_, i) => `email:u${i}@example.com`) },
      { field: 'userLocators', rule: 'maxItems' },
    ],
    // JSON bodies are typed: nothing is coerced into a string or a boolean.
    ['numeric id', { userId: 12345678, screenName: { screenName: 'S' } }, { field: 'userId', rule: 'type' }],
    ['numeric screen name', { screenName: { screenName: 12345 } }, { field: 'screenName.screenName', rule: 'type' }],
    ['null screen name', { screenName: { screenName: null } }, { field: 'screenName.screenName', rule: 'type' }],
    ['string flag', { screenName: { screenName: 'S' }, systemUser: 'false' }, { field: 'systemUser', rule: 'type' }],
  ];
  for (const [name, body, diagnostics] of cases) {
    const response = await createUser(test, body);
    t.equal(response.statusCode, 400, name);
    t.match(response.json(), { errorCode: 'invalid_entity', diagnostics }, name);
  }
  const syntax = await test.signed('POST', '/v1/users', { body: '{"screenName":' });
  t.match({ status: syntax.statusCode, body: syntax.json() }, { status: 400, body: { errorCode: 'invalid_input_syntax' } });
  const listed = await test.signed('GET', '/v1/users');
  t.same(listed.json(), [], 'nothing was stored');
});

t.test('ids and locators are unique per application', async (t) => {
  const test = await buildTestApp(t);
  t.equal((await createUser(test, { userId: 'user-0001', screenName: { screenName: 'A' }, userLocators: ['email:a@example.com'] })).statusCode, 200);

  const sameId = await createUser(test, { userId: 'user-0001', screenName: { screenName: 'B' } });
  t.match({ status: sameId.statusCode, body: sameId.json() }, { status: 409, body: { errorCode: 'duplicate_entity', diagnostics: { entityType: 'user' } } });

  const sameLocator = await createUser(test, {
    userId: 'user-0002',
    screenName: { screenName: 'B' },
    userLocators: ['tele:+12133734253', 'email:A@EXAMPLE.com'],
  });
  t.match(
    { status: sameLocator.statusCode, body: sameLocator.json() },
    {
      status: 409,
      body: { errorCode: 'duplicate_entity', diagnostics: { entityType: 'userLocator', locators: ['email:a@example.com'] } },
    },
    'names the taken locator in its normalised form',
  );
  t.equal((await test.signed('GET', '/v1/users/user-0002')).statusCode, 404, 'the user was not created either');
  t.same((await test.signed('GET', '/v1/users', { query: 'locators=tele:%2B12133734253' })).json(), [], 'nor its other locator');

  // Another application may use the same id and locator.
  const other = await test.app.locus.applications.create('other-app');
  const inOther = await test.signed('POST', '/v1/users', {
    body: json({ userId: 'user-0001', screenName: { screenName: 'A2' }, userLocators: ['email:a@example.com'] }),
    credentials: other,
  });
  t.equal(inOther.statusCode, 200, 'tenancy: ids and locators are per application');
  const seenByFirst = await test.signed('GET', '/v1/users/user-0001');
  t.equal(seenByFirst.json().screenName.screenName, 'A', 'each application sees its own user');
});

t.test('lookup by locators: repeated, comma-joined, any spelling', async (t) => {
  const test = await buildTestApp(t);
  await createUser(test, { userId: 'user-0001', screenName: { screenName: 'A' }, userLocators: ['email:a@example.com', 'tele:+919876543210'] });
  await createUser(test, { userId: 'user-0002', screenName: { screenName: 'B' }, userLocators: ['email:b@example.com'] });
  await createUser(test, { userId: 'user-0003', screenName: { screenName: 'C' } });

  const lookup = await test.signed('GET', '/v1/users', {
    query: `locators=${encodeURIComponent('email:B@Example.com')}&locators=${encodeURIComponent('tele:+91 98765 43210,email:a@example.com')}&locators=email:nobody@example.com&sandboxed=false`,
  });
  t.equal(lookup.statusCode, 200);
  t.same(
    lookup.json().map((u: { userId: string }) => u.userId),
    ['user-0002', 'user-0001'],
    'each owner once, in request order; unknown locators find nothing',
  );
  t.equal(lookup.headers['x-mitter-paginated-estimated-count'], '2');

  const bad = await test.signed('GET', '/v1/users', { query: 'locators=email:a@example.com,tele:12345' });
  t.match(
    { status: bad.statusCode, body: bad.json() },
    { status: 400, body: { errorCode: 'invalid_entity', diagnostics: { field: 'locators[1]', location: 'query', rule: 'phone' } } },
  );

  for (const empty of ['locators=', 'locators=,', 'locators=%20&locators=']) {
    for (const headers of [{}, { 'x-mitter-sudo-user-id': 'user-0003' }] as Array<Record<string, string>>) {
      const response = await test.signed('GET', '/v1/users', { query: empty, headers });
      t.match(
        { status: response.statusCode, body: response.json() },
        { status: 400, body: { diagnostics: { field: 'locators', rule: 'minItems' } } },
        `${empty} is an empty lookup, never a listing`,
      );
    }
  }

  // Unencoded, as mitter.io's iOS SDK sends them: form decoding turns each raw `+` into a space.
  await createUser(test, { userId: 'user-0004', screenName: { screenName: 'D' }, userLocators: ['email:d+news@example.com', 'tele:+14155550123'] });
  for (const query of [
    'locators=tele:+14155550123',
    'locators=tele:+1+415+555+0123',
    'locators=email:d+news@example.com',
    'locators=email:D+News@example.com,tele:+14155550123',
  ]) {
    const raw = await test.signed('GET', '/v1/users', { query });
    t.same(
      { status: raw.statusCode, users: raw.statusCode === 200 ? raw.json().map((u: { userId: string }) => u.userId) : raw.json() },
      { status: 200, users: ['user-0004'] },
      `${query}: its plus signs read back`,
    );
  }
  t.same(
    (await test.signed('GET', '/v1/users', { query: `locators=${encodeURIComponent('email:d news@example.com')}` }))
      .json()
      .map((u: { userId: string }) => u.userId),
    ['user-0004'],
    'an encoded space inside an address is a plus too: no address holds one',
  );
  const notPlus = await test.signed('GET', '/v1/users', { query: 'locators=tele:+999,email:d@example.com' });
  t.match(
    { status: notPlus.statusCode, body: notPlus.json() },
    { status: 400, body: { diagnostics: { field: 'locators[0]', rule: 'phone' } } },
    'an invalid number is still invalid once its plus is read back',
  );
  t.same(
    (await test.signed('GET', '/v1/users', { query: 'locators=email:%20d%2Bnews@example.com%20' })).json().map((u: { userId: string }) => u.userId),
    ['user-0004'],
    'spaces around an address are trimmed, not read as plus signs',
  );

  const tooMany = Array.from({ length: 101 }, (_, i) => `email:u${i}@example.com`).join(',');
  const limited = await test.signed('GET', '/v1/users', { query: `locators=${encodeURIComponent(tooMany)}` });
  t.match({ status: limited.statusCode, body: limited.json() }, { status: 400, body: { diagnostics: { field: 'locators', rule: 'maxItems' } } });
});

t.test('listing pages through every user once', async (t) => {
  const test = await buildTestApp(t);
  const ids = ['user-0005', 'user-0003', 'user-0001', 'user-0004', 'user-0002'];
  for (const userId of ids) await createUser(test, { userId, screenName: { screenName: userId } });

  const seen: string[] = [];
  let query: string | null = 'limit=2';
  let pages = 0;
  while (query !== null) {
    const page = await test.signed('GET', '/v1/users', { query });
    t.equal(page.statusCode, 200);
    t.equal(page.headers['x-mitter-paginated-estimated-count'], '5');
    seen.push(...page.json().map((u: { userId: string }) => u.userId));
    const link = page.headers.link as string | undefined;
    query = link ? (/^<\/v1\/users\?([^>]+)>; rel="next"$/.exec(link)?.[1] ?? null) : null;
    pages += 1;
  }
  t.same(seen, [...ids].sort(), 'user-id order, no repeats, nothing missed');
  t.equal(pages, 3);
  t.equal((await test.signed('GET', '/v1/users')).json().length, 5, 'default page size holds them all');

  for (const bad of ['limit=0', 'limit=101', 'limit=x', 'after=%%%', 'after=bm90IGEgdXNlcg']) {
    const response = await test.signed('GET', '/v1/users', { query: bad });
    t.equal(response.statusCode, 400, bad);
    t.equal(response.json().errorCode, 'invalid_entity', bad);
  }
});

t.test('reading users and screen names', async (t) => {
  const test = await buildTestApp(t);
  await createUser(test, { userId: 'user-0001', screenName: { screenName: 'A' } });
  await createUser(test, { userId: 'user-0002', screenName: { screenName: 'B' } });

  const unknown = await test.signed('GET', '/v1/users/user-9999');
  t.match(
    { status: unknown.statusCode, body: unknown.json() },
    { status: 404, body: { errorCode: 'entity_not_found', diagnostics: { entityType: 'user', entityLocator: 'user-9999' } } },
  );
  const invalid = await test.signed('GET', '/v1/users/bad');
  t.match(
    { status: invalid.statusCode, body: invalid.json() },
    { status: 400, body: { errorCode: 'invalid_entity', diagnostics: { field: 'userId', location: 'path' } } },
  );
  const badProfileKeys = await test.signed('GET', '/v1/users/user-0001', { query: 'withProfileAttributes=a,b%20c' });
  t.match({ status: badProfileKeys.statusCode, body: badProfileKeys.json() }, { status: 400, body: { diagnostics: { field: 'withProfileAttributes' } } });

  const names = await test.signed('GET', '/v1/users/user-0002,user-0001,user-0002/screenname');
  t.same(names.json(), { screenNames: [{ screenName: 'B' }, { screenName: 'A' }, { screenName: 'B' }] }, 'request order, repeats kept');
  const missing = await test.signed('GET', '/v1/users/user-0001,user-0404,user-0405/screenname');
  t.match({ status: missing.statusCode, body: missing.json() }, { status: 404, body: { diagnostics: { entityLocator: 'user-0404,user-0405' } } });
  const hundred = Array.from({ length: 100 }, () => 'user-0001').join(',');
  t.equal((await test.signed('GET', `/v1/users/${hundred}/screenname`)).json().screenNames.length, 100, '100 ids (a long path parameter)');
  const tooMany = `${hundred},user-0001`;
  t.match((await test.signed('GET', `/v1/users/${tooMany}/screenname`)).json(), {
    errorCode: 'invalid_entity',
    diagnostics: { field: 'userIds', rule: 'maxItems' },
  });

  test.clock.advance(60_000);
  const renamed = await test.signed('PUT', '/v1/users/user-0001/screenname', { body: json({ screenName: 'Alice' }) });
  t.same({ status: renamed.statusCode, body: renamed.json() }, { status: 200, body: {} });
  const after = (await test.signed('GET', '/v1/users/user-0001')).json();
  t.equal(after.screenName.screenName, 'Alice');
  t.equal(after.auditInfo.updatedAt - after.auditInfo.createdAt, 60_000, 'updatedAt moves, createdAt stays');
  t.equal((await test.signed('PUT', '/v1/users/user-0001/screenname', { body: json({ screenName: '' }) })).statusCode, 400);
  t.equal((await test.signed('PUT', '/v1/users/user-0404/screenname', { body: json({ screenName: 'X' }) })).statusCode, 404);
});

t.test('adding and removing locators', async (t) => {
  const test = await buildTestApp(t);
  await createUser(test, { userId: 'user-0001', screenName: { screenName: 'A' } });
  await createUser(test, { userId: 'user-0002', screenName: { screenName: 'B' } });

  const added = await test.signed('POST', '/v1/users/user-0001/locators', { body: json('tele:+44 20 7946 0958') });
  t.same({ status: added.statusCode, body: added.json() }, { status: 200, body: {} }, 'a bare string');
  t.equal(
    (
      await test.signed('POST', '/v1/users/user-0001/locators', {
        body: json({ '@type': 'email', email: 'A@x.io', locatorSerializationPrefix: 'email', verificationStatus: 2 }),
      })
    ).statusCode,
    200,
    'an SDK entity',
  );
  const taken = await test.signed('POST', '/v1/users/user-0002/locators', { body: json('email:a@X.IO') });
  t.match(
    { status: taken.statusCode, body: taken.json() },
    { status: 409, body: { errorCode: 'duplicate_entity', diagnostics: { locators: ['email:a@x.io'] } } },
  );
  t.equal((await test.signed('POST', '/v1/users/user-0404/locators', { body: json('email:z@x.io') })).statusCode, 404);
  t.equal((await test.signed('POST', '/v1/users/user-0001/locators', { body: json({ locator: 'email:nope' }) })).statusCode, 400);

  const user = (await test.signed('GET', '/v1/users/user-0001')).json();
  t.same(
    user.userLocators.map((l: { locator: string }) => l.locator),
    ['tele:+442079460958', 'email:a@x.io'],
    'in the order added',
  );

  const emailId = user.userLocators[1].userLocatorId;
  t.equal((await test.signed('DELETE', `/v1/users/user-0002/locators/${emailId}`)).statusCode, 404, "another user's locator id is not found");
  const removed = await test.signed('DELETE', `/v1/users/user-0001/locators/${emailId}`);
  t.same({ status: removed.statusCode, body: removed.json() }, { status: 200, body: {} });
  t.equal((await test.signed('DELETE', `/v1/users/user-0001/locators/${emailId}`)).statusCode, 404, 'gone');
  t.equal((await test.signed('POST', '/v1/users/user-0002/locators', { body: json('email:a@x.io') })).statusCode, 200, 'a removed locator is free again');

  for (let i = 0; i < 19; i += 1) {
    t.equal((await test.signed('POST', '/v1/users/user-0001/locators', { body: json(`email:n${i}@x.io`) })).statusCode, 200);
  }
  const full = await test.signed('POST', '/v1/users/user-0001/locators', { body: json('email:one-too-many@x.io') });
  t.match({ status: full.statusCode, body: full.json() }, { status: 409, body: { errorCode: 'limit_exceeded', diagnostics: { limit: 20 } } });
});

t.test('a read after any change answers the change, by id and by locator (users are cached per instance)', async (t) => {
  const test = await buildTestApp(t);
  await createUser(test, { userId: 'user-0001', screenName: { screenName: 'A' }, userLocators: ['email:a@x.io'] });
  await createUser(test, { userId: 'user-0002', screenName: { screenName: 'B' } });
  type Read = {
    screenName: { screenName: string };
    userLocators: Array<{ locator: string; userLocatorId: string }>;
    blocked: boolean;
    auditInfo: { updatedAt: number };
  };
  const byId = async (userId: string): Promise<Read> => (await test.signed('GET', `/v1/users/${userId}`)).json();
  const byLocator = async (locator: string): Promise<Array<Read & { userId: string }>> =>
    (await test.signed('GET', '/v1/users', { query: `locators=${encodeURIComponent(locator)}` })).json();
  /** What a caller sees of user-0001, read by id and by its email: the two must agree. */
  const seen = async () => {
    const user = await byId('user-0001');
    const [found] = await byLocator('email:a@x.io');
    t.same(found, { ...user, userId: 'user-0001' }, 'the lookup by locator answers the same user');
    return { name: user.screenName.screenName, locators: user.userLocators.map((l) => l.locator), blocked: user.blocked, updatedAt: user.auditInfo.updatedAt };
  };
  const before = await seen();
  t.same(before, { name: 'A', locators: ['email:a@x.io'], blocked: false, updatedAt: test.clock.now() });

  test.clock.advance(1_000);
  t.equal((await test.signed('PUT', '/v1/users/user-0001/screenname', { body: json({ screenName: 'A2' }) })).statusCode, 200);
  t.same(await seen(), { ...before, name: 'A2', updatedAt: test.clock.now() }, 'a new screen name');

  test.clock.advance(1_000);
  t.equal((await test.signed('POST', '/v1/users/user-0001/locators', { body: json('tele:+442079460958') })).statusCode, 200);
  t.same(await seen(), { ...before, name: 'A2', locators: ['email:a@x.io', 'tele:+442079460958'], updatedAt: test.clock.now() }, 'an added locator');
  t.same(
    (await byLocator('tele:+442079460958')).map((user) => user.userId),
    ['user-0001'],
    'found by it',
  );

  test.clock.advance(1_000);
  const profile = { attributes: [{ key: 'mitter.upa.Bio', contentType: 'text/plain', contentEncoding: 'identity', value: 'hi' }], patchType: 'Diff' };
  t.equal((await test.signed('POST', '/v1/users/user-0001/profile', { body: json(profile) })).statusCode, 200);
  const touched = await seen();
  t.equal(touched.updatedAt, test.clock.now(), 'a profile write moves updatedAt');

  t.equal((await test.signed('POST', '/v1/users/user-0001/suspension', { body: json({ reason: 'Spam' }) })).statusCode, 200);
  t.equal((await seen()).blocked, true, 'suspended: blocked');
  t.equal((await test.signed('DELETE', '/v1/users/user-0001/suspension')).statusCode, 200);
  t.equal((await seen()).blocked, false, 'reinstated');

  const email = (await byId('user-0001')).userLocators[0]!;
  t.equal((await test.signed('DELETE', `/v1/users/user-0001/locators/${email.userLocatorId}`)).statusCode, 200);
  t.same(
    (await byId('user-0001')).userLocators.map((l) => l.locator),
    ['tele:+442079460958'],
    'a removed locator',
  );
  t.same(await byLocator('email:a@x.io'), [], 'is no longer found');
  t.equal((await test.signed('POST', '/v1/users/user-0002/locators', { body: json('email:a@x.io') })).statusCode, 200);
  t.same(
    (await byLocator('email:a@x.io')).map((user) => user.userId),
    ['user-0002'],
    'and, taken by another user, finds that user',
  );
  t.same(
    (await byLocator('email:a@x.io,tele:+442079460958')).map((user) => user.userId),
    ['user-0002', 'user-0001'],
    'two lookups in one, in the order asked',
  );

  t.equal((await test.signed('DELETE', '/v1/users/user-0001')).statusCode, 200);
  t.equal((await test.signed('GET', '/v1/users/user-0001')).statusCode, 404, 'a deleted user is not found by id');
  t.same(await byLocator('tele:+442079460958'), [], 'nor by its locators');
});

t.test('users and profiles sent as JSON written ahead are the documents the route schemas write', async (t) => {
  const test = await buildTestApp(t);
  await createUser(test, {
    userId: 'user-0001',
    screenName: { screenName: 'Quote " back\\slash </script> \u00e9\u{1F600}' },
    userLocators: ['email:a@x.io', 'tele:+442079460958'],
  });
  await createUser(test, { userId: 'user-0002', screenName: { screenName: 'B' } });
  t.equal((await test.signed('POST', '/v1/users/user-0002/suspension', { body: json({ reason: 'x' }) })).statusCode, 200);
  const bio = { key: 'mitter.upa.Bio', contentType: 'text/plain', contentEncoding: 'identity', value: 'line\nbreak "quoted" \u2028' };
  t.equal((await test.signed('POST', '/v1/users/user-0001/profile', { body: json({ attributes: [bio] }) })).statusCode, 200);

  // The listing and user reads with profile attributes still go through the schemas' serializer.
  const listed = (await test.signed('GET', '/v1/users')).json();
  for (const userId of ['user-0001', 'user-0002']) {
    for (let read = 0; read < 2; read += 1) {
      const response = await test.signed('GET', `/v1/users/${userId}`);
      t.equal(response.headers['content-type'], 'application/json; charset=utf-8');
      t.same(
        response.json(),
        listed.find((user: { userId: string }) => user.userId === userId),
        `${userId}, read ${read === 0 ? 'first' : 'again (cached)'}`,
      );
    }
  }
  const found = (await test.signed('GET', '/v1/users', { query: 'locators=tele:%2B442079460958' })).json();
  t.same(found, [listed[0]], 'a lookup by locator');

  const withProfile = (await test.signed('GET', '/v1/users/user-0001', { query: 'withProfileAttributes=*' })).json();
  for (let read = 0; read < 2; read += 1) {
    const profile = await test.signed('GET', '/v1/users/user-0001/profile');
    t.equal(profile.headers['content-type'], 'application/json; charset=utf-8');
    t.same(profile.json(), withProfile.entityProfile, 'a profile');
  }
  t.same(withProfile.entityProfile.attributes, [bio]);
});

t.test('only .system may store a locator as verified', async (t) => {
  const test = await buildTestApp(t);
  await createUser(test, { userId: 'user-0001', screenName: { screenName: 'A' } });
  const asSelf = { headers: { 'x-mitter-sudo-user-id': 'user-0001' } };
  const claim = await test.signed('POST', '/v1/users/user-0001/locators', { ...asSelf, body: json({ email: 'a@x.io', verificationStatus: 'Verified' }) });
  t.match(
    { status: claim.statusCode, body: claim.json() },
    { status: 403, body: { errorCode: 'missing_privilege', diagnostics: { missingPrivileges: ['users.locators.attest'] } } },
  );
  t.equal(
    (await test.signed('POST', '/v1/users/me/locators', { ...asSelf, body: json({ email: 'a@x.io', verificationStatus: 'Unverified' }) })).statusCode,
    200,
    'an unverified one is fine',
  );
  t.equal((await test.signed('POST', '/v1/users/user-0001/locators', { body: json({ email: 'b@x.io', verificationStatus: 'Verified' }) })).statusCode, 200);
  const statuses = (await test.signed('GET', '/v1/users/me', asSelf)).json().userLocators.map((l: { verificationStatus: string }) => l.verificationStatus);
  t.same(statuses, ['Unverified', 'Verified']);
});

t.test('deletion frees locators, runs hooks in its transaction, and quarantines the id', async (t) => {
  const test = await buildTestApp(t);
  const { users } = test.app.locus;
  await createUser(test, { userId: 'user-0001', screenName: { screenName: 'A' }, userLocators: ['email:a@x.io'] });

  // A failing hook rolls the whole deletion back.
  let failNext = true;
  const seen: string[] = [];
  users.onDelete(async (tx, _emit, user) => {
    t.ok(
      await tx.selectFrom('User').select('id').where('id', '=', user.id).executeTakeFirst(),
      'the hook runs while the user still exists, inside the transaction',
    );
    if (failNext) throw new Error('hook failed');
    seen.push(`in-tx:${user.userId}`);
  });
  users.onDeleted((user) => {
    seen.push(`after:${user.userId}`);
  });
  const failed = await test.signed('DELETE', '/v1/users/user-0001');
  t.match({ status: failed.statusCode, body: failed.json() }, { status: 500, body: { errorCode: 'unknown_error' } });
  t.equal((await test.signed('GET', '/v1/users/user-0001')).json().userLocators.length, 1, 'nothing was deleted');

  failNext = false;
  const deleted = await test.signed('DELETE', '/v1/users/user-0001');
  t.same({ status: deleted.statusCode, body: deleted.json() }, { status: 200, body: {} });
  t.same(seen, ['in-tx:user-0001', 'after:user-0001'], 'hook in the transaction, then the listener');
  t.equal((await test.signed('GET', '/v1/users/user-0001')).statusCode, 404);
  t.equal((await test.signed('DELETE', '/v1/users/user-0001')).statusCode, 404, 'deleting twice is a 404');
  t.equal(await locatorRows(test), 0, 'its locators are gone');
  t.equal(
    (await createUser(test, { userId: 'user-0002', screenName: { screenName: 'B' }, userLocators: ['email:a@x.io'] })).statusCode,
    200,
    'and free for reuse',
  );

  const again = await createUser(test, { userId: 'user-0001', screenName: { screenName: 'A again' } });
  t.match(
    { status: again.statusCode, body: again.json() },
    {
      status: 409,
      body: { errorCode: 'duplicate_entity', diagnostics: { entityLocator: 'user-0001', reusableAt: test.clock.now() + 30 * 86_400_000 } },
    },
    'a deleted id cannot be re-created for 30 days',
  );
  test.clock.advance(30 * 86_400_000 + 1);
  t.equal((await createUser(test, { userId: 'user-0001', screenName: { screenName: 'A again' } })).statusCode, 200, 'after 30 days it can');
});

t.test('concurrent claims on one locator: one success, one 409', async (t) => {
  const test = await buildTestApp(t);
  for (const userId of ['user-0001', 'user-0002', 'user-0003', 'user-0004']) await createUser(test, { userId, screenName: { screenName: userId } });

  for (let round = 0; round < 5; round += 1) {
    const locator = `tele:+1 213 373 42${String(round).padStart(2, '0')}`;
    const spellings = [locator, locator.replace(/ /g, '-')];
    const responses = await Promise.all([
      test.signed('POST', '/v1/users/user-0001/locators', { body: json(spellings[0]) }),
      test.signed('POST', '/v1/users/user-0002/locators', { body: json(spellings[1]) }),
      test.signed('POST', '/v1/users', { body: json({ screenName: { screenName: 'racer' }, userLocators: [spellings[0]] }) }),
    ]);
    const statuses = responses.map((r) => r.statusCode).sort();
    t.same(statuses, [200, 409, 409], `round ${round}: exactly one claim wins`);
    for (const loser of responses.filter((r) => r.statusCode === 409)) t.equal(loser.json().errorCode, 'duplicate_entity');
  }

  const ids = await Promise.all(Array.from({ length: 4 }, () => createUser(test, { userId: 'same-id-01', screenName: { screenName: 'x' } })));
  t.same(ids.map((r) => r.statusCode).sort(), [200, 409, 409, 409], 'one of four concurrent creates of one id wins');
  t.equal(await locatorRows(test), 5, 'exactly one row per contested locator');
});

t.test('request logs carry the path, never the query string or credentials', async (t) => {
  const { logStream, lines } = capturedLogs();
  const database = await createTestDatabase();
  database.config.logLevel = 'info';
  t.teardown(() => database.drop());
  const test = await buildTestApp(t, { database, logger: undefined, logStream });
  await createUser(test, { userId: 'user-0001', screenName: { screenName: 'A' }, userLocators: ['email:secret.person@example.com'] });
  const lookup = await test.signed('GET', '/v1/users', { query: `locators=${encodeURIComponent('email:secret.person@example.com')}` });
  t.equal(lookup.json().length, 1);
  const log = lines.join('');
  t.match(log, /"path":"\/v1\/users"/, 'the path is logged');
  t.match(log, new RegExp(`"requestId":"${String(lookup.headers['x-request-id'])}"`), 'with the request id');
  t.notMatch(log, /secret\.person|locators=/, 'the lookup’s query string is not');
  t.notMatch(log, new RegExp(test.credentials.accessKey), 'nor the access key');
});
