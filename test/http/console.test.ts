// docs/console.md over real HTTP (inject): signing in with a one-time link from the CLI, the
// session cookie, what a signed-out browser gets, the Origin check on the console API, the
// applications page and API (the secret shown once), bad input, sign-out, `console logout-all`,
// expiry on a controlled clock, and no login secret in the logs.
import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { signRequestHeaders } from '../../src/auth/signature.ts';
import { runCli } from '../../src/cli.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { ManualClock } from '../helpers/clock.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { capturedLogs } from '../helpers/logs.ts';
import { StreamClient } from '../helpers/sse.ts';
import type { BuildOptions } from '../../src/server/locus.ts';

const ORIGIN = 'http://localhost:80';

async function cli(test: TestApp, ...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { env: test.database.env, stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

async function setup(t: Test, options: BuildOptions = {}) {
  // The CLI runs on the real clock (and prunes what expired by it): the server's starts there too.
  const test = await buildTestApp(t, { clock: new ManualClock(Date.now()), ...options });
  /** A login link made by the CLI, as its path on this server. */
  const loginPath = async () => {
    const made = await cli(test, 'console', 'login-link', '--json');
    t.equal(made.code, 0, made.stderr);
    return new URL((JSON.parse(made.stdout) as { url: string }).url).pathname;
  };
  /** Opens a fresh link; returns the session cookie (`name=value`). */
  const signIn = async () => {
    const opened = await test.app.inject({ method: 'GET', url: await loginPath() });
    t.equal(opened.statusCode, 200);
    return String(opened.headers['set-cookie']).split(';')[0] as string;
  };
  /** A console request with the session cookie (and, for writes, the console's own Origin). */
  const asOperator = (cookie: string, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = {}) =>
    test.app.inject({
      method,
      url,
      headers: { cookie, ...(method === 'GET' ? {} : { origin: ORIGIN }), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  /** Creates these users through the API (each named after its id). */
  const createUsers = async (userIds: string[]) => {
    for (const userId of userIds) {
      t.equal((await test.signed('POST', '/v1/users', { body: JSON.stringify({ userId, screenName: { screenName: userId } }) })).statusCode, 200);
    }
  };
  return { ...test, loginPath, signIn, asOperator, createUsers };
}

t.test('signed out: pages explain how to sign in (401 HTML); the API answers 401 with the Locus error body', async (t) => {
  const test = await setup(t);
  const page = await test.app.inject({ method: 'GET', url: '/console' });
  t.equal(page.statusCode, 401);
  t.match(page.headers['content-type'], /^text\/html/);
  t.match(page.body, 'npm run locus -- console login-link');
  t.match(page.headers['content-security-policy'], "frame-ancestors 'none'");
  const api = await test.app.inject({ method: 'GET', url: '/console/api/applications' });
  t.equal(api.statusCode, 401);
  t.equal(api.json().errorCode, 'authorization_exception');
  const stale = await test.app.inject({
    method: 'GET',
    url: '/console/api/applications',
    headers: { cookie: 'locus_console=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
  });
  t.equal(stale.statusCode, 401, 'an unknown session is no session');
  const css = await test.app.inject({ method: 'GET', url: '/console/assets/console.css' });
  t.equal(css.statusCode, 200, 'the sign-in page’s stylesheet loads without a session');
  t.equal((await test.app.inject({ method: 'GET', url: '/console/assets/nope.js' })).statusCode, 404);
  // Application credentials are not console credentials.
  const signed = await test.signed('GET', '/console/api/applications');
  t.equal(signed.statusCode, 401, 'an application’s signature does not open the console');
});

t.test('a login link opens one session (HttpOnly, SameSite=Strict, 8 h) and only once', async (t) => {
  const test = await setup(t);
  const path = await test.loginPath();
  t.match(path, /^\/console\/login\/[A-Za-z0-9_-]{43}$/);
  const opened = await test.app.inject({ method: 'GET', url: path });
  t.equal(opened.statusCode, 200);
  const setCookie = String(opened.headers['set-cookie']);
  t.match(setCookie, /^locus_console=[A-Za-z0-9_-]{43}; Path=\/console; HttpOnly; SameSite=Strict; Max-Age=28800$/);
  t.equal(opened.headers.refresh, '0; url=/console', 'the browser moves on to the console from this origin');
  const again = await test.app.inject({ method: 'GET', url: path });
  t.equal(again.statusCode, 401, 'the same link a second time');
  t.match(again.body, 'already used');
  t.notOk(again.headers['set-cookie']);
  for (const bad of ['/console/login/short', `/console/login/${'x'.repeat(43)}`, `/console/login/${'%00'.repeat(10)}`]) {
    t.equal((await test.app.inject({ method: 'GET', url: bad })).statusCode, 401, `${bad} opens nothing`);
  }

  const cookie = setCookie.split(';')[0] as string;
  const page = await test.asOperator(cookie, 'GET', '/console');
  t.equal(page.statusCode, 200);
  t.match(page.body, '<h1>Applications</h1>');
  t.match(page.body, test.credentials.applicationId, 'the test application is listed');
  t.notMatch(page.body, test.credentials.accessSecret, 'no secret on the page');
  t.equal(page.headers['x-frame-options'], 'DENY');
  t.equal(page.headers['cache-control'], 'no-store');
});

t.test('applications: created through the API with the secret in that answer only; listed after', async (t) => {
  const test = await setup(t);
  const cookie = await test.signIn();
  const created = await test.asOperator(cookie, 'POST', '/console/api/applications', { name: 'Chat <prod>' });
  t.equal(created.statusCode, 200, created.body);
  const credentials = created.json<{ applicationId: string; name: string; accessKey: string; accessSecret: string }>();
  t.equal(credentials.name, 'Chat <prod>');
  t.ok(credentials.accessSecret.length > 20);
  const listed = await test.asOperator(cookie, 'GET', '/console/api/applications');
  const entry = listed
    .json<Array<{ applicationId: string; accessKeys: Array<{ accessKey: string }> }>>()
    .find((a) => a.applicationId === credentials.applicationId);
  t.same(
    entry?.accessKeys.map((k) => k.accessKey),
    [credentials.accessKey],
  );
  t.notMatch(listed.body, credentials.accessSecret, 'the list never carries a secret');
  const page = await test.asOperator(cookie, 'GET', '/console');
  t.match(page.body, 'Chat &lt;prod&gt;', 'names are escaped on the page');
  t.notMatch(page.body, '<prod>');
  // The new credentials work against the API at once.
  const path = '/v1/test/application/by/accesskey';
  const headers = signRequestHeaders({
    method: 'GET',
    path,
    accessKey: credentials.accessKey,
    accessSecret: credentials.accessSecret,
    date: new Date(test.clock.now()).toUTCString(),
    nonce: randomBytes(16).toString('hex'),
  });
  const whoami = await test.app.inject({ method: 'GET', url: path, headers });
  t.equal(whoami.json().applicationId, credentials.applicationId, 'the new credentials sign requests');
});

t.test('console API bad input: 400/415 with the Locus error body, nothing created', async (t) => {
  const test = await setup(t);
  const cookie = await test.signIn();
  const before = (await test.asOperator(cookie, 'GET', '/console/api/applications')).json().length;
  const cases: Array<[string, unknown, Record<string, string>, number, string]> = [
    ['an empty name', { name: '' }, {}, 400, 'invalid_entity'],
    ['a name of 129 characters', { name: 'x'.repeat(129) }, {}, 400, 'invalid_entity'],
    ['a control character', { name: 'bad\u0007name' }, {}, 400, 'invalid_entity'],
    ['no name', {}, {}, 400, 'invalid_entity'],
    ['an extra field', { name: 'ok', admin: true }, {}, 400, 'invalid_entity'],
    ['a name that is not text', { name: 42 }, {}, 400, 'invalid_entity'],
    ['malformed JSON', '{"name":', {}, 400, 'invalid_input_syntax'],
    ['a form body', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' }, 415, 'unsupported_media_type'],
  ];
  for (const [what, body, headers, status, code] of cases) {
    const answer = await test.asOperator(cookie, 'POST', '/console/api/applications', body, headers);
    t.equal(answer.statusCode, status, what);
    t.equal(answer.json().errorCode, code, what);
  }
  t.equal((await test.asOperator(cookie, 'GET', '/console/api/applications')).json().length, before, 'nothing was created');
});

t.test('the console API refuses other origins, and writes without an Origin', async (t) => {
  const test = await setup(t);
  const cookie = await test.signIn();
  const foreign = await test.asOperator(cookie, 'POST', '/console/api/applications', { name: 'evil' }, { origin: 'https://evil.example' });
  t.equal(foreign.statusCode, 403);
  t.equal(foreign.json().errorCode, 'missing_privilege');
  const noOrigin = await test.app.inject({
    method: 'POST',
    url: '/console/api/applications',
    headers: { cookie, 'content-type': 'application/json' },
    payload: '{"name":"x"}',
  });
  t.equal(noOrigin.statusCode, 403, 'a write without Origin');
  const foreignRead = await test.asOperator(cookie, 'GET', '/console/api/applications', undefined, { origin: 'https://evil.example' });
  t.equal(foreignRead.statusCode, 403, 'a cross-origin read');
  const publicOrigin = await test.asOperator(
    cookie,
    'POST',
    '/console/api/applications',
    { name: 'ok' },
    { origin: new URL(test.database.config.publicUrl).origin },
  );
  t.equal(publicOrigin.statusCode, 200, 'the public URL’s origin is the console’s own');
  const list = (await test.asOperator(cookie, 'GET', '/console/api/applications')).json<Array<{ name: string }>>();
  t.notOk(
    list.some((a) => a.name === 'evil' || a.name === 'x'),
    'nothing was created by the refused requests',
  );
});

t.test('sign-out ends the session; `console logout-all` ends every session and voids unused links', async (t) => {
  const test = await setup(t);
  const first = await test.signIn();
  const second = await test.signIn();
  const out = await test.asOperator(first, 'POST', '/console/api/logout');
  t.equal(out.statusCode, 204);
  t.match(String(out.headers['set-cookie']), /^locus_console=; .*Max-Age=0/);
  t.equal((await test.asOperator(first, 'GET', '/console/api/applications')).statusCode, 401, 'the signed-out session');
  t.equal((await test.asOperator(second, 'GET', '/console/api/applications')).statusCode, 200, 'another session goes on');

  const unused = await test.loginPath();
  const ended = await cli(test, 'console', 'logout-all');
  t.equal(ended.code, 0);
  t.match(ended.stdout, 'Ended 1 console session');
  t.equal((await test.asOperator(second, 'GET', '/console/api/applications')).statusCode, 401);
  t.equal((await test.app.inject({ method: 'GET', url: unused })).statusCode, 401, 'a link made before logout-all no longer opens');
  t.equal((await cli(test, 'console', 'login-link', '--ttl', '25h')).code, 2, '--ttl beyond 24 h');
  t.equal((await cli(test, 'console', 'login-link', '--ttl', 'soon')).code, 2, '--ttl that is not a duration');
});

t.test('links expire after their ttl and sessions after 8 hours (controlled clock)', async (t) => {
  const clock = new ManualClock(Date.now());
  const test = await setup(t, { clock });
  const link = await test.app.locus.console.createLoginLink(60_000);
  clock.advance(60_001);
  t.equal((await test.app.inject({ method: 'GET', url: `/console/login/${link.secret}` })).statusCode, 401, 'an expired link');
  const fresh = await test.app.locus.console.createLoginLink(60_000);
  const opened = await test.app.inject({ method: 'GET', url: `/console/login/${fresh.secret}` });
  const cookie = String(opened.headers['set-cookie']).split(';')[0] as string;
  clock.advance(8 * 60 * 60 * 1000 - 1);
  t.equal((await test.asOperator(cookie, 'GET', '/console/api/applications')).statusCode, 200, 'just before 8 h');
  clock.advance(1);
  t.equal((await test.asOperator(cookie, 'GET', '/console/api/applications')).statusCode, 401, 'at 8 h');
});

t.test('the logs never hold a login link’s secret or the session cookie', async (t) => {
  const { logStream, lines } = capturedLogs();
  const database = await createTestDatabase();
  database.config.logLevel = 'info';
  t.teardown(() => database.drop());
  const test = await setup(t, { database, logger: undefined, logStream } as BuildOptions);
  const path = await test.loginPath();
  const secret = path.split('/').pop() as string;
  const opened = await test.app.inject({ method: 'GET', url: path });
  const session = (String(opened.headers['set-cookie']).split(';')[0] as string).split('=')[1] as string;
  await test.app.inject({ method: 'GET', url: path.replace('/console/', '//console/') });
  await test.app.inject({ method: 'GET', url: path.replace('login', '%6Cogin') });
  await test.asOperator(`locus_console=${session}`, 'GET', '/console');
  t.ok(lines.length > 0, 'requests were logged');
  t.notOk(
    lines.some((line) => line.includes(secret) || line.includes(session)),
    'no line holds the link’s secret or the session',
  );
});

t.test('users: found by screen name, email, phone and id; revoking their tokens makes the API refuse them', async (t) => {
  const test = await setup(t);
  const cookie = await test.signIn();
  const appId = test.credentials.applicationId;
  const create = (userId: string, screenName: string, locators: string[]) =>
    test.signed('POST', '/v1/users', { body: JSON.stringify({ userId, screenName: { screenName }, userLocators: locators }) });
  t.equal((await create('user-alice1', 'Alice Liddell', ['email:Alice@Example.com', 'tele:+14155550101'])).statusCode, 200);
  t.equal((await create('user-bob001', 'Bob <b>', ['email:bob@example.com'])).statusCode, 200);
  const issued = (await test.signed('POST', '/v1/users/user-alice1/tokens', { body: '{}' })).json().userToken;
  const second = (await test.signed('POST', '/v1/users/user-alice1/tokens', { body: '{}' })).json().userToken;
  const me = (token: string) => test.app.inject({ method: 'GET', url: '/v1/users/me', headers: { 'x-issued-mitter-user-authorization': token } });
  t.equal((await me(issued.signedToken)).statusCode, 200);

  const find = async (q: string) =>
    (await test.asOperator(cookie, 'GET', `/console/api/applications/${appId}/users?q=${encodeURIComponent(q)}`))
      .json<{ users: Array<{ userId: string }> }>()
      .users.map((u) => u.userId);
  t.same(await find('alice'), ['user-alice1'], 'by the beginning of a screen name, any case');
  t.same(await find('alice@example.com'), ['user-alice1'], 'by email address (normalised)');
  t.same(await find('+14155550101'), ['user-alice1'], 'by phone number');
  t.same(await find('user-bob001'), ['user-bob001'], 'by user id');
  t.same(await find('nobody at all'), [], 'no match');
  t.same((await find('')).sort(), ['user-alice1', 'user-bob001'], 'everyone, without a query');
  const bad = await test.asOperator(cookie, 'GET', `/console/api/applications/${appId}/users?q=${encodeURIComponent('email:not-an-address')}`);
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().errorCode, 'invalid_entity');
  t.equal((await test.asOperator(cookie, 'GET', '/console/api/applications/AAAAA-BBBBB-CCCCC-DDDDD/users')).statusCode, 404, 'an unknown application');
  t.equal((await test.asOperator(cookie, 'GET', `/console/api/applications/${appId}/users?extra=1`)).statusCode, 400, 'an unknown query field');

  const page = await test.asOperator(cookie, 'GET', `/console/users?applicationId=${appId}&q=bob`);
  t.equal(page.statusCode, 200);
  t.match(page.body, 'Bob &lt;b&gt;');
  t.match(page.body, `/console/users/${appId}/user-bob001`);
  const problem = await test.asOperator(cookie, 'GET', `/console/users?applicationId=${appId}&q=${encodeURIComponent('tele:12')}`);
  t.equal(problem.statusCode, 200, 'a search that does not parse is explained on the page');
  t.match(problem.body, 'role="alert"');
  const detail = await test.asOperator(cookie, 'GET', `/console/users/${appId}/user-alice1`);
  t.equal(detail.statusCode, 200);
  t.match(detail.body, issued.tokenId);
  t.match(detail.body, 'Active tokens (2)');
  t.notMatch(detail.body, issued.signedToken, 'the page lists tokens, never their values');
  const missing = await test.asOperator(cookie, 'GET', `/console/users/${appId}/user-nobody1`);
  t.equal(missing.statusCode, 404);
  t.match(missing.headers['content-type'], /^text\/html/);

  const tokensApi = `/console/api/applications/${appId}/users/user-alice1/tokens`;
  t.equal((await test.app.inject({ method: 'DELETE', url: tokensApi, headers: { cookie } })).statusCode, 403, 'a revocation without Origin');
  t.equal((await me(issued.signedToken)).statusCode, 200, 'so nothing was revoked');
  const one = await test.app.inject({ method: 'DELETE', url: `${tokensApi}/${issued.tokenId}`, headers: { cookie, origin: ORIGIN } });
  t.equal(one.statusCode, 204);
  t.equal((await me(issued.signedToken)).statusCode, 401, 'the API refuses the revoked token');
  t.equal((await me(second.signedToken)).statusCode, 200, 'the other token still works');
  const all = await test.app.inject({ method: 'DELETE', url: tokensApi, headers: { cookie, origin: ORIGIN } });
  t.equal(all.statusCode, 204);
  t.equal((await me(second.signedToken)).statusCode, 401, 'revoke all: the API refuses every token');
  t.equal(
    (await test.app.inject({ method: 'DELETE', url: `/console/api/applications/${appId}/users/user-nobody1/tokens`, headers: { cookie, origin: ORIGIN } }))
      .statusCode,
    404,
  );
});

t.test('presence counts and the live event stream for the console', async (t) => {
  const test = await setup(t);
  const cookie = await test.signIn();
  const appId = test.credentials.applicationId;
  await test.createUsers(['user-p00001', 'user-p00002', 'user-p00003']);
  const set = (userId: string, type: string) => test.signed('POST', `/v1/users/${userId}/presence`, { body: JSON.stringify({ type, timeToLive: 0 }) });
  t.equal((await set('user-p00001', 'mitter.up.Online')).statusCode, 200);
  t.equal((await set('user-p00002', 'mitter.up.Online')).statusCode, 200);
  t.equal((await set('user-p00003', 'mitter.up.Away')).statusCode, 200);
  const counts = await test.asOperator(cookie, 'GET', `/console/api/applications/${appId}/presence-counts`);
  t.same(counts.json(), { counts: { 'mitter.up.Online': 2, 'mitter.up.Away': 1 }, counted: 3, truncated: false });
  t.equal((await test.asOperator(cookie, 'GET', '/console/api/applications/AAAAA-BBBBB-CCCCC-DDDDD/presence-counts')).statusCode, 404);
  const page = await test.asOperator(cookie, 'GET', `/console/presence?applicationId=${appId}`);
  t.equal(page.statusCode, 200);
  t.match(page.body, /<tr data-type="mitter.up.Online"><th scope="row">mitter.up.Online<\/th><td>2<\/td><\/tr>/);
  t.equal((await test.asOperator(cookie, 'GET', '/console/presence?applicationId=AAAAA-BBBBB-CCCCC-DDDDD')).statusCode, 404);
  t.equal((await test.asOperator(cookie, 'GET', `/console/events?applicationId=${appId}&types=presence`)).statusCode, 200);

  const address = await test.app.listen({ host: '127.0.0.1', port: 0 });
  const url = `${address}/console/api/applications/${appId}/events?types=presence`;
  const stream = new StreamClient(url, () => ({ cookie }));
  t.teardown(() => stream.close());
  await stream.opened;
  t.equal((await set('user-p00003', 'mitter.up.Online')).statusCode, 200);
  const [event] = await stream.untilCount(1);
  const presence = event?.data.data as { presence: { type: string } } | undefined;
  t.same(
    [event?.type, event?.data.userId, presence?.presence.type],
    ['presence', 'user-p00003', 'mitter.up.Online'],
    'the change arrives on the console stream',
  );

  const refusals: Array<[string, Record<string, string>, number]> = [
    ['no session', {}, 401],
    ['another origin', { cookie, origin: 'https://evil.example' }, 403],
  ];
  for (const [what, headers, status] of refusals) {
    const refused = await fetch(url, { headers });
    t.equal(refused.status, status, what);
    t.equal(((await refused.json()) as { errorCode: string }).errorCode, status === 401 ? 'authorization_exception' : 'missing_privilege');
  }
  const badTypes = await fetch(`${address}/console/api/applications/${appId}/events?types=nope`, { headers: { cookie } });
  t.equal(badTypes.status, 400);
  t.equal(((await badTypes.json()) as { errorCode: string }).errorCode, 'invalid_entity');
});

t.test('an application: rename, settings, access keys (secret once; a revoked key is refused) and webhooks', async (t) => {
  const test = await setup(t);
  const cookie = await test.signIn();
  const appId = test.credentials.applicationId;
  const api = `/console/api/applications/${appId}`;
  const send = (method: 'PUT' | 'PATCH' | 'POST' | 'DELETE', url: string, body?: unknown) => test.asOperator(cookie, method, url, body);
  const page = await test.asOperator(cookie, 'GET', `/console/applications/${appId}`);
  t.equal(page.statusCode, 200);
  t.match(page.body, 'rateLimitUser');
  t.match(page.body, test.credentials.accessKey);
  t.notMatch(page.body, test.credentials.accessSecret);
  t.equal((await test.asOperator(cookie, 'GET', '/console/applications/AAAAA-BBBBB-CCCCC-DDDDD')).statusCode, 404);

  t.equal((await send('PUT', `${api}/name`, { name: 'Renamed' })).statusCode, 204);
  t.equal((await test.app.locus.applications.get(appId))?.name, 'Renamed');
  t.equal((await send('PUT', `${api}/name`, { name: '' })).statusCode, 400);

  const changed = await send('PATCH', `${api}/settings`, { assignments: ['rateLimitUser=7', 'corsOrigins=https://app.example.com'] });
  t.equal(changed.statusCode, 200, changed.body);
  t.equal(changed.json().rateLimitUser, 7);
  t.equal((await test.app.locus.applications.get(appId))?.settings.rateLimitUser, 7);
  for (const assignments of [['rateLimitUser=-1'], ['noSuchSetting=1'], ['no equals sign']]) {
    const refused = await send('PATCH', `${api}/settings`, { assignments });
    t.equal(refused.statusCode, 400, JSON.stringify(assignments));
    t.equal(refused.json().errorCode, 'invalid_entity');
  }
  t.equal((await send('PATCH', `${api}/settings`, { assignments: [] })).statusCode, 400, 'nothing to change');

  const added = await send('POST', `${api}/keys`);
  t.equal(added.statusCode, 200);
  const key = added.json<{ accessKey: string; accessSecret: string }>();
  const whoami = async (accessKey: string, accessSecret: string) => {
    const path = '/v1/test/application/by/accesskey';
    const headers = signRequestHeaders({
      method: 'GET',
      path,
      accessKey,
      accessSecret,
      date: new Date(test.clock.now()).toUTCString(),
      nonce: randomBytes(16).toString('hex'),
    });
    return (await test.app.inject({ method: 'GET', url: path, headers })).statusCode;
  };
  t.equal(await whoami(key.accessKey, key.accessSecret), 200, 'the new key signs requests');
  t.notMatch((await test.asOperator(cookie, 'GET', `/console/applications/${appId}`)).body, key.accessSecret, 'its secret is never shown again');
  t.equal((await send('DELETE', `${api}/keys/${key.accessKey}`)).statusCode, 204);
  t.equal(await whoami(key.accessKey, key.accessSecret), 401, 'a revoked key is refused');
  t.equal((await send('DELETE', `${api}/keys/${key.accessKey}`)).statusCode, 400, 'revoking twice');

  const hook = await send('POST', `${api}/webhooks`, { url: 'https://hooks.example.com/locus', types: 'presence,user.created' });
  t.equal(hook.statusCode, 200, hook.body);
  const { webhookId, secret } = hook.json<{ webhookId: string; secret: string }>();
  t.match(secret, /^whsec_/);
  const withHook = await test.asOperator(cookie, 'GET', `/console/applications/${appId}`);
  t.match(withHook.body, webhookId);
  t.notMatch(withHook.body, secret);
  for (const body of [{ url: 'ftp://x.example.com' }, { url: 'https://h.example.com', types: 'nope' }, { url: 'https://h.example.com', extra: 1 }]) {
    t.equal((await send('POST', `${api}/webhooks`, body)).statusCode, 400, JSON.stringify(body));
  }
  t.equal((await send('DELETE', `${api}/webhooks/${webhookId}`)).statusCode, 204);
  t.equal((await send('DELETE', `${api}/webhooks/${webhookId}`)).statusCode, 400, 'removing twice');
  t.equal(
    (await test.app.inject({ method: 'POST', url: `${api}/keys`, headers: { cookie, origin: 'https://evil.example' } })).statusCode,
    403,
    'another origin',
  );
  t.equal((await test.app.inject({ method: 'POST', url: `${api}/keys`, headers: { origin: ORIGIN } })).statusCode, 401, 'no session');
});

t.test('reports, feedback and deletions, newest first, escaped', async (t) => {
  const test = await setup(t);
  const cookie = await test.signIn();
  const appId = test.credentials.applicationId;
  await test.createUsers(['user-rep001', 'user-bad001', 'user-gone01']);
  const issue = async (userId: string) => (await test.signed('POST', `/v1/users/${userId}/tokens`, { body: '{}' })).json().userToken.signedToken as string;
  const asUser = async (userId: string, method: 'POST' | 'DELETE', url: string, body: unknown) =>
    test.app.inject({
      method,
      url,
      headers: { 'x-issued-mitter-user-authorization': await issue(userId), 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });
  t.equal((await asUser('user-rep001', 'POST', '/v1/reports', { userId: 'user-bad001', reason: 'spam <script>' })).statusCode, 200);
  t.equal((await asUser('user-rep001', 'POST', '/v1/feedback', { title: 'Love it', description: 'Works & fast' })).statusCode, 200);
  t.equal((await asUser('user-gone01', 'DELETE', '/v1/users/me', { reason: 'leaving' })).statusCode, 200);

  const page = await test.asOperator(cookie, 'GET', `/console/moderation?applicationId=${appId}`);
  t.equal(page.statusCode, 200);
  t.match(page.body, 'spam &lt;script&gt;');
  t.notMatch(page.body, '<script>', 'no raw markup from users');
  t.match(page.body, 'Works &amp; fast');
  t.match(page.body, /user-gone01<\/th>|<td>user-gone01<\/td>/);
  t.match(page.body, 'the user');
  t.match(page.body, 'leaving');
  t.equal((await test.asOperator(cookie, 'GET', '/console/moderation?applicationId=AAAAA-BBBBB-CCCCC-DDDDD')).statusCode, 404);
  t.equal((await test.app.inject({ method: 'GET', url: `/console/moderation?applicationId=${appId}` })).statusCode, 401, 'no session');
});

t.test('a user’s page shows profile, metadata, presence with its next transitions, blocks and contacts; suspend, reinstate, delete', async (t) => {
  const test = await setup(t);
  const cookie = await test.signIn();
  const appId = test.credentials.applicationId;
  await test.createUsers(['user-full01', 'user-other1']);
  const chain = {
    type: 'mitter.up.Online',
    timeToLive: 30,
    expiresTo: { type: 'mitter.up.Away', timeToLive: 60, expiresTo: { type: 'mitter.up.Offline', timeToLive: 0 } },
  };
  t.equal((await test.signed('POST', '/v1/users/user-full01/presence', { body: JSON.stringify(chain) })).statusCode, 200);
  t.equal((await test.signed('POST', '/v1/users/user-full01/blocked-users/user-other1', { body: '{}' })).statusCode, 200);
  const token = (await test.signed('POST', '/v1/users/user-full01/tokens', { body: '{}' })).json().userToken.signedToken as string;
  const me = () => test.app.inject({ method: 'GET', url: '/v1/users/me', headers: { 'x-issued-mitter-user-authorization': token } });

  const page = await test.asOperator(cookie, 'GET', `/console/users/${appId}/user-full01`);
  t.equal(page.statusCode, 200);
  const at = (seconds: number) => new Date(test.clock.now() + seconds * 1000).toISOString();
  t.match(page.body, `mitter.up.Online since ${new Date(test.clock.now()).toISOString()}`);
  t.match(page.body, `mitter.up.Away at ${at(30)}`, 'the next transition and when');
  t.match(page.body, `mitter.up.Offline at ${at(90)}`);
  t.match(page.body, 'online now');
  t.match(page.body, /<dt>Blocks<\/dt><dd><a href="[^"]*user-other1">user-other1<\/a><\/dd>/);

  const api = `/console/api/applications/${appId}/users/user-full01`;
  const send = (method: 'PUT' | 'PATCH' | 'POST' | 'DELETE', url: string, body?: unknown) => test.asOperator(cookie, method, url, body);
  t.equal((await send('POST', `${api}/suspension`, { reason: '' })).statusCode, 400, 'a suspension needs a reason');
  t.equal((await send('POST', `${api}/suspension`, { reason: 'abuse' })).statusCode, 204);
  t.equal((await me()).statusCode, 401, 'the suspended user’s token is refused');
  t.match((await test.asOperator(cookie, 'GET', `/console/users/${appId}/user-full01`)).body, '<dt>State</dt><dd>suspended</dd>');
  t.equal((await send('DELETE', `${api}/suspension`)).statusCode, 204);
  t.equal((await me()).statusCode, 200, 'reinstated');
  t.equal((await send('DELETE', api, {})).statusCode, 400, 'a deletion needs a reason');
  t.equal((await send('DELETE', api, { reason: 'asked by support' })).statusCode, 204);
  t.equal((await test.signed('GET', '/v1/users/user-full01')).statusCode, 404, 'gone from the API');
  const log = (await test.signed('GET', '/v1/deletions')).json();
  t.match(JSON.stringify(log), 'asked by support', 'in the deletions log with the reason');
  t.equal((await send('DELETE', api, { reason: 'again' })).statusCode, 404, 'deleting twice');
});

t.test('every console API route: 401 without a session, and 403 for a write from another origin (or none)', async (t) => {
  const test = await setup(t);
  const cookie = await test.signIn();
  const appId = test.credentials.applicationId;
  const apiRoutes = test.app.locus.routes.filter((r) => r.url.startsWith('/console/api/') && r.method !== 'HEAD');
  t.ok(apiRoutes.length >= 14, `${apiRoutes.length} console API routes`);
  const concrete = (url: string) =>
    url
      .replace(':applicationId', appId)
      .replace(':userId', 'user-nobody1')
      .replace(':tokenId', 'token-1')
      .replace(':accessKey', 'key-1')
      .replace(':webhookId', 'hook-1');
  for (const route of apiRoutes) {
    const method = route.method as 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
    const url = concrete(route.url);
    const anonymous = await test.app.inject({ method, url, headers: method === 'GET' ? {} : { origin: ORIGIN } });
    t.equal(anonymous.statusCode, 401, `${route.method} ${route.url} without a session`);
    t.equal(anonymous.json().errorCode, 'authorization_exception');
    if (method === 'GET') continue;
    for (const origin of [undefined, 'https://evil.example']) {
      const refused = await test.app.inject({ method, url, headers: { cookie, ...(origin === undefined ? {} : { origin }) } });
      t.equal(refused.statusCode, 403, `${route.method} ${route.url} with the session, Origin ${origin ?? 'absent'}`);
    }
  }
});
