// docs/profiles.md over HTTP: attribute defs, profile values and their rules, patches, user reads with
// `withProfileAttributes`, and deletion.
import t, { type Test } from 'tap';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { STANDARD_ATTRIBUTE_DEFS } from '../../src/modules/profiles/standard.ts';
import { MAX_PROFILE_ATTRIBUTES } from '../../src/modules/profiles/service.ts';

const json = (value: unknown) => JSON.stringify(value);
const text = (key: string, value: string) => ({ key, contentType: 'text/plain', contentEncoding: 'identity', value });

async function setup(t: Test): Promise<TestApp> {
  const test = await buildTestApp(t);
  for (const userId of ['user-0001', 'user-0002']) {
    const created = await test.signed('POST', '/v1/users', { body: json({ userId, screenName: { screenName: userId } }) });
    t.equal(created.statusCode, 200);
  }
  return test;
}

async function defineAttribute(test: TestApp, def: Record<string, unknown>) {
  return test.signed('POST', '/v1/attribute-def/users', { body: json(def) });
}

async function profileOf(test: TestApp, userId: string) {
  const response = await test.signed('GET', `/v1/users/${userId}/profile`);
  return response.json();
}

t.test('attribute defs: create, read, list, immutable', async (t) => {
  const test = await setup(t);
  const def = {
    key: 'app.users.Nickname',
    allowedContentTypes: ['text/plain', 'TEXT/PLAIN'],
    allowedContentEncodings: ['identity'],
    canBeEmpty: false,
    entityType: 'users',
  };
  const created = await defineAttribute(test, def);
  t.same({ status: created.statusCode, body: created.json() }, { status: 200, body: {} });
  test.clock.advance(1);
  t.equal((await defineAttribute(test, { key: 'app.users.Avatar', allowedContentTypes: ['image/png'], allowedContentEncodings: ['base64'] })).statusCode, 200);

  const read = await test.signed('GET', '/v1/attribute-def/users/app.users.Nickname');
  t.same(read.json(), { ...def, allowedContentTypes: ['text/plain'] }, 'one entry per content type (matched case-insensitively)');

  const list = (await test.signed('GET', '/v1/attribute-def/users')).json();
  t.same(
    list.map((d: { key: string }) => d.key),
    [...STANDARD_ATTRIBUTE_DEFS.map((d) => d.key), 'app.users.Nickname', 'app.users.Avatar'],
    'the standard defs, then the application’s own in creation order',
  );
  t.same(
    list.at(-1),
    { key: 'app.users.Avatar', allowedContentTypes: ['image/png'], allowedContentEncodings: ['base64'], canBeEmpty: true, entityType: 'users' },
    'canBeEmpty defaults to true',
  );
  t.match(
    list.find((d: { key: string }) => d.key === 'mitter.upa.FirstName'),
    { allowedContentTypes: ['text/plain'], allowedContentEncodings: ['identity', 'UTF-8'], canBeEmpty: true },
  );
  t.same(
    (await test.signed('GET', '/v1/attribute-def/users/mitter.user.profile.attribute.LastName')).json().key,
    'mitter.user.profile.attribute.LastName',
    'both SDKs’ spellings are standard',
  );

  t.equal((await test.signed('POST', '/v1/users/user-0001/profile/app.users.Nickname', { body: json(text('app.users.Nickname', 'Ace')) })).statusCode, 200);
  const again = await defineAttribute(test, { ...def, allowedContentTypes: ['application/json'], canBeEmpty: true });
  t.match(
    { status: again.statusCode, body: again.json() },
    { status: 409, body: { errorCode: 'duplicate_entity', diagnostics: { entityLocator: 'app.users.Nickname' } } },
  );
  t.same((await test.signed('GET', '/v1/attribute-def/users/app.users.Nickname')).json().allowedContentTypes, ['text/plain'], 'the def did not change');
  t.same((await profileOf(test, 'user-0001')).attributes, [text('app.users.Nickname', 'Ace')], 'and values written under it survive');
  const standard = await defineAttribute(test, { key: 'mitter.upa.Bio', allowedContentTypes: ['text/html'], allowedContentEncodings: ['identity'] });
  t.match(
    { status: standard.statusCode, body: standard.json() },
    { status: 409, body: { errorCode: 'duplicate_entity' } },
    'a standard key cannot be redefined',
  );

  const missing = await test.signed('GET', '/v1/attribute-def/users/app.users.Nothing');
  t.match({ status: missing.statusCode, body: missing.json() }, { status: 404, body: { errorCode: 'entity_not_found' } });

  const bad: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
    ['no key', { allowedContentTypes: ['text/plain'], allowedContentEncodings: ['identity'] }, { field: 'key', rule: 'required' }],
    ['bad key', { key: 'has space', allowedContentTypes: ['text/plain'], allowedContentEncodings: ['identity'] }, { field: 'key', rule: 'pattern' }],
    ['long key', { key: 'k'.repeat(129), allowedContentTypes: ['text/plain'], allowedContentEncodings: ['identity'] }, { field: 'key', rule: 'pattern' }],
    ['no types', { key: 'app.k', allowedContentTypes: [], allowedContentEncodings: ['identity'] }, { field: 'allowedContentTypes', rule: 'minItems' }],
    ['no encodings', { key: 'app.k', allowedContentTypes: ['text/plain'] }, { field: 'allowedContentEncodings', rule: 'required' }],
    [
      'not a MIME type',
      { key: 'app.k', allowedContentTypes: ['plain'], allowedContentEncodings: ['identity'] },
      { field: 'allowedContentTypes[0]', rule: 'pattern' },
    ],
    [
      'MIME parameters',
      { key: 'app.k', allowedContentTypes: ['text/plain; charset=utf-8'], allowedContentEncodings: ['identity'] },
      { field: 'allowedContentTypes[0]', rule: 'pattern' },
    ],
    [
      'bad encoding',
      { key: 'app.k', allowedContentTypes: ['text/plain'], allowedContentEncodings: ['ut f'] },
      { field: 'allowedContentEncodings[0]', rule: 'pattern' },
    ],
    [
      'too many types',
      { key: 'app.k', allowedContentTypes: Array.from({ length: 33 }, (_, i) => `text/t${i}`), allowedContentEncodings: ['identity'] },
      { field: 'allowedContentTypes', rule: 'maxItems' },
    ],
    [
      'string flag',
      { key: 'app.k', allowedContentTypes: ['text/plain'], allowedContentEncodings: ['identity'], canBeEmpty: 'false' },
      { field: 'canBeEmpty', rule: 'type' },
    ],
    [
      'channels',
      { key: 'app.k', allowedContentTypes: ['text/plain'], allowedContentEncodings: ['identity'], entityType: 'channels' },
      { field: 'entityType', rule: 'entity_type' },
    ],
  ];
  for (const [name, body, diagnostics] of bad) {
    const response = await defineAttribute(test, body);
    t.equal(response.statusCode, 400, name);
    t.match(response.json(), { errorCode: 'invalid_entity', diagnostics }, name);
  }
  t.equal((await test.signed('GET', '/v1/attribute-def/users')).json().length, STANDARD_ATTRIBUTE_DEFS.length + 2, 'no refused def was stored');
});

t.test('defs belong to one application', async (t) => {
  const test = await setup(t);
  const other = await test.app.locus.applications.create('other-app');
  t.equal((await defineAttribute(test, { key: 'app.Secret', allowedContentTypes: ['text/plain'], allowedContentEncodings: ['identity'] })).statusCode, 200);
  const asOther = { credentials: other };
  t.equal((await test.signed('GET', '/v1/attribute-def/users/app.Secret', asOther)).statusCode, 404);
  t.equal((await test.signed('GET', '/v1/attribute-def/users', asOther)).json().length, STANDARD_ATTRIBUTE_DEFS.length);
  t.equal((await test.signed('POST', '/v1/users', { ...asOther, body: json({ userId: 'other-0001', screenName: { screenName: 'O' } }) })).statusCode, 200);
  const write = await test.signed('POST', '/v1/users/other-0001/profile/app.Secret', { ...asOther, body: json(text('app.Secret', 'x')) });
  t.match(
    { status: write.statusCode, body: write.json() },
    { status: 400, body: { errorCode: 'invalid_domain_attribute', diagnostics: { rule: 'undefined_key' } } },
  );
  t.equal((await test.signed('GET', '/v1/users/user-0001/profile', asOther)).statusCode, 404, 'nor can it see the other application’s users');
});

t.test('values: every rule answers 400 naming the key and the rule, and stores nothing', async (t) => {
  const test = await setup(t);
  await defineAttribute(test, { key: 'app.Nick', allowedContentTypes: ['text/plain'], allowedContentEncodings: ['identity', 'UTF-8'], canBeEmpty: false });
  await defineAttribute(test, { key: 'app.Avatar', allowedContentTypes: ['image/png'], allowedContentEncodings: ['base64'] });
  await defineAttribute(test, { key: 'app.Prefs', allowedContentTypes: ['application/json'], allowedContentEncodings: ['identity'] });
  await defineAttribute(test, { key: 'app.Note', allowedContentTypes: ['text/plain'], allowedContentEncodings: ['identity'] });

  const domain: Array<[string, string, Record<string, unknown>, string]> = [
    ['no def', 'app.Unknown', text('app.Unknown', 'x'), 'undefined_key'],
    ['content type', 'app.Nick', { ...text('app.Nick', 'x'), contentType: 'text/html' }, 'content_type'],
    ['content encoding', 'app.Nick', { ...text('app.Nick', 'x'), contentEncoding: 'base64' }, 'content_encoding'],
    ['empty', 'app.Nick', text('app.Nick', ''), 'empty'],
    ['too large', 'app.Note', text('app.Note', 'é'.repeat(32 * 1024) + 'x'), 'max_size'],
    ['not base64', 'app.Avatar', { key: 'app.Avatar', contentType: 'image/png', contentEncoding: 'base64', value: 'not base64!' }, 'base64'],
    ['not JSON', 'app.Prefs', { key: 'app.Prefs', contentType: 'application/json', contentEncoding: 'identity', value: '{"a":' }, 'json'],
    ['NUL', 'app.Note', text('app.Note', 'a\u0000b'), 'encoding'],
    ['lone surrogate', 'app.Note', text('app.Note', 'a\ud800b'), 'encoding'],
    ['bad email', 'mitter.upa.Email', text('mitter.upa.Email', 'nope'), 'email'],
    ['empty email', 'mitter.upa.Email', text('mitter.upa.Email', ''), 'empty'],
    ['mobile without country code', 'mitter.upa.Mobile', text('mitter.upa.Mobile', '98765 43210'), 'phone'],
    ['mobile extension', 'mitter.upa.Mobile', text('mitter.upa.Mobile', '+1 213 373 4253 ext. 9'), 'phone_extension'],
    ['standard type', 'mitter.upa.Bio', { ...text('mitter.upa.Bio', 'x'), contentType: 'application/json' }, 'content_type'],
  ];
  for (const [name, key, body, rule] of domain) {
    const response = await test.signed('POST', `/v1/users/user-0001/profile/${key}`, { body: json(body) });
    t.equal(response.statusCode, 400, name);
    t.match(response.json(), { errorCode: 'invalid_domain_attribute', diagnostics: { key, rule } }, name);
    const patched = await test.signed('POST', '/v1/users/user-0001/profile', {
      body: json({ attributes: [text('mitter.upa.Gender', 'fine'), body], patchType: 'Diff' }),
    });
    t.match(patched.json(), { errorCode: 'invalid_domain_attribute', diagnostics: { key, rule, field: 'attributes[1]' } }, `${name} in a patch`);
  }

  const shape: Array<[string, string, unknown, Record<string, unknown>]> = [
    ['key differs from the path', 'app.Note', text('app.Nick', 'x'), { field: 'key', rule: 'key_mismatch' }],
    ['no value', 'app.Note', { key: 'app.Note' }, { field: 'value', rule: 'required' }],
    ['numeric value', 'app.Note', { key: 'app.Note', value: 5 }, { field: 'value', rule: 'type' }],
    ['null value', 'app.Note', { key: 'app.Note', value: null }, { field: 'value', rule: 'type' }],
    ['not an object', 'app.Note', ['x'], { field: 'body', rule: 'type' }],
    ['bad path key', 'bad key!', text('app.Note', 'x'), { field: 'key', rule: 'pattern' }],
  ];
  for (const [name, key, body, diagnostics] of shape) {
    const response = await test.signed('POST', `/v1/users/user-0001/profile/${encodeURIComponent(key)}`, {
      body: json(body),
      signPath: `/v1/users/user-0001/profile/${encodeURIComponent(key)}`,
    });
    t.equal(response.statusCode, 400, name);
    t.match(response.json(), { errorCode: 'invalid_entity', diagnostics }, name);
  }
  const patches: Array<[string, unknown, Record<string, unknown>]> = [
    ['too many', { attributes: Array.from({ length: 101 }, (_, i) => text(`app.k${i}`, 'x')), patchType: 'Set' }, { field: 'attributes', rule: 'maxItems' }],
    ['same key twice', { attributes: [text('app.Note', 'a'), text('app.Note', 'b')] }, { field: 'attributes[1]', rule: 'duplicate' }],
    ['bad patch type', { attributes: [], patchType: 'Replace' }, { field: 'patchType', rule: 'enum' }],
    ['no attributes', { patchType: 'Set' }, { field: 'attributes', rule: 'required' }],
    ['attribute without key', { attributes: [{ value: 'x' }] }, { field: 'attributes[0].key', rule: 'type' }],
  ];
  for (const [name, body, diagnostics] of patches) {
    const response = await test.signed('POST', '/v1/users/user-0001/profile', { body: json(body) });
    t.equal(response.statusCode, 400, name);
    t.match(response.json(), { errorCode: 'invalid_entity', diagnostics }, name);
  }
  t.same((await profileOf(test, 'user-0001')).attributes, [], 'nothing was stored');
});

t.test('values: what is accepted, and how it is stored', async (t) => {
  const test = await setup(t);
  await defineAttribute(test, { key: 'app.Note', allowedContentTypes: ['text/plain'], allowedContentEncodings: ['identity', 'UTF-8'] });
  await defineAttribute(test, { key: 'app.Avatar', allowedContentTypes: ['image/png'], allowedContentEncodings: ['base64'] });
  await defineAttribute(test, { key: 'app.Prefs', allowedContentTypes: ['application/json'], allowedContentEncodings: ['identity'] });
  const accepted: Array<[string, unknown]> = [
    ['app.Note', { key: 'app.Note', contentType: 'Text/Plain', contentEncoding: 'utf-8', value: 'x' }],
    ['app.Avatar', { contentType: 'image/png', contentEncoding: 'base64', value: Buffer.from('png bytes').toString('base64') }],
    ['app.Prefs', { contentType: 'application/json', contentEncoding: 'identity', value: '{"theme":"dark"}' }],
    ['mitter.upa.FirstName', { value: 'Ada' }],
    ['mitter.upa.Email', text('mitter.upa.Email', '  Ada.Lovelace@Example.COM ')],
    ['mitter.upa.Mobile', text('mitter.upa.Mobile', '+91 (98765) 43210')],
    ['mitter.upa.Bio', text('mitter.upa.Bio', '')],
  ];
  for (const [key, body] of accepted) {
    const response = await test.signed('POST', `/v1/users/user-0001/profile/${key}`, { body: json(body) });
    t.same({ status: response.statusCode, body: response.json() }, { status: 200, body: {} }, key);
  }
  const big = 'é'.repeat(32 * 1024);
  t.equal(
    (await test.signed('POST', '/v1/users/user-0002/profile/app.Note', { body: json(text('app.Note', big)) })).statusCode,
    200,
    'exactly 64 KiB of UTF-8 is accepted',
  );
  t.equal((await profileOf(test, 'user-0002')).attributes[0].value, big, 'and comes back intact');

  const profile = await profileOf(test, 'user-0001');
  t.same(
    profile,
    {
      entityId: { identifier: 'user-0001' },
      attributes: [
        { key: 'app.Avatar', contentType: 'image/png', contentEncoding: 'base64', value: Buffer.from('png bytes').toString('base64') },
        { key: 'app.Note', contentType: 'text/plain', contentEncoding: 'UTF-8', value: 'x' },
        { key: 'app.Prefs', contentType: 'application/json', contentEncoding: 'identity', value: '{"theme":"dark"}' },
        { key: 'mitter.upa.Bio', contentType: 'text/plain', contentEncoding: 'identity', value: '' },
        { key: 'mitter.upa.Email', contentType: 'text/plain', contentEncoding: 'identity', value: 'ada.lovelace@example.com' },
        { key: 'mitter.upa.FirstName', contentType: 'text/plain', contentEncoding: 'identity', value: 'Ada' },
        { key: 'mitter.upa.Mobile', contentType: 'text/plain', contentEncoding: 'identity', value: '+919876543210' },
      ],
    },
    'key order; type and encoding in the def’s spelling; defaults text/plain + identity; email and mobile normalised',
  );

  const some = await test.signed('GET', '/v1/users/user-0001/profile/mitter.upa.Mobile,app.Missing,app.Note,mitter.upa.Mobile');
  t.same(
    some.json().map((a: { key: string }) => a.key),
    ['mitter.upa.Mobile', 'app.Note'],
    'asked keys in the order asked, each once; absent ones left out',
  );

  t.same((await test.signed('POST', '/v1/users/user-0001/profile/app.Note', { body: json(text('app.Note', 'y')) })).json(), {});
  t.equal((await test.signed('GET', '/v1/users/user-0001/profile/app.Note')).json()[0].value, 'y', 'a second write replaces the value');

  const removed = await test.signed('DELETE', '/v1/users/user-0001/profile/app.Note,mitter.upa.Bio,app.NeverSet');
  t.same({ status: removed.statusCode, body: removed.json() }, { status: 200, body: {} });
  t.same(
    (await profileOf(test, 'user-0001')).attributes.map((a: { key: string }) => a.key),
    ['app.Avatar', 'app.Prefs', 'mitter.upa.Email', 'mitter.upa.FirstName', 'mitter.upa.Mobile'],
  );
});

t.test('patches: Set replaces, Diff upserts, one bad attribute changes nothing', async (t) => {
  const test = await setup(t);
  await defineAttribute(test, { key: 'app.Note', allowedContentTypes: ['text/plain'], allowedContentEncodings: ['identity'], canBeEmpty: false });
  const patch = (attributes: unknown[], patchType?: string) =>
    test.signed('POST', '/v1/users/user-0001/profile', { body: json({ attributes, ...(patchType ? { patchType } : {}) }) });
  const keysAndValues = async () => (await profileOf(test, 'user-0001')).attributes.map((a: { key: string; value: string }) => `${a.key}=${a.value}`);

  t.equal((await patch([text('mitter.upa.FirstName', 'Ada'), text('mitter.upa.LastName', 'Lovelace'), text('app.Note', 'n1')], 'Set')).statusCode, 200);
  t.same(await keysAndValues(), ['app.Note=n1', 'mitter.upa.FirstName=Ada', 'mitter.upa.LastName=Lovelace']);

  t.equal((await patch([text('app.Note', 'n2'), text('mitter.upa.Bio', 'b')], 'Diff')).statusCode, 200);
  t.same(
    await keysAndValues(),
    ['app.Note=n2', 'mitter.upa.Bio=b', 'mitter.upa.FirstName=Ada', 'mitter.upa.LastName=Lovelace'],
    'Diff replaces and adds by key',
  );
  t.equal((await patch([text('mitter.upa.Gender', 'f')])).statusCode, 200, 'patchType defaults to Diff');
  t.same((await keysAndValues()).length, 5);

  const before = await keysAndValues();
  const refused = await patch([text('mitter.upa.FirstName', 'Grace'), text('app.Note', ''), text('mitter.upa.City', 'London')], 'Set');
  t.match(
    { status: refused.statusCode, body: refused.json() },
    { status: 400, body: { errorCode: 'invalid_domain_attribute', diagnostics: { key: 'app.Note', rule: 'empty', field: 'attributes[1]' } } },
  );
  t.same(await keysAndValues(), before, 'a Set patch with one bad attribute leaves the profile unchanged');

  t.equal((await patch([text('mitter.upa.address.City', 'London')], 'Set')).statusCode, 200);
  t.same(await keysAndValues(), ['mitter.upa.address.City=London'], 'Set makes the profile exactly the patch');
  t.equal((await patch([], 'Set')).statusCode, 200);
  t.same(await keysAndValues(), [], 'an empty Set clears the profile');

  // Reads answer from a per-instance cache of whole profiles: every write must show at the next read.
  const oneKey = async () => (await test.signed('GET', '/v1/users/user-0001/profile/mitter.upa.Bio')).json();
  t.equal((await patch([text('mitter.upa.Bio', 'again')])).statusCode, 200);
  t.same(await keysAndValues(), ['mitter.upa.Bio=again']);
  t.same(await oneKey(), [text('mitter.upa.Bio', 'again')], 'one key, read from the whole profile');
  t.equal((await test.signed('DELETE', '/v1/users/user-0001/profile/mitter.upa.Bio')).statusCode, 200);
  t.same(await keysAndValues(), [], 'a removed key is gone from the next read');
  t.same(await oneKey(), [], 'and from the next read of that key');
});

t.test('a profile holds at most 100 attributes; a patch past that changes nothing', async (t) => {
  const test = await setup(t);
  const { db } = test.app.locus;
  await db.query
    .insertInto('AttributeDef')
    .values(
      Array.from({ length: 120 }, (_, i) => ({
        applicationId: test.credentials.applicationId,
        entityType: 'users',
        key: `app.k${String(i).padStart(3, '0')}`,
        allowedContentTypes: '["text/plain"]',
        allowedContentEncodings: '["identity"]',
        canBeEmpty: db.dialect.bool(true),
        createdAt: db.dialect.time(new Date(test.clock.now())),
      })),
    )
    .execute();
  const attributes = (from: number, count: number) => Array.from({ length: count }, (_, i) => text(`app.k${String(from + i).padStart(3, '0')}`, 'v'));
  t.equal(
    (await test.signed('POST', '/v1/users/user-0001/profile', { body: json({ attributes: attributes(0, 100), patchType: 'Set' }) })).statusCode,
    200,
    '100 fit',
  );
  const over = await test.signed('POST', '/v1/users/user-0001/profile/app.k100', { body: json(text('app.k100', 'v')) });
  t.match(
    { status: over.statusCode, body: over.json() },
    { status: 409, body: { errorCode: 'limit_exceeded', diagnostics: { limit: MAX_PROFILE_ATTRIBUTES } } },
  );
  t.equal(
    (await test.signed('POST', '/v1/users/user-0001/profile/app.k000', { body: json(text('app.k000', 'new')) })).statusCode,
    200,
    'replacing a held key still works',
  );
  t.equal((await profileOf(test, 'user-0001')).attributes.length, 100);

  // Two concurrent Diff patches of 60 new keys each: the profile lock lets exactly one through.
  for (let round = 0; round < 3; round++) {
    await test.signed('POST', '/v1/users/user-0002/profile', { body: json({ attributes: [], patchType: 'Set' }) });
    const results = await Promise.all([
      test.signed('POST', '/v1/users/user-0002/profile', { body: json({ attributes: attributes(0, 60) }) }),
      test.signed('POST', '/v1/users/user-0002/profile', { body: json({ attributes: attributes(60, 60) }) }),
    ]);
    t.same(results.map((r) => r.statusCode).sort(), [200, 409], `round ${round}: one success, one limit_exceeded`);
    t.equal((await profileOf(test, 'user-0002')).attributes.length, 60, `round ${round}: the winner’s 60, nothing of the loser`);
  }
});

t.test('user reads carry entityProfile when withProfileAttributes asks', async (t) => {
  const test = await setup(t);
  await test.signed('POST', '/v1/users', { body: json({ userId: 'user-0003', screenName: { screenName: 'C' }, userLocators: ['email:c@x.io'] }) });
  await test.signed('POST', '/v1/users/user-0001/profile', {
    body: json({ attributes: [text('mitter.upa.FirstName', 'Ada'), text('mitter.upa.Bio', 'math')] }),
  });
  await test.signed('POST', '/v1/users/user-0003/profile', { body: json({ attributes: [text('mitter.upa.FirstName', 'Cy')] }) });

  t.equal((await test.signed('GET', '/v1/users/user-0001')).json().entityProfile, null, 'not asked: null');
  t.equal((await test.signed('GET', '/v1/users/user-0001', { query: 'withProfileAttributes=' })).json().entityProfile, null, 'empty: null');
  t.same((await test.signed('GET', '/v1/users/user-0001', { query: 'withProfileAttributes=*' })).json().entityProfile, {
    entityId: { identifier: 'user-0001' },
    attributes: [text('mitter.upa.Bio', 'math'), text('mitter.upa.FirstName', 'Ada')],
  });
  t.same(
    (
      await test.signed('GET', '/v1/users/me', { query: 'withProfileAttributes=mitter.upa.Bio,app.None', headers: { 'x-mitter-sudo-user-id': 'user-0001' } })
    ).json().entityProfile,
    { entityId: { identifier: 'user-0001' }, attributes: [text('mitter.upa.Bio', 'math')] },
    'only the keys asked for, on /me too',
  );
  const listed = (await test.signed('GET', '/v1/users', { query: 'withProfileAttributes=mitter.upa.FirstName' })).json();
  t.same(
    listed.map((u: { userId: string; entityProfile: { attributes: Array<{ value: string }> } }) => [u.userId, u.entityProfile.attributes.map((a) => a.value)]),
    [
      ['user-0001', ['Ada']],
      ['user-0002', []],
      ['user-0003', ['Cy']],
    ],
    'every listed user has its own profile (empty when it has none)',
  );
  const found = (await test.signed('GET', '/v1/users', { query: 'locators=email:c@x.io&withProfileAttributes=*' })).json();
  t.same(found[0].entityProfile, { entityId: { identifier: 'user-0003' }, attributes: [text('mitter.upa.FirstName', 'Cy')] }, 'lookups too');
  const bad = await test.signed('GET', '/v1/users/user-0001', { query: 'withProfileAttributes=a b' });
  t.match(
    { status: bad.statusCode, body: bad.json() },
    { status: 400, body: { errorCode: 'invalid_entity', diagnostics: { field: 'withProfileAttributes' } } },
  );
});

t.test('user reads with withProfileAttributes answer from the profile cache and follow every write', async (t) => {
  const test = await setup(t);
  const withProfile = async (query: string) => (await test.signed('GET', '/v1/users/user-0001', { query })).json().entityProfile.attributes;
  await test.signed('POST', '/v1/users/user-0001/profile', { body: json({ attributes: [text('mitter.upa.Bio', 'one')] }) });
  t.same(await withProfile('withProfileAttributes=*'), [text('mitter.upa.Bio', 'one')], 'read (and cached) through the user read');
  t.same((await profileOf(test, 'user-0001')).attributes, [text('mitter.upa.Bio', 'one')], 'the profile route reads the same');

  await test.signed('POST', '/v1/users/user-0001/profile', {
    body: json({ attributes: [text('mitter.upa.FirstName', 'Ada'), text('mitter.upa.Bio', 'two')] }),
  });
  t.same(await withProfile('withProfileAttributes=*'), [text('mitter.upa.Bio', 'two'), text('mitter.upa.FirstName', 'Ada')], 'a write shows at the next read');
  t.same(
    await withProfile('withProfileAttributes=mitter.upa.FirstName,app.None'),
    [text('mitter.upa.FirstName', 'Ada')],
    'asked keys, from the cached profile',
  );
  await test.signed('DELETE', '/v1/users/user-0001/profile/mitter.upa.FirstName');
  t.same(await withProfile('withProfileAttributes=mitter.upa.FirstName'), [], 'a removed key is gone');
  t.same(await withProfile('withProfileAttributes=*'), [text('mitter.upa.Bio', 'two')]);

  t.equal((await test.signed('DELETE', '/v1/users/user-0001')).statusCode, 200);
  t.equal((await test.signed('GET', '/v1/users/user-0001/profile')).statusCode, 404, 'a deleted user’s cached profile goes with it');
  const user2 = await test.signed('GET', '/v1/users/user-0002', { query: 'withProfileAttributes=*' });
  t.same(user2.json().entityProfile.attributes, [], 'a user without attributes reads as an empty profile');
  t.same((await profileOf(test, 'user-0002')).attributes, [], 'on the profile route too');
});

t.test('unknown users are a 404 on every profile route; deleting a user deletes its profile', async (t) => {
  const test = await setup(t);
  const requests: Array<[string, string, unknown?]> = [
    ['GET', '/v1/users/nobody-0001/profile'],
    ['GET', '/v1/users/nobody-0001/profile/mitter.upa.Bio'],
    ['POST', '/v1/users/nobody-0001/profile/mitter.upa.Bio', text('mitter.upa.Bio', 'x')],
    ['POST', '/v1/users/nobody-0001/profile', { attributes: [text('mitter.upa.Bio', 'x')], patchType: 'Set' }],
    ['DELETE', '/v1/users/nobody-0001/profile/mitter.upa.Bio'],
  ];
  for (const [method, path, body] of requests) {
    const response = await test.signed(method, path, body === undefined ? {} : { body: json(body) });
    t.match(
      { status: response.statusCode, body: response.json() },
      { status: 404, body: { errorCode: 'entity_not_found', diagnostics: { entityLocator: 'nobody-0001' } } },
      `${method} ${path}`,
    );
  }

  await test.signed('POST', '/v1/users/user-0001/profile', { body: json({ attributes: [text('mitter.upa.Bio', 'x'), text('mitter.upa.Gender', 'f')] }) });
  await test.signed('POST', '/v1/users/user-0002/profile', { body: json({ attributes: [text('mitter.upa.Bio', 'kept')] }) });
  const { db } = test.app.locus;
  const internalId = (await test.signed('GET', '/v1/users/user-0001')).json().internalId;
  const attributeRows = async () => (await db.query.selectFrom('ProfileAttribute').select('key').where('userInternalId', '=', internalId).execute()).length;
  t.equal(await attributeRows(), 2);
  t.equal((await profileOf(test, 'user-0001')).attributes.length, 2, 'read (and cached) before the deletion');
  t.equal((await test.signed('DELETE', '/v1/users/user-0001')).statusCode, 200);
  t.equal(await attributeRows(), 0, 'its attributes are gone');
  t.equal((await test.signed('GET', '/v1/users/user-0001/profile')).statusCode, 404);
  t.same((await profileOf(test, 'user-0002')).attributes, [text('mitter.upa.Bio', 'kept')], 'other profiles untouched');
});
