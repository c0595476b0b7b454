// Entity metadata (docs/social.md) over HTTP: the wire forms, the three-key limit, shouldFetchMetadata,
// the listing filter in both its forms (never ignored), who may write, and deletion.
import t, { type Test } from 'tap';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { json, populate, type World } from '../helpers/world.ts';

interface Setup extends TestApp {
  users: World;
}

async function setup(t: Test): Promise<Setup> {
  const test = await buildTestApp(t, { presenceTimers: false });
  return { ...test, users: await populate(test, ['user-0001', 'user-0002', 'user-0003']) };
}

const put = (test: TestApp, userId: string, body: unknown) => test.signed('POST', `/v1/users/${userId}/metadata`, { body: json(body) });
const listing = async (test: TestApp, filter: unknown) =>
  test.signed('GET', '/v1/users', { query: `metadata=${encodeURIComponent(typeof filter === 'string' ? filter : json(filter))}` });
const ids = (body: Array<{ userId: string }>) => body.map((user) => user.userId);

t.test('values in every accepted form read back in the mitter.io typed form', async (t) => {
  const test = await setup(t);
  t.equal((await put(test, 'user-0001', { key: 'plan', value: 'gold' })).statusCode, 200);
  t.equal((await put(test, 'user-0001', { key: 'score', value: { '@type': 'numeric', number: 4.5 } })).statusCode, 200);
  t.equal((await put(test, 'user-0001', { key: 'beta', value: true })).statusCode, 200);
  const all = await test.signed('GET', '/v1/users/user-0001/metadata');
  t.same(all.json(), {
    metadata: [
      { key: 'beta', value: { '@type': 'boolean', boolean: true } },
      { key: 'plan', value: { '@type': 'string', text: 'gold' } },
      { key: 'score', value: { '@type': 'numeric', number: 4.5 } },
    ],
  });
  t.equal((await put(test, 'user-0001', { key: 'plan', value: { '@type': 'string', text: 'platinum' } })).statusCode, 200, 'an upsert');
  t.same((await test.signed('GET', '/v1/users/user-0001/metadata/plan')).json(), { key: 'plan', value: { '@type': 'string', text: 'platinum' } });
  const missing = await test.signed('GET', '/v1/users/user-0001/metadata/nope');
  t.equal(missing.statusCode, 404);
  t.equal(missing.json().errorCode, 'entity_not_found');

  const withMetadata = (await test.signed('GET', '/v1/users/user-0001', { query: 'shouldFetchMetadata=true' })).json();
  t.equal(withMetadata.entityMetadata.metadata.length, 3, 'shouldFetchMetadata=true fills entityMetadata');
  t.equal((await test.signed('GET', '/v1/users/user-0001', { query: 'shouldFetchMetadata=false' })).json().entityMetadata, null);
  const listed = (await test.signed('GET', '/v1/users', { query: 'shouldFetchMetadata=true' })).json();
  t.same(
    listed.map((user: { entityMetadata: { metadata: unknown[] } }) => user.entityMetadata.metadata.length),
    [3, 0, 0],
  );

  t.equal((await test.signed('DELETE', '/v1/users/user-0001/metadata/plan')).statusCode, 200);
  t.equal((await test.signed('DELETE', '/v1/users/user-0001/metadata/plan')).statusCode, 200, 'removing again changes nothing');
  t.equal((await test.signed('GET', '/v1/users/user-0001/metadata')).json().metadata.length, 2);
});

t.test('at most three keys per user', async (t) => {
  const test = await setup(t);
  for (const key of ['a', 'b', 'c']) t.equal((await put(test, 'user-0001', { key, value: key })).statusCode, 200);
  const fourth = await put(test, 'user-0001', { key: 'd', value: 'd' });
  t.equal(fourth.statusCode, 409);
  t.equal(fourth.json().errorCode, 'limit_exceeded');
  t.equal((await put(test, 'user-0001', { key: 'c', value: 'changed' })).statusCode, 200, 'an existing key can still change');
  const concurrent = await Promise.all(['x', 'y', 'z'].map((key) => put(test, 'user-0002', { key, value: 1 })));
  t.same(
    concurrent.map((r) => r.statusCode),
    [200, 200, 200],
  );
  const racing = await Promise.all(['p', 'q'].map((key) => put(test, 'user-0003', { key, value: 1 })));
  t.same(
    racing.map((r) => r.statusCode),
    [200, 200],
  );
  t.equal((await put(test, 'user-0003', { key: 'r', value: 1 })).statusCode, 200);
  t.equal((await put(test, 'user-0003', { key: 's', value: 1 })).statusCode, 409);
});

t.test('bad metadata is a 400 naming the field, and nothing is stored', async (t) => {
  const test = await setup(t);
  const cases: Array<[unknown, string]> = [
    [{ key: '', value: 'x' }, 'key'],
    [{ key: 'has space', value: 'x' }, 'key'],
    [{ key: 'k'.repeat(65), value: 'x' }, 'key'],
    [{ key: 'k' }, 'value'],
    [{ key: 'k', value: 'v'.repeat(1025) }, 'value'],
    [{ key: 'k', value: null }, 'value'],
    [{ key: 'k', value: [1] }, 'value'],
    [{ key: 'k', value: { '@type': 'numeric', number: 'NaN' } }, 'value.number'],
    [{ key: 'k', value: { '@type': 'json', json: {} } }, 'value'],
    [[], 'body'],
  ];
  for (const [body, field] of cases) {
    const response = await put(test, 'user-0001', body);
    t.equal(response.statusCode, 400, json(body).slice(0, 60));
    t.equal(response.json().errorCode, 'invalid_entity');
    t.equal(response.json().diagnostics.field, field);
  }
  const broken = await test.signed('POST', '/v1/users/user-0001/metadata', { body: '{"key":' });
  t.equal(broken.statusCode, 400);
  t.equal(broken.json().errorCode, 'invalid_input_syntax');
  t.same((await test.signed('GET', '/v1/users/user-0001/metadata')).json().metadata, []);
  t.equal((await put(test, 'nobody-0001', { key: 'k', value: 'v' })).statusCode, 404);
});

t.test('who may write and read', async (t) => {
  const test = await setup(t);
  const one = test.users['user-0001']!;
  t.equal((await one.call('POST', '/v1/users/me/metadata', { key: 'mood', value: 'happy' })).statusCode, 200, 'a user writes its own');
  const other = await one.call('POST', '/v1/users/user-0002/metadata', { key: 'mood', value: 'sad' });
  t.equal(other.statusCode, 403, 'but not another’s');
  t.equal(other.json().errorCode, 'missing_privilege');
  t.equal((await one.call('DELETE', '/v1/users/user-0002/metadata/mood')).statusCode, 403);
  t.same(
    (await test.users['user-0002']!.call('GET', '/v1/users/user-0001/metadata/mood')).json().value,
    { '@type': 'string', text: 'happy' },
    'others read it',
  );
  t.equal((await test.app.inject({ method: 'GET', url: '/v1/users/user-0001/metadata' })).statusCode, 401, '.anonymous does not');
});

t.test('the listing filter: object (Equals, Contains) and array forms; malformed is a 400, never ignored', async (t) => {
  const test = await setup(t);
  await put(test, 'user-0001', { key: 'plan', value: 'gold-annual' });
  await put(test, 'user-0001', { key: 'seats', value: 5 });
  await put(test, 'user-0002', { key: 'plan', value: 'gold' });
  await put(test, 'user-0002', { key: 'seats', value: 5 });
  await put(test, 'user-0003', { key: 'plan', value: 'free' });

  t.same(ids((await listing(test, { key: 'plan', value: 'gold', operator: 'Equals' })).json()), ['user-0002']);
  t.same(ids((await listing(test, { key: 'plan', value: 'gold', operator: 'Contains' })).json()), ['user-0001', 'user-0002']);
  t.same(ids((await listing(test, { key: 'plan', value: 'GOLD', operator: 'Contains' })).json()), [], 'Contains is case-sensitive');
  t.same(ids((await listing(test, { key: 'plan', value: '%', operator: 'Contains' })).json()), [], 'no wildcards');
  t.same(ids((await listing(test, { key: 'plan', value: 'gold' })).json()), ['user-0002'], 'Equals by default');
  t.same(ids((await listing(test, { key: 'seats', value: 5.0 })).json()), ['user-0001', 'user-0002'], 'numbers compare as numbers');
  t.same(ids((await listing(test, { key: 'seats', value: '5' })).json()), [], 'a string is not a number');
  const both = await listing(test, [
    { key: 'plan', value: { '@type': 'string', text: 'gold-annual' } },
    { key: 'seats', value: 5 },
  ]);
  t.same(ids(both.json()), ['user-0001'], 'an array: every condition must hold');
  t.equal(both.headers['x-mitter-paginated-estimated-count'], '1', 'the count is of the filtered listing');
  t.same(ids((await listing(test, { key: 'plan', value: 'none' })).json()), [], 'no match: an empty list, not everyone');

  for (const bad of [
    '{',
    '"plan"',
    '[]',
    '{"key":"plan"}',
    '{"key":"plan","value":"x","operator":"Like"}',
    '[{"key":"plan","value":"x","operator":"Contains"}]',
    '42',
  ]) {
    const response = await listing(test, bad);
    t.equal(response.statusCode, 400, `malformed: ${bad}`);
    t.equal(response.json().errorCode, 'invalid_entity');
    t.match(response.json().diagnostics.field, /^metadata/);
  }
  const lookup = await test.signed('GET', '/v1/users', {
    query: `locators=email:nobody@example.com&metadata=${encodeURIComponent(json({ key: 'plan', value: 'gold' }))}`,
  });
  t.equal(lookup.statusCode, 200, 'a lookup honours the filter too');
});

t.test('metadata goes with its user', async (t) => {
  const test = await setup(t);
  await put(test, 'user-0001', { key: 'plan', value: 'gold' });
  t.equal((await test.signed('DELETE', '/v1/users/user-0001')).statusCode, 200);
  const rows = await test.app.locus.db.query.selectFrom('UserMetadata').selectAll().execute();
  t.same(rows, []);
});
