// docs/api.md: every route names a policy action, unknown actions fail closed, and the decisions
// per principal kind are the table's.
import t from 'tap';
import { authorize } from '../src/policy/authorize.ts';
import { RULES, isAction } from '../src/policy/rules.ts';
import type { Principal } from '../src/auth/principal.ts';
import { buildTestApp } from './helpers/app.ts';
import { argon2idHasher } from '../src/modules/tokens/passwords.ts';

const system: Principal = { kind: 'system', applicationId: 'AAAAA-BBBBB-CCCCC-DDDDD', accessKey: 'k' };
const sudoUser: Principal = { kind: 'user', applicationId: 'AAAAA-BBBBB-CCCCC-DDDDD', userId: 'user-0001', via: 'sudo', accessKey: 'k' };
const anonymous: Principal = { kind: 'anonymous', applicationId: null };

t.test('every registered route declares a known policy action', async (t) => {
  const { app } = await buildTestApp(t);
  await app.ready();
  const routes = app.locus.routes;
  t.ok(routes.length >= 6, `walked ${routes.length} routes`);
  for (const route of routes) {
    t.ok(isAction(route.action), `${route.method} ${route.url} → ${String(route.action)}`);
  }
  t.ok(
    routes.some((r) => r.url === '/docs' && r.action === 'docs.read'),
    'the docs UI routes are covered too',
  );
});

t.test('a route without an action, or with an unknown one, is closed to everyone', async (t) => {
  const { app, signed } = await buildTestApp(t);
  app.get('/no-action', async () => ({ open: true }));
  app.get('/unknown-action', { config: { action: 'nothing.defined' } }, async () => ({ open: true }));
  for (const url of ['/no-action', '/unknown-action']) {
    t.equal((await app.inject({ method: 'GET', url })).statusCode, 401, `${url} anonymous`);
    const asSystem = await signed('GET', url);
    t.equal(asSystem.statusCode, 403, `${url} .system`);
    t.equal(asSystem.json().errorCode, 'missing_privilege');
  }
  t.same(authorize(system, undefined).allowed, false);
  t.same(authorize(system, 'toString').allowed, false, 'prototype names are not actions');
});

t.test('the decision table', async (t) => {
  // [action, .system, user acting on itself, user acting on another user, .anonymous]
  const expected: Array<[keyof typeof RULES, boolean, boolean, boolean, boolean]> = [
    ['health.read', true, true, true, true],
    ['metrics.read', true, true, true, true],
    ['docs.read', true, true, true, true],
    ['cors.preflight', true, true, true, true],
    ['applications.whoami', true, true, true, false],
    ['users.create', true, false, false, false],
    ['users.list', true, false, false, false],
    ['users.lookup', true, true, true, false],
    ['users.read', true, true, true, false],
    ['users.delete', true, false, false, false],
    ['users.screenname.write', true, true, false, false],
    ['users.locators.write', true, true, false, false],
    ['users.locators.attest', true, false, false, false],
    ['profiles.defs.write', true, false, false, false],
    ['profiles.defs.read', true, true, true, false],
    ['profiles.read', true, true, true, false],
    ['profiles.write', true, true, false, false],
    ['tokens.issue', true, false, false, false],
    ['tokens.read', true, true, false, false],
    ['tokens.write', true, true, false, false],
    ['tokens.logout', true, true, true, false],
    // The route ignores credentials and runs as .anonymous, so only that column can occur.
    ['tokens.logout_link', false, false, false, true],
    ['users.password.write', true, true, false, false],
    ['auth.login', false, false, false, true],
    ['presence.write', true, true, false, false],
    ['presence.read', true, true, true, false],
    ['events.read', true, false, false, false],
    ['events.user', true, true, true, false],
    ['users.delete_self', false, true, false, false],
    ['users.deletions.read', true, false, false, false],
    ['metadata.write', true, true, false, false],
    ['metadata.read', true, true, true, false],
    ['social.blocks.write', true, true, false, false],
    ['social.blocks.read', true, true, false, false],
    ['social.contacts.write', true, true, false, false],
    ['social.contacts.read', true, true, false, false],
    ['social.privacy.read', true, true, false, false],
    ['social.privacy.write', true, true, false, false],
    ['reports.create', false, true, true, false],
    ['reports.read', true, false, false, false],
    ['feedback.create', false, true, true, false],
    ['feedback.read', true, false, false, false],
    ['users.suspension.write', true, false, false, false],
    ['devices.link.create', false, false, false, true],
    ['devices.link.approve', false, true, true, false],
    // The route ignores credentials and runs as .anonymous, so only that column can occur.
    ['devices.link.collect', false, false, false, true],
    // The console's actions: an application's principals never hold them (the operator: below).
    ['console.login', false, false, false, true],
    ['console.assets', false, false, false, true],
    ['console.read', false, false, false, false],
    ['console.applications.write', false, false, false, false],
    ['console.users.write', false, false, false, false],
    ['console.logout', false, false, false, false],
  ];
  t.equal(expected.length, Object.keys(RULES).length, 'every rule is in this table');
  // The operator (a console session) holds the console's actions and nothing else.
  const operator = { kind: 'operator', applicationId: null, sessionId: 'session-0001' } as const;
  const operatorActions = new Set(['console.login', 'console.assets', 'console.read', 'console.applications.write', 'console.users.write', 'console.logout']);
  for (const action of Object.keys(RULES)) t.equal(authorize(operator, action).allowed, operatorActions.has(action), `${action} operator`);
  for (const [action, sys, self, other, anon] of expected) {
    t.equal(authorize(system, action, 'user-0002').allowed, sys, `${action} .system`);
    t.equal(authorize(sudoUser, action, 'user-0001').allowed, self, `${action} user on itself`);
    t.equal(authorize(sudoUser, action, 'me').allowed, self, `${action} user on "me"`);
    t.equal(authorize(sudoUser, action, 'user-0002').allowed, other, `${action} user on another`);
    t.equal(authorize(anonymous, action, 'user-0002').allowed, anon, `${action} .anonymous`);
  }
  t.match(authorize(anonymous, 'applications.whoami'), { allowed: false, error: { code: 'authorization_exception' } });
  t.match(
    authorize(sudoUser, 'users.screenname.write'),
    { allowed: false, error: { code: 'missing_privilege' } },
    'a self grant without a target fails closed',
  );
  t.match(authorize(sudoUser, 'users.read', 'me'), { allowed: true, targetUserId: 'user-0001' }, '"me" resolves to the acting user');
  t.throws(() => authorize(system, 'users.read', 'me'), { code: 'missing_context' }, '"me" as plain .system');
});

t.test('the echo route over HTTP, per principal', async (t) => {
  const { app, signed, credentials } = await buildTestApp(t);
  await app.locus.users.create(credentials.applicationId, { userId: 'user-0001', screenName: 'U', locators: [] });
  t.equal((await signed('GET', '/v1/test/application/by/accesskey')).statusCode, 200, '.system');
  t.equal((await signed('GET', '/v1/test/application/by/accesskey', { headers: { 'x-mitter-sudo-user-id': 'user-0001' } })).statusCode, 200, 'sudo user');
  t.equal((await app.inject({ method: 'GET', url: '/v1/test/application/by/accesskey' })).statusCode, 401, '.anonymous');
  t.equal(
    (await app.inject({ method: 'GET', url: '/v1/test/application/by/accesskey', headers: { 'x-mitter-application-id': credentials.applicationId } }))
      .statusCode,
    401,
    '.anonymous naming its application',
  );
});

t.test('every users, profiles, tokens, presence and events route, per principal (docs/api.md matrix)', async (t) => {
  const test = await buildTestApp(t);
  const { app, signed } = test;
  const users = app.locus.users;
  const actor = 'user-self01';
  const other = 'user-othr01';
  /** A user that `other` blocks: it acts on `other` with its own token (the matrix's "blocked user" column). */
  const blocked = 'user-blkd01';
  const sudo = { 'x-mitter-sudo-user-id': actor };
  let serial = 0;
  await app.locus.applications.updateSettings(test.credentials.applicationId, ['passwordLogin=true']);
  const loginPassword = 'login password 1';
  const loginHash = await argon2idHasher.hash(loginPassword);
  const noClient = { userAgent: null, address: null };

  // A fresh pair of users per request: each row starts from the same state, whatever earlier rows did.
  async function freshUsers() {
    serial += 1;
    // A fresh rate-limit window per request (the login budget's is a minute): the matrix is about the policy.
    test.clock.advance(61_000);
    for (const userId of [actor, other, blocked]) {
      if (await users.exists(test.credentials.applicationId, userId)) {
        await app.locus.db.query.deleteFrom('User').where('userId', '=', userId).execute();
      }
      await app.locus.db.query.deleteFrom('DeletedUser').where('userId', '=', userId).execute();
      await app.locus.db.query
        .deleteFrom('UserBlock')
        .where((eb) => eb.or([eb('blockerId', '=', userId), eb('blockedId', '=', userId)]))
        .execute();
      await users.create(test.credentials.applicationId, { userId, screenName: userId, locators: [] });
      await users.addLocator(test.credentials.applicationId, userId, {
        locator: { type: 'email', value: `${userId}-${serial}@x.io`, locator: `email:${userId}-${serial}@x.io` },
        verificationStatus: 'StatusNotProvided',
      });
    }
    const [self, them] = await Promise.all([users.get(test.credentials.applicationId, actor), users.get(test.credentials.applicationId, other)]);
    const applicationId = test.credentials.applicationId;
    await app.locus.db.query
      .insertInto('UserCredential')
      .values({ userInternalId: self.id, passwordHash: loginHash, updatedAt: app.locus.db.dialect.time(new Date(test.clock.now())) })
      .execute();
    const [selfToken, otherToken, blockedToken] = await Promise.all([
      app.locus.tokens.issue(applicationId, actor, { ttl: null, force: true }, noClient),
      app.locus.tokens.issue(applicationId, other, { ttl: null, force: true }, noClient),
      app.locus.tokens.issue(applicationId, blocked, { ttl: null, force: true }, noClient),
    ]);
    await app.locus.social.block(applicationId, other, blocked);
    return {
      self: actor,
      other,
      selfLocatorId: self.locators[0]?.id ?? '',
      otherLocatorId: them.locators[0]?.id ?? '',
      selfTokenId: selfToken.tokenId,
      otherTokenId: otherToken.tokenId,
      actorToken: selfToken.signedToken,
      blockedToken: blockedToken.signedToken,
    };
  }

  type Subject = 'system' | 'self' | 'other' | 'anonymous';
  /** The acting user through a sudo header (`self`, `other`) or through its own token (`token…`). */
  type Who = Subject | 'tokenSelf' | 'tokenOther' | 'tokenBlocked';
  interface Row {
    method: string;
    url: string;
    request: (ids: Awaited<ReturnType<typeof freshUsers>>, who: Subject) => { path: string; query?: string; body?: unknown };
    expect: Record<Subject, number> & Partial<Record<Who, number>>;
    /** Error codes other than the usual ones for the status. */
    codes?: Partial<Record<Who, string>>;
  }
  // `self`: the user acts on itself; `other`: on another user. Routes without a target user
  // behave the same for both. Token principals expect what sudo ones do unless a row says otherwise.
  const rows: Row[] = [
    {
      method: 'POST',
      url: '/v1/users',
      request: () => ({ path: '/v1/users', body: { screenName: { screenName: 'N' } } }),
      expect: { system: 200, self: 403, other: 403, anonymous: 401 },
    },
    { method: 'GET', url: '/v1/users', request: () => ({ path: '/v1/users' }), expect: { system: 200, self: 403, other: 403, anonymous: 401 } },
    {
      method: 'GET',
      url: '/v1/users',
      request: (ids, who) => ({ path: '/v1/users', query: `locators=email:${who === 'self' ? ids.self : ids.other}-${serial}@x.io` }),
      expect: { system: 200, self: 200, other: 200, anonymous: 401 },
    },
    {
      method: 'GET',
      url: '/v1/users/:userId',
      request: (ids, who) => ({ path: `/v1/users/${who === 'self' ? ids.self : ids.other}` }),
      expect: { system: 200, self: 200, other: 200, anonymous: 401 },
    },
    { method: 'GET', url: '/v1/users/:userId', request: () => ({ path: '/v1/users/me' }), expect: { system: 400, self: 200, other: 200, anonymous: 401 } },
    {
      method: 'DELETE',
      url: '/v1/users/:userId',
      request: (ids, who) => ({ path: `/v1/users/${who === 'self' ? ids.self : ids.other}`, body: { reason: 'leaving' } }),
      expect: { system: 200, self: 200, other: 403, anonymous: 401 },
    },
    {
      method: 'DELETE',
      url: '/v1/users/:userId',
      request: () => ({ path: '/v1/users/me', body: { reason: 'leaving' } }),
      expect: { system: 400, self: 200, other: 200, anonymous: 401 },
    },
    { method: 'GET', url: '/v1/deletions', request: () => ({ path: '/v1/deletions' }), expect: { system: 200, self: 403, other: 403, anonymous: 401 } },
    {
      method: 'POST',
      url: '/v1/users/:userId/metadata',
      request: (ids, who) => ({ path: `/v1/users/${who === 'self' ? ids.self : ids.other}/metadata`, body: { key: 'plan', value: 'gold' } }),
      expect: { system: 200, self: 200, other: 403, anonymous: 401 },
    },
    {
      method: 'GET',
      url: '/v1/users/:userId/metadata',
      request: (ids, who) => ({ path: `/v1/users/${who === 'self' ? ids.self : ids.other}/metadata` }),
      expect: { system: 200, self: 200, other: 200, anonymous: 401 },
    },
    // No key is set: a 404 says the policy allowed the read.
    {
      method: 'GET',
      url: '/v1/users/:userId/metadata/:key',
      request: (ids, who) => ({ path: `/v1/users/${who === 'self' ? ids.self : ids.other}/metadata/plan` }),
      expect: { system: 404, self: 404, other: 404, anonymous: 401 },
    },
    {
      method: 'DELETE',
      url: '/v1/users/:userId/metadata/:key',
      request: (ids, who) => ({ path: `/v1/users/${who === 'self' ? ids.self : ids.other}/metadata/plan` }),
      expect: { system: 200, self: 200, other: 403, anonymous: 401 },
    },
    ...(['POST', 'DELETE'] as const).map((method) => ({
      method,
      url: '/v1/users/:userId/blocked-users/:blockedUserId',
      request: (ids: { self: string; other: string }, who: Subject) => ({
        path: who === 'self' ? `/v1/users/${ids.self}/blocked-users/${ids.other}` : `/v1/users/${ids.other}/blocked-users/${ids.self}`,
      }),
      expect: { system: 200, self: 200, other: 403, anonymous: 401 },
    })),
    ...(['blocked-users', 'blocked-by', 'contacts', 'privacy'] as const).map((list) => ({
      method: 'GET',
      url: `/v1/users/:userId/${list}`,
      request: (ids: { self: string; other: string }, who: Subject) => ({ path: `/v1/users/${who === 'self' ? ids.self : ids.other}/${list}` }),
      expect: { system: 200, self: 200, other: 403, anonymous: 401 },
    })),
    ...(['PUT', 'DELETE'] as const).map((method) => ({
      method,
      url: '/v1/users/:userId/contacts/:userIds',
      request: (ids: { self: string; other: string }, who: Subject) => ({
        path: who === 'self' ? `/v1/users/${ids.self}/contacts/${ids.other}` : `/v1/users/${ids.other}/contacts/${ids.self}`,
      }),
      expect: { system: 200, self: 200, other: 403, anonymous: 401 },
    })),
    {
      method: 'PUT',
      url: '/v1/users/:userId/privacy',
      request: (ids, who) => ({ path: `/v1/users/${who === 'self' ? ids.self : ids.other}/privacy`, body: { presence: 'contacts' } }),
      expect: { system: 200, self: 200, other: 403, anonymous: 401 },
    },
    {
      method: 'POST',
      url: '/v1/reports',
      request: (ids) => ({ path: '/v1/reports', body: { userId: ids.other, reason: 'spam' } }),
      // A user reporting itself is a 400 (the policy allowed it).
      expect: { system: 403, self: 200, other: 200, anonymous: 401 },
    },
    { method: 'GET', url: '/v1/reports', request: () => ({ path: '/v1/reports' }), expect: { system: 200, self: 403, other: 403, anonymous: 401 } },
    {
      method: 'POST',
      url: '/v1/feedback',
      request: () => ({ path: '/v1/feedback', body: { title: 'Nice', description: '' } }),
      expect: { system: 403, self: 200, other: 200, anonymous: 401 },
    },
    { method: 'GET', url: '/v1/feedback', request: () => ({ path: '/v1/feedback' }), expect: { system: 200, self: 403, other: 403, anonymous: 401 } },
    {
      method: 'POST',
      url: '/v1/users/:userId/suspension',
      request: (ids, who) => ({ path: `/v1/users/${who === 'self' ? ids.self : ids.other}/suspension`, body: { reason: 'abuse' } }),
      expect: { system: 200, self: 403, other: 403, anonymous: 401 },
    },
    {
      method: 'DELETE',
      url: '/v1/users/:userId/suspension',
      request: (ids, who) => ({ path: `/v1/users/${who === 'self' ? ids.self : ids.other}/suspension` }),
      expect: { system: 200, self: 403, other: 403, anonymous: 401 },
    },
    {
      method: 'PUT',
      url: '/v1/users/:userId/screenname',
      request: (ids, who) => ({ path: `/v1/users/${who === 'self' ? ids.self : ids.other}/screenname`, body: { screenName: 'Renamed' } }),
      expect: { system: 200, self: 200, other: 403, anonymous: 401 },
    },
    {
      method: 'PUT',
      url: '/v1/users/:userId/screenname',
      request: () => ({ path: '/v1/users/me/screenname', body: { screenName: 'Renamed' } }),
      expect: { system: 400, self: 200, other: 200, anonymous: 401 },
    },
    {
      method: 'GET',
      url: '/v1/users/:userIds/screenname',
      request: (ids, who) => ({ path: `/v1/users/${who === 'self' ? ids.self : ids.other},me/screenname` }),
      expect: { system: 400, self: 200, other: 200, anonymous: 401 },
    },
    {
      method: 'POST',
      url: '/v1/users/:userId/locators',
      request: (ids, who) => ({ path: `/v1/users/${who === 'self' ? ids.self : ids.other}/locators`, body: `tele:+1 213 373 ${String(4200 + serial)}` }),
      expect: { system: 200, self: 200, other: 403, anonymous: 401 },
    },
    {
      method: 'DELETE',
      url: '/v1/users/:userId/locators/:userLocatorId',
      request: (ids, who) =>
        who === 'self' ? { path: `/v1/users/${ids.self}/locators/${ids.selfLocatorId}` } : { path: `/v1/users/${ids.other}/locators/${ids.otherLocatorId}` },
      expect: { system: 200, self: 200, other: 403, anonymous: 401 },
    },
    {
      method: 'POST',
      url: '/v1/attribute-def/users',
      request: () => ({
        path: '/v1/attribute-def/users',
        body: { key: `app.k${serial}`, allowedContentTypes: ['text/plain'], allowedContentEncodings: ['identity'] },
      }),
      expect: { system: 200, self: 403, other: 403, anonymous: 401 },
    },
    {
      method: 'GET',
      url: '/v1/attribute-def/users',
      request: () => ({ path: '/v1/attribute-def/users' }),
      expect: { system: 200, self: 200, other: 200, anonymous: 401 },
    },
    {
      method: 'GET',
      url: '/v1/attribute-def/users/:key',
      request: () => ({ path: '/v1/attribute-def/users/mitter.upa.Bio' }),
      expect: { system: 200, self: 200, other: 200, anonymous: 401 },
    },
    {
      method: 'GET',
      url: '/v1/users/:userId/profile',
      request: (ids, who) => ({ path: `/v1/users/${who === 'self' ? ids.self : ids.other}/profile` }),
      expect: { system: 200, self: 200, other: 200, anonymous: 401 },
    },
    {
      method: 'GET',
      url: '/v1/users/:userId/profile',
      request: () => ({ path: '/v1/users/me/profile' }),
      expect: { system: 400, self: 200, other: 200, anonymous: 401 },
    },
    {
      method: 'GET',
      url: '/v1/users/:userId/profile/:keys',
      request: (ids, who) => ({ path: `/v1/users/${who === 'self' ? ids.self : ids.other}/profile/mitter.upa.Bio,mitter.upa.Gender` }),
      expect: { system: 200, self: 200, other: 200, anonymous: 401 },
    },
    {
      method: 'POST',
      url: '/v1/users/:userId/profile/:key',
      request: (ids, who) => ({
        path: `/v1/users/${who === 'self' ? ids.self : ids.other}/profile/mitter.upa.Bio`,
        body: { key: 'mitter.upa.Bio', value: 'b' },
      }),
      expect: { system: 200, self: 200, other: 403, anonymous: 401 },
    },
    {
      method: 'POST',
      url: '/v1/users/:userId/profile/:key',
      request: () => ({ path: '/v1/users/me/profile/mitter.upa.Bio', body: { value: 'b' } }),
      expect: { system: 400, self: 200, other: 200, anonymous: 401 },
    },
    {
      method: 'POST',
      url: '/v1/users/:userId/profile',
      request: (ids, who) => ({
        path: `/v1/users/${who === 'self' ? ids.self : ids.other}/profile`,
        body: { attributes: [{ key: 'mitter.upa.Bio', value: 'b' }], patchType: 'Set' },
      }),
      expect: { system: 200, self: 200, other: 403, anonymous: 401 },
    },
    {
      method: 'DELETE',
      url: '/v1/users/:userId/profile/:keys',
      request: (ids, who) => ({ path: `/v1/users/${who === 'self' ? ids.self : ids.other}/profile/mitter.upa.Bio` }),
      expect: { system: 200, self: 200, other: 403, anonymous: 401 },
    },
    {
      method: 'POST',
      url: '/v1/users/:userId/tokens',
      request: (ids, who) => ({ path: `/v1/users/${who === 'self' ? ids.self : ids.other}/tokens`, body: {} }),
      expect: { system: 200, self: 403, other: 403, anonymous: 401 },
    },
    {
      method: 'POST',
      url: '/v1/users/:userId/tokens',
      request: () => ({ path: '/v1/users/.system/tokens', body: {} }),
      expect: { system: 403, self: 403, other: 403, anonymous: 401 },
      codes: { system: 'token_issuance_refused' },
    },
    {
      method: 'GET',
      url: '/v1/users/:userId/tokens',
      request: (ids, who) => ({ path: `/v1/users/${who === 'self' ? ids.self : ids.other}/tokens` }),
      expect: { system: 200, self: 200, other: 403, anonymous: 401 },
    },
    {
      method: 'GET',
      url: '/v1/users/:userId/tokens',
      request: () => ({ path: '/v1/users/me/tokens' }),
      expect: { system: 400, self: 200, other: 200, anonymous: 401 },
    },
    {
      method: 'PATCH',
      url: '/v1/users/:userId/tokens/:tokenId',
      request: (ids, who) =>
        who === 'self'
          ? { path: `/v1/users/${ids.self}/tokens/${ids.selfTokenId}`, body: { ttl: 60 } }
          : { path: `/v1/users/${ids.other}/tokens/${ids.otherTokenId}`, body: { ttl: 60 } },
      expect: { system: 200, self: 200, other: 403, anonymous: 401 },
    },
    {
      method: 'DELETE',
      url: '/v1/users/:userId/tokens/:tokenIds',
      request: (ids, who) =>
        who === 'self' ? { path: `/v1/users/${ids.self}/tokens/${ids.selfTokenId}` } : { path: `/v1/users/${ids.other}/tokens/${ids.otherTokenId}` },
      expect: { system: 200, self: 200, other: 403, anonymous: 401 },
    },
    {
      method: 'GET',
      url: '/v1/users/me/logout',
      request: () => ({ path: '/v1/users/me/logout', query: 'all=true' }),
      expect: { system: 400, self: 200, other: 200, anonymous: 401 },
    },
    // Without all=true a sudo user presents no token to log out.
    {
      method: 'GET',
      url: '/v1/users/me/logout',
      request: () => ({ path: '/v1/users/me/logout' }),
      expect: { system: 400, self: 400, other: 400, anonymous: 401, tokenSelf: 200, tokenOther: 200 },
    },
    {
      method: 'GET',
      url: '/v1/logout/:logoutToken',
      request: () => ({ path: '/v1/logout/NoSuchLogoutLink' }),
      expect: { system: 200, self: 200, other: 200, anonymous: 200 },
    },
    {
      method: 'PUT',
      url: '/v1/users/:userId/password',
      request: (ids, who) => ({
        path: `/v1/users/${who === 'self' ? ids.self : ids.other}/password`,
        body: { password: 'a new password', currentPassword: loginPassword },
      }),
      expect: { system: 200, self: 200, other: 403, anonymous: 401 },
    },
    {
      method: 'POST',
      url: '/v1/login',
      request: (ids) => ({ path: '/v1/login', body: { userId: ids.self, password: loginPassword } }),
      expect: { system: 403, self: 403, other: 403, anonymous: 200 },
    },
    {
      method: 'POST',
      url: '/v1/users/:userId/presence',
      request: (ids, who) => ({ path: `/v1/users/${who === 'self' ? ids.self : ids.other}/presence`, body: { type: 'mitter.up.Online', timeToLive: 10 } }),
      expect: { system: 200, self: 200, other: 403, anonymous: 401 },
    },
    {
      method: 'POST',
      url: '/v1/users/:userId/presence',
      request: () => ({ path: '/v1/users/me/presence', body: { type: 'mitter.up.Online' } }),
      expect: { system: 400, self: 200, other: 200, anonymous: 401 },
    },
    {
      method: 'GET',
      url: '/v1/users/:userIds/presence',
      request: (ids) => ({ path: `/v1/users/${ids.self},${ids.other}/presence` }),
      expect: { system: 200, self: 200, other: 200, anonymous: 401 },
    },
    {
      method: 'GET',
      url: '/v1/users/:userIds/last-seen',
      request: (ids) => ({ path: `/v1/users/${ids.other},${ids.self}/last-seen` }),
      expect: { system: 200, self: 200, other: 200, anonymous: 401 },
    },
    { method: 'POST', url: '/v1/device-links', request: () => ({ path: '/v1/device-links' }), expect: { system: 403, self: 403, other: 403, anonymous: 200 } },
    // An unknown code or link: a 404 says the policy allowed it. Collecting ignores credentials (the poll token is one).
    {
      method: 'POST',
      url: '/v1/device-links/:code/approve',
      request: () => ({ path: '/v1/device-links/NoSuchCode/approve' }),
      expect: { system: 403, self: 404, other: 404, anonymous: 401 },
    },
    ...(['', '/events'] as const).map((suffix) => ({
      method: 'GET',
      url: `/v1/device-links/:linkId${suffix}`,
      request: () => ({ path: `/v1/device-links/NoSuchLink${suffix}`, query: 'pollToken=x&wait=0' }),
      expect: { system: 404, self: 404, other: 404, anonymous: 404 },
    })),
    // The streams never end by themselves, so these rows ask for one the route refuses after the
    // policy allowed it (a 400 or 404 says "allowed"; 401/403 say the policy refused).
    {
      method: 'GET',
      url: '/v1/events',
      request: () => ({ path: '/v1/events', query: 'types=no.such.type' }),
      expect: { system: 400, self: 403, other: 403, anonymous: 401 },
      codes: { system: 'invalid_entity' },
    },
    {
      method: 'GET',
      url: '/v1/users/me/events',
      request: () => ({ path: '/v1/users/me/events', query: 'presenceOf=nobody-00000' }),
      expect: { system: 400, self: 404, other: 404, anonymous: 401 },
    },
  ];

  for (const row of rows) {
    for (const who of ['system', 'self', 'other', 'anonymous', 'tokenSelf', 'tokenOther', 'tokenBlocked'] as const) {
      const ids = await freshUsers();
      const subject: Subject = who === 'tokenSelf' ? 'self' : who === 'tokenOther' || who === 'tokenBlocked' ? 'other' : who;
      // A blocked user may do what any other user may: blocks filter what it reads, not whether it may.
      const expected = row.expect[who] ?? (who === 'tokenBlocked' ? (row.expect.tokenOther ?? row.expect.other) : row.expect[subject]);
      const { path, query, body } = row.request(ids, subject);
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const url = query ? `${path}?${query}` : path;
      const jsonHeaders = payload ? { 'content-type': 'application/json' } : {};
      let response;
      if (who === 'anonymous') {
        response = await app.inject({
          method: row.method as 'GET',
          url,
          headers: { 'x-mitter-application-id': test.credentials.applicationId, ...jsonHeaders },
          ...(payload ? { payload } : {}),
        });
      } else if (who === 'tokenSelf' || who === 'tokenOther' || who === 'tokenBlocked') {
        response = await app.inject({
          method: row.method as 'GET',
          url,
          headers: { 'x-issued-mitter-user-authorization': who === 'tokenBlocked' ? ids.blockedToken : ids.actorToken, ...jsonHeaders },
          ...(payload ? { payload } : {}),
        });
      } else {
        response = await signed(row.method, path, {
          ...(query ? { query } : {}),
          ...(payload ? { body: payload } : {}),
          ...(who === 'system' ? {} : { headers: sudo }),
        });
      }
      t.equal(response.statusCode, expected, `${row.method} ${url} as ${who} → ${expected}`);
      const expectedCode = row.codes?.[who] ?? { 401: 'authorization_exception', 403: 'missing_privilege', 400: 'missing_context' }[response.statusCode];
      if (expectedCode) t.equal(response.json().errorCode, expectedCode);
    }
  }

  // Every route of these features is in the matrix.
  const covered = new Set(rows.map((row) => `${row.method} ${row.url}`));
  const featureRoutes = [
    '/v1/users',
    '/v1/attribute-def',
    '/v1/logout',
    '/v1/login',
    '/v1/events',
    '/v1/deletions',
    '/v1/reports',
    '/v1/feedback',
    '/v1/device-links',
  ];
  for (const route of app.locus.routes.filter((r) => featureRoutes.some((prefix) => r.url.startsWith(prefix)))) {
    if (route.method === 'HEAD') continue;
    t.ok(covered.has(`${route.method} ${route.url}`), `${route.method} ${route.url} is in the matrix`);
  }
});
