// Tokens and sessions (docs/tokens.md) over HTTP: issuing, carriers, expiry and extension on a controlled clock,
// revocation, logout and logout links, session limits, passwords and login, deletion.
import t, { type Test } from 'tap';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { readTime } from '../../src/platform/dialect.ts';
import type { PasswordHasher } from '../../src/modules/tokens/passwords.ts';
import { argon2idHasher } from '../../src/modules/tokens/passwords.ts';
import type { BuildOptions } from '../../src/app.ts';
import { capturedLogs } from '../helpers/logs.ts';

const json = (value: unknown) => JSON.stringify(value);
const DAY_MS = 86_400_000;

async function setup(t: Test, options: BuildOptions & { logLevel?: string } = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  if (options.logLevel) database.config.logLevel = options.logLevel as typeof database.config.logLevel;
  t.teardown(() => database.drop());
  const test = await buildTestApp(t, { ...options, database });
  for (const [userId, locator] of [
    ['user-0001', 'email:ada@example.com'],
    ['user-0002', 'tele:+12133734253'],
  ] as const) {
    const created = await test.signed('POST', '/v1/users', { body: json({ userId, screenName: { screenName: userId }, userLocators: [locator] }) });
    t.equal(created.statusCode, 200);
  }
  return test;
}

async function issue(test: TestApp, userId: string, body?: unknown, query?: string) {
  const response = await test.signed('POST', `/v1/users/${userId}/tokens`, {
    ...(body === undefined ? { body: '', contentType: 'application/json' } : { body: json(body) }),
    ...(query ? { query } : {}),
  });
  return response;
}

async function tokenFor(
  test: TestApp,
  userId: string,
  body?: unknown,
): Promise<{ signedToken: string; tokenId: string; logoutUrl: string; expiresAt: number; ttl: number }> {
  const response = await issue(test, userId, body);
  if (response.statusCode !== 200) throw new Error(`issue failed: ${response.body}`);
  return response.json().userToken;
}

const bearer = (token: string) => ({ 'x-issued-mitter-user-authorization': token });

async function asUser(test: TestApp, token: string, method: string, url: string, body?: unknown, headers: Record<string, string> = bearer(token)) {
  return test.app.inject({
    method: method as 'GET',
    url,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { payload: json(body) }),
  });
}

t.test('issue: the response, the token clients decode, and every carrier', async (t) => {
  const test = await setup(t);
  const response = await issue(test, 'user-0001');
  t.equal(response.statusCode, 200, 'an empty JSON body, as the SDK sends, is accepted');
  const { userToken } = response.json();
  t.match(userToken, {
    signedToken: /^[^.]+\.[^.]+\.[^.]+$/,
    tokenId: /^[A-Za-z0-9]{22}$/,
    supportedHeaders: ['X-Issued-Mitter-User-Authorization', 'Authorization'],
    supportedCookies: ['x_issued_mitter_user_authorization'],
    ttl: 30 * 86_400,
    expiresAt: test.clock.now() + 30 * DAY_MS,
    logoutUrl: /^http:\/\/127\.0\.0\.1:8080\/v1\/logout\/[A-Za-z0-9]{43}$/,
  });
  const [header, payload] = userToken.signedToken.split('.');
  t.notMatch(payload, /[-_]/, 'the payload segment has no base64url-only characters');
  t.same(
    JSON.parse(atob(payload)),
    {
      iss: 'locus',
      userTokenId: userToken.tokenId,
      applicationId: test.credentials.applicationId,
      userId: 'user-0001',
      iat: Math.floor(test.clock.now() / 1000),
    },
    'atob decodes the payload, as @mitter-io/core does',
  );
  t.same(JSON.parse(Buffer.from(header, 'base64url').toString()), { alg: 'HS512', typ: 'JWT', kid: 'k1' });

  const token = userToken.signedToken;
  const carriers: Array<[string, Record<string, string>]> = [
    ['X-Issued-Mitter-User-Authorization', { 'x-issued-mitter-user-authorization': token }],
    ['Authorization: Bearer', { authorization: `Bearer ${token}` }],
    ['cookie', { cookie: `theme=dark; x_issued_mitter_user_authorization=${token}` }],
    ['with a matching X-Mitter-Application-Id', { ...bearer(token), 'x-mitter-application-id': test.credentials.applicationId }],
  ];
  for (const [name, headers] of carriers) {
    const me = await asUser(test, token, 'GET', '/v1/users/me', undefined, headers);
    t.equal(me.statusCode, 200, name);
    t.equal(me.json().userId, 'user-0001', name);
  }
  const query = await test.app.inject({ method: 'GET', url: `/v1/users/me?mitter.x_issued_mitter_user_authorization=${token}` });
  t.equal(query.statusCode, 401, 'never from the query string');

  const otherApp = await test.app.locus.applications.create('other');
  const mismatch = await asUser(test, token, 'GET', '/v1/users/me', undefined, { ...bearer(token), 'x-mitter-application-id': otherApp.applicationId });
  t.match(
    { status: mismatch.statusCode, body: mismatch.json() },
    { status: 401, body: { errorCode: 'authorization_exception', diagnostics: { check: 'application_id' } } },
  );

  const tampered = `${header}.${Buffer.from(JSON.stringify({ iss: 'locus', userTokenId: userToken.tokenId, applicationId: test.credentials.applicationId, userId: 'user-0002' })).toString('base64url')}.${token.split('.')[2]}`;
  const forged = await asUser(test, tampered, 'GET', '/v1/users/me');
  t.match(
    { status: forged.statusCode, body: forged.json() },
    { status: 401, body: { errorCode: 'authorization_exception' } },
    'a changed payload fails the signature',
  );
  for (const garbage of ['x', 'a.b.c', `${token}x`]) {
    t.match((await asUser(test, garbage, 'GET', '/v1/users/me')).json(), { errorCode: 'authorization_exception' }, `malformed: ${garbage.slice(0, 8)}`);
  }
  const both = await test.signed('GET', '/v1/users/user-0001', { headers: bearer(token) });
  t.match({ status: both.statusCode, body: both.json() }, { status: 400, body: { errorCode: 'invalid_parameter_set' } });
});

t.test('issue: who, to whom, and with what ttl', async (t) => {
  const test = await setup(t);
  const refused = await issue(test, '.system');
  t.match(
    { status: refused.statusCode, body: refused.json() },
    { status: 403, body: { errorCode: 'token_issuance_refused' } },
    '.system cannot be issued a token',
  );
  t.match((await issue(test, 'me')).json(), { errorCode: 'missing_context' });
  t.match((await issue(test, 'nobody-0001')).json(), { errorCode: 'entity_not_found' });
  const token = (await tokenFor(test, 'user-0001')).signedToken;
  const byUser = await asUser(test, token, 'POST', '/v1/users/user-0001/tokens', {});
  t.match(
    { status: byUser.statusCode, body: byUser.json() },
    { status: 403, body: { errorCode: 'missing_privilege' } },
    'a user cannot issue tokens, even to itself',
  );

  t.equal((await tokenFor(test, 'user-0001', { ttl: 60 })).ttl, 60, 'ttl in the body');
  t.equal((await issue(test, 'user-0001', undefined, 'ttl=120')).json().userToken.ttl, 120, 'or the query');
  t.equal((await tokenFor(test, 'user-0001', { ttl: 0 })).ttl, 30 * 86_400, 'ttl 0 = the default');
  await test.app.locus.applications.updateSettings(test.credentials.applicationId, ['tokenDefaultTtl=3600', 'tokenMaxTtl=7200']);
  t.equal((await tokenFor(test, 'user-0001')).ttl, 3600, 'the application default');
  const tooLong = await issue(test, 'user-0001', { ttl: 7201 });
  t.match(
    { status: tooLong.statusCode, body: tooLong.json() },
    { status: 400, body: { errorCode: 'invalid_entity', diagnostics: { field: 'ttl', maximum: 7200 } } },
  );
  t.match((await issue(test, 'user-0001', { ttl: -1 })).json(), { errorCode: 'invalid_entity', diagnostics: { field: 'ttl' } });
  t.match((await issue(test, 'user-0001', { force: 'yes' })).json(), { errorCode: 'invalid_entity', diagnostics: { field: 'force' } });
});

t.test('expiry and extension on a controlled clock; revocation on the next request', async (t) => {
  const test = await setup(t);
  const a = await tokenFor(test, 'user-0001', { ttl: 600 });
  const b = await tokenFor(test, 'user-0001', { ttl: 600 });
  t.equal((await asUser(test, a.signedToken, 'GET', '/v1/users/me')).statusCode, 200);

  test.clock.advance(600_000 - 1);
  t.equal((await asUser(test, a.signedToken, 'GET', '/v1/users/me')).statusCode, 200, 'valid until its last millisecond');
  const extended = await asUser(test, a.signedToken, 'PATCH', `/v1/users/me/tokens/${a.tokenId}`, { ttl: 3600 });
  t.match(
    { status: extended.statusCode, body: extended.json() },
    { status: 200, body: { tokenId: a.tokenId, ttl: 3600, expiresAt: test.clock.now() + 3_600_000, current: true } },
  );
  test.clock.advance(1);
  const expired = await asUser(test, b.signedToken, 'GET', '/v1/users/me');
  t.match({ status: expired.statusCode, body: expired.json() }, { status: 401, body: { errorCode: 'claim_rejected' } }, 'b expired: claim_rejected');
  t.equal((await asUser(test, a.signedToken, 'GET', '/v1/users/me')).statusCode, 200, 'a was extended');
  const late = await test.signed('PATCH', `/v1/users/user-0001/tokens/${b.tokenId}`, { body: json({ ttl: 60 }) });
  t.match({ status: late.statusCode, body: late.json() }, { status: 403, body: { errorCode: 'ttl_extension_refused' } }, 'an expired token cannot be extended');
  const beyond = await test.signed('PATCH', `/v1/users/user-0001/tokens/${a.tokenId}`, { body: json({ ttl: 366 * 86_400 }) });
  t.match({ status: beyond.statusCode, body: beyond.json() }, { status: 403, body: { errorCode: 'ttl_extension_refused' } }, 'nor beyond the maximum');
  t.equal((await test.signed('PATCH', '/v1/users/user-0001/tokens/NoSuchToken', { body: json({ ttl: 60 }) })).statusCode, 404);

  const revoked = await test.signed('DELETE', `/v1/users/user-0001/tokens/${a.tokenId},UnknownTokenId`);
  t.same({ status: revoked.statusCode, body: revoked.json() }, { status: 200, body: {} }, 'unknown ids are ignored');
  const next = await asUser(test, a.signedToken, 'GET', '/v1/users/me');
  t.match({ status: next.statusCode, body: next.json() }, { status: 401, body: { errorCode: 'claim_rejected' } }, 'revoked on the very next request');
  t.match(
    (await test.signed('PATCH', `/v1/users/user-0001/tokens/${a.tokenId}`, { body: json({ ttl: 60 }) })).json(),
    { errorCode: 'ttl_extension_refused' },
    'nor a revoked one',
  );

  const c = await tokenFor(test, 'user-0001');
  const d = await tokenFor(test, 'user-0001');
  t.equal((await asUser(test, c.signedToken, 'DELETE', '/v1/users/me/tokens/*')).statusCode, 200, '* revokes all');
  for (const token of [c, d]) t.equal((await asUser(test, token.signedToken, 'GET', '/v1/users/me')).statusCode, 401);
});

t.test('listing: active tokens only, never the signed token, the current one marked, last use written behind', async (t) => {
  const test = await setup(t);
  const a = await tokenFor(test, 'user-0001', { ttl: 3600 });
  const b = await tokenFor(test, 'user-0001', { ttl: 60 });
  await tokenFor(test, 'user-0002');
  test.clock.advance(61_000);
  const listed = await asUser(test, a.signedToken, 'GET', '/v1/users/me/tokens', undefined, { ...bearer(a.signedToken), 'user-agent': 'tests/1.0' });
  t.equal(listed.statusCode, 200);
  const body = listed.json();
  t.same(
    body.map((x: { tokenId: string }) => x.tokenId),
    [a.tokenId],
    'b expired; user-0002’s token is not listed',
  );
  t.match(body[0], {
    ttl: 3600 - 61,
    current: true,
    issuedAt: test.clock.now() - 61_000,
    expiresAt: test.clock.now() + (3600 - 61) * 1000,
    lastUsedAt: test.clock.now(),
  });
  t.notOk(listed.body.includes(a.signedToken.split('.')[2] as string), 'the signed token is never returned');
  await test.app.locus.tokens.flush();
  const row = await test.app.locus.db.query.selectFrom('UserToken').select('lastUsedAt').where('id', '=', a.tokenId).executeTakeFirst();
  t.equal(row && readTime(row.lastUsedAt).getTime(), test.clock.now(), 'lastUsedAt reached the database');
  const bySystem = await test.signed('GET', '/v1/users/user-0001/tokens');
  t.same(
    bySystem.json().map((x: { current: boolean }) => x.current),
    [false],
  );
  t.equal(b.ttl, 60);
  const c = await tokenFor(test, 'user-0001');
  t.equal((await test.signed('DELETE', `/v1/users/user-0001/tokens/${c.tokenId}`)).statusCode, 200);
  t.same(
    (await test.signed('GET', '/v1/users/user-0001/tokens')).json().map((x: { tokenId: string }) => x.tokenId),
    [a.tokenId],
    'a revoked token is not listed',
  );
  t.match((await test.signed('GET', '/v1/users/nobody-0009/tokens')).json(), { errorCode: 'entity_not_found' }, 'an unknown user is a 404');
  t.equal((await test.signed('POST', '/v1/users', { body: json({ userId: 'user-0003', screenName: { screenName: 'Three' } }) })).statusCode, 200);
  t.same((await test.signed('GET', '/v1/users/user-0003/tokens')).json(), [], 'a user without tokens lists none');

  const other = await tokenFor(test, 'user-0002');
  for (const [method, url, body] of [
    ['GET', '/v1/users/user-0001/tokens', undefined],
    ['PATCH', `/v1/users/user-0001/tokens/${a.tokenId}`, { ttl: 60 }],
    ['DELETE', `/v1/users/user-0001/tokens/${a.tokenId}`, undefined],
  ] as const) {
    const response = await asUser(test, other.signedToken, method, url, body);
    t.match(
      { status: response.statusCode, body: response.json() },
      { status: 403, body: { errorCode: 'missing_privilege' } },
      `another user: ${method} ${url}`,
    );
  }
  t.equal((await asUser(test, a.signedToken, 'GET', '/v1/users/me')).statusCode, 200, 'a is untouched');
});

t.test('a listing answers every change at the next read (listings are cached per instance)', async (t) => {
  const test = await setup(t);
  const listed = async (userId = 'user-0001') => {
    const response = await test.signed('GET', `/v1/users/${userId}/tokens`);
    return response.statusCode === 200
      ? response.json().map((x: { tokenId: string; expiresAt: number }) => `${x.tokenId}@${x.expiresAt}`)
      : response.statusCode;
  };
  const a = await tokenFor(test, 'user-0001', { ttl: 600 });
  t.same(await listed(), [`${a.tokenId}@${a.expiresAt}`]);
  test.clock.advance(1); // listed in the order issued
  const b = await tokenFor(test, 'user-0001', { ttl: 600 });
  t.same(await listed(), [`${a.tokenId}@${a.expiresAt}`, `${b.tokenId}@${b.expiresAt}`], 'an issued token');

  test.clock.advance(1_000);
  t.equal((await test.signed('PATCH', `/v1/users/user-0001/tokens/${a.tokenId}`, { body: json({ ttl: 900 }) })).statusCode, 200);
  t.same(await listed(), [`${a.tokenId}@${test.clock.now() + 900_000}`, `${b.tokenId}@${b.expiresAt}`], 'an extension');

  t.equal((await test.app.inject({ method: 'GET', url: new URL(b.logoutUrl).pathname })).statusCode, 200);
  t.same(await listed(), [`${a.tokenId}@${test.clock.now() + 900_000}`], 'a token logged out by its link');

  // A use on another instance reaches the database within a minute (written behind): a listing is
  // never older than that.
  const usedElsewhere = test.clock.now() + 30_000;
  await test.app.locus.db.query
    .updateTable('UserToken')
    .set({ lastUsedAt: test.app.locus.db.dialect.time(new Date(usedElsewhere)) })
    .where('id', '=', a.tokenId)
    .execute();
  const lastUsed = async () => (await test.signed('GET', '/v1/users/user-0001/tokens')).json()[0].lastUsedAt;
  test.clock.advance(59_999);
  t.not(await lastUsed(), usedElsewhere, 'a listing read within the minute may not know it yet');
  test.clock.advance(1);
  t.equal(await lastUsed(), usedElsewhere, 'a minute on, it does');

  t.equal((await test.signed('DELETE', '/v1/users/user-0001')).statusCode, 200);
  t.equal(await listed(), 404, 'a deleted user has no listing');
});

t.test('at the instant a token expires it is neither listed nor accepted, on either database', async (t) => {
  const test = await setup(t);
  const token = await tokenFor(test, 'user-0001', { ttl: 60 });
  test.clock.advance(59_999);
  t.same(
    (await test.signed('GET', '/v1/users/user-0001/tokens')).json().map((x: { tokenId: string }) => x.tokenId),
    [token.tokenId],
    '1 ms before: listed',
  );
  test.clock.advance(1);
  t.same((await test.signed('GET', '/v1/users/user-0001/tokens')).json(), [], 'at expiry: not listed');
  t.match((await asUser(test, token.signedToken, 'GET', '/v1/users/me')).json(), { errorCode: 'claim_rejected' }, 'and not accepted');
});

t.test('logout: the presenting token, or all; as .system a 400', async (t) => {
  const test = await setup(t);
  const a = await tokenFor(test, 'user-0001');
  const b = await tokenFor(test, 'user-0001');
  const out = await asUser(test, a.signedToken, 'GET', '/v1/users/me/logout');
  t.same({ status: out.statusCode, body: out.json(), cache: out.headers['cache-control'] }, { status: 200, body: {}, cache: 'no-store' });
  t.equal((await asUser(test, a.signedToken, 'GET', '/v1/users/me')).statusCode, 401, 'the presenting token is revoked');
  t.equal((await asUser(test, b.signedToken, 'GET', '/v1/users/me')).statusCode, 200, 'the other one is not');
  const c = await tokenFor(test, 'user-0001');
  t.equal((await asUser(test, c.signedToken, 'GET', '/v1/users/me/logout?all=true')).statusCode, 200);
  for (const token of [b, c]) t.equal((await asUser(test, token.signedToken, 'GET', '/v1/users/me')).statusCode, 401, 'all=true revokes every token');
  t.match((await test.signed('GET', '/v1/users/me/logout')).json(), { errorCode: 'missing_context' });
});

t.test('logout links: idempotent, never cached, never logged, redirect only to allowed origins', async (t) => {
  const { logStream, lines } = capturedLogs();
  const test = await setup(t, { logger: undefined, logStream, logLevel: 'info' });
  await test.app.locus.applications.updateSettings(test.credentials.applicationId, ['allowedReturnOrigins=https://app.example.com']);
  const a = await tokenFor(test, 'user-0001');
  const path = new URL(a.logoutUrl).pathname;
  const first = await test.app.inject({ method: 'GET', url: path });
  t.equal(first.statusCode, 200);
  t.match(first.headers, { 'content-type': /^text\/html/, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
  t.match(first.body, /signed out/);
  t.equal((await asUser(test, a.signedToken, 'GET', '/v1/users/me')).statusCode, 401, 'the token is revoked');
  const again = await test.app.inject({ method: 'GET', url: path });
  t.same([again.statusCode, again.body], [200, first.body], 'idempotent');
  const unknown = await test.app.inject({ method: 'GET', url: '/v1/logout/NoSuchLogoutToken' });
  t.same([unknown.statusCode, unknown.body], [200, first.body], 'an unknown link looks the same');
  // A browser still holding the (now revoked) token in its cookie, or any other credentials, is
  // still shown the page: the link is the only credential this route looks at.
  const withCookie = await test.app.inject({ method: 'GET', url: path, headers: { cookie: `x_issued_mitter_user_authorization=${a.signedToken}` } });
  t.same([withCookie.statusCode, withCookie.body], [200, first.body], 'a stale token cookie does not turn the page into a 401');
  const withJunk = await test.app.inject({ method: 'GET', url: path, headers: { authorization: 'Basic Zm9vOmJhcg==', 'x-mitter-sudo-user-id': 'user-0001' } });
  t.same([withJunk.statusCode, withJunk.body], [200, first.body], 'nor do other credentials');

  const b = await tokenFor(test, 'user-0001');
  const bPath = new URL(b.logoutUrl).pathname;
  const evil = await test.app.inject({ method: 'GET', url: `${bPath}?return_to=${encodeURIComponent('https://evil.example.net/x')}` });
  t.equal(evil.statusCode, 200, 'never a redirect outside the allow-list');
  t.notOk(evil.headers.location);
  const sneaky = await test.app.inject({ method: 'GET', url: `${bPath}?return_to=${encodeURIComponent('https://app.example.com.evil.net/')}` });
  t.notOk(sneaky.headers.location, 'an origin is matched exactly');
  const good = await test.app.inject({ method: 'GET', url: `${bPath}?return_to=${encodeURIComponent('https://app.example.com/bye?x=1')}` });
  t.same([good.statusCode, good.headers.location, good.headers['cache-control']], [303, 'https://app.example.com/bye?x=1', 'no-store']);

  const logoutToken = bPath.split('/').at(-1) as string;
  t.ok(
    lines.some((line) => line.includes('/v1/logout/[redacted]')),
    'the route is logged',
  );
  t.notOk(
    lines.some((line) => line.includes(logoutToken)),
    'the logout token never is',
  );
  t.notOk(
    lines.some((line) => line.includes(a.signedToken)),
    'nor a signed token',
  );
});

t.test('session limit: force evicts the least recently used, force=false is a 409', async (t) => {
  const test = await setup(t);
  await test.app.locus.applications.updateSettings(test.credentials.applicationId, ['maxActiveTokensPerUser=2']);
  const a = await tokenFor(test, 'user-0001');
  test.clock.advance(1000);
  const b = await tokenFor(test, 'user-0001');
  test.clock.advance(1000);
  t.equal((await asUser(test, a.signedToken, 'GET', '/v1/users/me')).statusCode, 200, 'a is used after b was issued: b is now the least recently used');
  const refused = await issue(test, 'user-0001', { force: false });
  t.match({ status: refused.statusCode, body: refused.json() }, { status: 409, body: { errorCode: 'limit_exceeded', diagnostics: { limit: 2 } } });
  const c = await tokenFor(test, 'user-0001');
  t.equal((await asUser(test, b.signedToken, 'GET', '/v1/users/me')).json().errorCode, 'claim_rejected', 'b was evicted');
  t.equal((await asUser(test, a.signedToken, 'GET', '/v1/users/me')).statusCode, 200, 'a stays');
  t.equal((await asUser(test, c.signedToken, 'GET', '/v1/users/me')).statusCode, 200, 'c is in');
  t.equal((await test.signed('GET', '/v1/users/user-0001/tokens')).json().length, 2);

  // Concurrent issues count each other: the limit holds.
  await Promise.all(Array.from({ length: 6 }, () => issue(test, 'user-0002')));
  t.equal((await test.signed('GET', '/v1/users/user-0002/tokens')).json().length, 2, 'never more than the limit');
});

t.test('deleting a user revokes its tokens in the same transaction', async (t) => {
  const test = await setup(t);
  const a = await tokenFor(test, 'user-0001');
  t.equal((await asUser(test, a.signedToken, 'GET', '/v1/users/me')).statusCode, 200, 'cached as active');
  test.app.locus.users.onDelete(async (tx) => {
    const row = await tx.selectFrom('UserToken').select('revokedAt').where('id', '=', a.tokenId).executeTakeFirst();
    t.ok(row?.revokedAt, 'revoked inside the deletion transaction');
  });
  t.equal((await test.signed('DELETE', '/v1/users/user-0001')).statusCode, 200);
  t.match((await asUser(test, a.signedToken, 'GET', '/v1/users/user-0002')).json(), { errorCode: 'claim_rejected' });
});

t.test('signing keys rotate; old tokens keep working', async (t) => {
  const test = await setup(t);
  const old = await tokenFor(test, 'user-0001');
  t.equal(await test.app.locus.tokens.rotateSigningKey(), 'k2');
  const fresh = await tokenFor(test, 'user-0001');
  t.equal(JSON.parse(Buffer.from(fresh.signedToken.split('.')[0] as string, 'base64url').toString()).kid, 'k2');
  t.equal((await asUser(test, old.signedToken, 'GET', '/v1/users/me')).statusCode, 200, 'k1 still verifies');
  t.equal((await asUser(test, fresh.signedToken, 'GET', '/v1/users/me')).statusCode, 200, 'k2 verifies');
  const [, payload, signature] = fresh.signedToken.split('.');
  const header = Buffer.from(JSON.stringify({ alg: 'HS512', typ: 'JWT', kid: 'k9' })).toString('base64url');
  t.match(
    (await asUser(test, `${header}.${payload}.${signature}`, 'GET', '/v1/users/me')).json(),
    { errorCode: 'authorization_exception' },
    'a kid never used is refused',
  );
});

t.test('passwords and login', async (t) => {
  const calls: string[] = [];
  const hasher: PasswordHasher = {
    hash: (password) => {
      calls.push('hash');
      return argon2idHasher.hash(password);
    },
    verify: (hash, password) => {
      calls.push('verify');
      return argon2idHasher.verify(hash, password);
    },
  };
  const test = await setup(t, { passwordHasher: hasher });
  const login = (body: unknown) =>
    test.app.inject({
      method: 'POST',
      url: '/v1/login',
      headers: { 'content-type': 'application/json', 'x-mitter-application-id': test.credentials.applicationId },
      payload: json(body),
    });

  t.equal(
    (await test.signed('PUT', '/v1/users/user-0001/password', { body: json({ password: 'correct horse battery' }) })).statusCode,
    200,
    '.system sets a password',
  );
  t.equal((await login({ userId: 'user-0001', password: 'correct horse battery' })).statusCode, 200, 'password login is on by default');
  await test.app.locus.applications.updateSettings(test.credentials.applicationId, ['passwordLogin=off']);
  const disabled = await login({ userId: 'user-0001', password: 'correct horse battery' });
  t.match(
    { status: disabled.statusCode, body: disabled.json() },
    { status: 403, body: { errorCode: 'missing_privilege', diagnostics: { missingPrivileges: ['auth.login'] } } },
    'an application may turn it off',
  );
  // The login budget (rateLimitLogin, test/http/rate-limits.test.ts) is off: this is about the lockout.
  await test.app.locus.applications.updateSettings(test.credentials.applicationId, ['passwordLogin=true', 'rateLimitLogin=0']);

  const byId = await login({ userId: 'user-0001', password: 'correct horse battery' });
  t.equal(byId.statusCode, 200);
  t.equal(byId.headers['cache-control'], 'no-store');
  const token = byId.json().userToken.signedToken;
  t.equal((await asUser(test, token, 'GET', '/v1/users/me')).json().userId, 'user-0001', 'the login token works');
  t.equal((await login({ locator: 'email:ADA@example.com', password: 'correct horse battery' })).statusCode, 200, 'by locator, any spelling');

  const wrong = await login({ userId: 'user-0001', password: 'wrong password' });
  calls.length = 0;
  const unknown = await login({ userId: 'nobody-0001', password: 'wrong password' });
  t.same(calls, ['verify'], 'an unknown user costs a password verification too');
  calls.length = 0;
  const noPassword = await login({ userId: 'user-0002', password: 'wrong password' });
  t.same(calls, ['verify'], 'so does a user without a password');
  for (const response of [wrong, unknown, noPassword]) {
    t.equal(response.statusCode, 401);
    t.same(
      { ...response.json(), timestamp: 0 },
      { errorCode: 'invalid_credentials', error_code: 'invalid_credentials', message: 'Unknown user or wrong password', timestamp: 0 },
      'the same answer',
    );
  }
  t.match((await login({ userId: 'user-0001', locator: 'email:ada@example.com', password: 'x' })).json(), { errorCode: 'invalid_parameter_set' });
  const asSystem = await test.signed('POST', '/v1/login', { body: json({ userId: 'user-0001', password: 'correct horse battery' }) });
  t.equal(asSystem.statusCode, 403, '.system cannot log in');

  // Four more failures (five with the one above) lock this user's logins, whichever identifier is used.
  for (let i = 0; i < 4; i++) t.equal((await login({ userId: 'user-0001', password: `wrong ${i}` })).statusCode, 401);
  const locked = await login({ locator: 'email:ada@example.com', password: 'correct horse battery' });
  t.match({ status: locked.statusCode, body: locked.json() }, { status: 429, body: { errorCode: 'too_many_attempts' } });
  t.equal(locked.headers['retry-after'], '900');
  test.clock.advance(15 * 60_000);
  t.equal((await login({ userId: 'user-0001', password: 'correct horse battery' })).statusCode, 200, 'open again after 15 minutes');

  // Changing one's own password needs the current one; revokeOtherTokens keeps the presenting token.
  const other = await tokenFor(test, 'user-0001');
  const noProof = await asUser(test, token, 'PUT', '/v1/users/me/password', { password: 'new secret phrase' });
  t.match({ status: noProof.statusCode, body: noProof.json() }, { status: 401, body: { errorCode: 'invalid_credentials' } });
  const changed = await asUser(test, token, 'PUT', '/v1/users/me/password', {
    password: 'new secret phrase',
    currentPassword: 'correct horse battery',
    revokeOtherTokens: true,
  });
  t.equal(changed.statusCode, 200);
  t.equal((await asUser(test, token, 'GET', '/v1/users/me')).statusCode, 200, 'the presenting token stays');
  t.equal((await asUser(test, other.signedToken, 'GET', '/v1/users/me')).statusCode, 401, 'the others are revoked');
  t.equal((await login({ userId: 'user-0001', password: 'new secret phrase' })).statusCode, 200, 'the new password works');
  t.match((await test.signed('PUT', '/v1/users/user-0001/password', { body: json({ password: 'short' }) })).json(), {
    errorCode: 'invalid_entity',
    diagnostics: { field: 'password' },
  });
  const stored = await test.app.locus.db.query.selectFrom('UserCredential').select('passwordHash').executeTakeFirst();
  t.match(stored?.passwordHash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/, 'Argon2id with the OWASP parameters');
});

t.test('bad input on every token route is a 400 naming the field, and changes nothing', async (t) => {
  const test = await setup(t);
  const a = await tokenFor(test, 'user-0001');
  await test.app.locus.applications.updateSettings(test.credentials.applicationId, ['passwordLogin=true']);
  const login = (body: unknown) =>
    test.app.inject({
      method: 'POST',
      url: '/v1/login',
      headers: { 'content-type': 'application/json', 'x-mitter-application-id': test.credentials.applicationId },
      payload: json(body),
    });
  const cases: Array<[string, Promise<{ statusCode: number; json(): unknown }>, Record<string, unknown>]> = [
    ['issue: a body that is not an object', issue(test, 'user-0001', [60]), { field: 'body', rule: 'type' }],
    ['issue: a fractional ttl', issue(test, 'user-0001', { ttl: 1.5 }), { field: 'ttl', rule: 'type' }],
    ['extend: a negative ttl', test.signed('PATCH', `/v1/users/user-0001/tokens/${a.tokenId}`, { body: json({ ttl: -1 }) }), { field: 'ttl' }],
    ['extend: a string ttl', test.signed('PATCH', `/v1/users/user-0001/tokens/${a.tokenId}`, { body: json({ ttl: '60' }) }), { field: 'ttl', rule: 'type' }],
    ['extend: a bad token id', test.signed('PATCH', '/v1/users/user-0001/tokens/not-a-token', { body: json({ ttl: 60 }) }), { field: 'tokenId' }],
    ['revoke: a bad token id', test.signed('DELETE', `/v1/users/user-0001/tokens/${a.tokenId},bad-id`), { field: 'tokenIds[1]', rule: 'pattern' }],
    [
      'revoke: 101 ids',
      test.signed('DELETE', `/v1/users/user-0001/tokens/${Array.from({ length: 101 }, (_, i) => `T${i}`).join(',')}`),
      { field: 'tokenIds', rule: 'maxItems' },
    ],
    ['password: too short', test.signed('PUT', '/v1/users/user-0001/password', { body: json({ password: 'short' }) }), { field: 'password', rule: 'length' }],
    ['password: not a string', test.signed('PUT', '/v1/users/user-0001/password', { body: json({ password: 12345678 }) }), { field: 'password', rule: 'type' }],
    ['login: a malformed locator', login({ locator: 'email:not-an-address', password: 'whatever you like' }), { field: 'locator' }],
    ['login: no password', login({ userId: 'user-0001' }), { field: 'password' }],
  ];
  for (const [name, pending, diagnostics] of cases) {
    const response = await pending;
    t.match({ status: response.statusCode, body: response.json() }, { status: 400, body: { errorCode: 'invalid_entity', diagnostics } }, name);
  }
  t.same(
    (await test.signed('GET', '/v1/users/user-0001/tokens')).json().map((x: { tokenId: string }) => x.tokenId),
    [a.tokenId],
    'nothing issued or revoked',
  );
  t.equal((await test.app.locus.db.query.selectFrom('UserCredential').select('userInternalId').execute()).length, 0, 'no password set');
});
