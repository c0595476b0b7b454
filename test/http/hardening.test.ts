// Browser safety, log hygiene, input hygiene, private files and slow clients (docs/decisions.md), from
// the outside: headers on every answer, the cookie-only cross-site logout refused, odd spellings of
// secret-bearing paths kept out of the logs, deceptive characters refused, the data directory and
// database private, and errors raised before routing in the Locus body.
import { connect } from 'node:net';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { loadConfig } from '../../src/config.ts';
import { migrate } from '../../src/platform/migrate.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, testProvider, type TestDatabase } from '../helpers/db.ts';
import { json, populate, type World } from '../helpers/world.ts';
import { MAX_PATH_PARAM_LENGTH, type BuildOptions } from '../../src/app.ts';
import { capturedLogs } from '../helpers/logs.ts';

async function setup(t: Test, options: BuildOptions & { database?: TestDatabase } = {}): Promise<TestApp & { users: World }> {
  const test = await buildTestApp(t, { presenceTimers: false, ...options });
  return { ...test, users: await populate(test, ['user-0001', 'user-0002']) };
}

t.test('every answer says nosniff; answers that carry or read credentials are never cached', async (t) => {
  const test = await setup(t);
  const one = test.users['user-0001']!;
  const answers = [
    await test.signed('POST', '/v1/users/user-0001/tokens', { body: '{}' }),
    await one.call('GET', '/v1/users/me'),
    await one.call('GET', '/v1/users/me/tokens'),
    await test.app.inject({ method: 'GET', url: '/no/such/route' }),
    await one.call('POST', '/v1/users/me/presence', '{'),
    await test.app.inject({ method: 'GET', url: '/healthz' }),
    // Refused before routing: a malformed URL, a path parameter longer than the router matches.
    await test.app.inject({ method: 'GET', url: '/v1/users/%ZZ' }),
    await test.app.inject({ method: 'GET', url: `/v1/users/${'a'.repeat(MAX_PATH_PARAM_LENGTH + 1)}` }),
  ];
  for (const answer of answers) {
    t.equal(answer.headers['x-content-type-options'], 'nosniff', `${answer.statusCode}: nosniff`);
    t.equal(answer.headers['cache-control'], 'no-store', `${answer.statusCode}: no-store`);
    t.match(answer.headers['x-request-id'], /./, `${answer.statusCode}: a request id`);
  }
  t.same(
    answers.slice(-2).map((answer) => [answer.statusCode, answer.json().errorCode]),
    [
      [400, 'invalid_input_syntax'],
      [400, 'invalid_input_syntax'],
    ],
  );
});

t.test('event streams, which write their own head, say nosniff and no-store too', async (t) => {
  const test = await setup(t);
  const address = await test.app.listen({ host: '127.0.0.1', port: 0 });
  const link = (
    await test.app.inject({ method: 'POST', url: '/v1/device-links', headers: { 'x-mitter-application-id': test.credentials.applicationId } })
  ).json();
  const streams: Array<[string, string, Record<string, string>]> = [
    ['the application stream', '/v1/events', test.signedHeaders('GET', '/v1/events')],
    ['a user stream', '/v1/users/me/events', { 'x-issued-mitter-user-authorization': test.users['user-0001']!.token }],
    ['a device link stream', `/v1/device-links/${link.linkId}/events?pollToken=${encodeURIComponent(link.pollToken)}`, {}],
  ];
  for (const [name, path, headers] of streams) {
    const abort = new AbortController();
    const response = await fetch(`${address}${path}`, { headers, signal: abort.signal });
    t.same(
      {
        status: response.status,
        type: response.headers.get('content-type'),
        nosniff: response.headers.get('x-content-type-options'),
        cache: response.headers.get('cache-control'),
        requestId: (response.headers.get('x-request-id') ?? '').length > 0,
      },
      { status: 200, type: 'text/event-stream', nosniff: 'nosniff', cache: 'no-store', requestId: true },
      name,
    );
    abort.abort();
  }
});

t.test('a logout carried by the token cookie alone is refused unless it comes from this site', async (t) => {
  const test = await setup(t);
  const one = test.users['user-0001']!;
  const cookie = `x_issued_mitter_user_authorization=${one.token}`;
  for (const site of [undefined, 'cross-site', 'same-site', 'none']) {
    const response = await test.app.inject({
      method: 'GET',
      url: '/v1/users/me/logout?all=true',
      headers: { cookie, ...(site ? { 'sec-fetch-site': site } : {}) },
    });
    t.equal(response.statusCode, 403, `Sec-Fetch-Site: ${site ?? 'absent'} → refused`);
    t.equal(response.json().diagnostics.check, 'sec_fetch_site');
  }
  t.equal((await one.call('GET', '/v1/users/me')).statusCode, 200, 'nothing was revoked');
  const sameOrigin = await test.app.inject({ method: 'GET', url: '/v1/users/me/logout', headers: { cookie, 'sec-fetch-site': 'same-origin' } });
  t.equal(sameOrigin.statusCode, 200, 'from this site it works');
  t.equal((await one.call('GET', '/v1/users/me')).statusCode, 401);
  const two = test.users['user-0002']!;
  t.equal((await two.call('GET', '/v1/users/me/logout')).statusCode, 200, 'a token in a header is not a cross-site request');
});

t.test('odd spellings of a logout link never put its token in the logs', async (t) => {
  const { logStream, lines } = capturedLogs();
  const database = await createTestDatabase();
  database.config.logLevel = 'info';
  t.teardown(() => database.drop());
  const test = await setup(t, { logger: undefined, logStream, database });
  const issued = (await test.signed('POST', '/v1/users/user-0001/tokens', { body: '{}' })).json().userToken;
  const token = new URL(issued.logoutUrl).pathname.split('/').pop()!;
  for (const path of [
    `/v1/logout/${token}`,
    `/v1/%6Cogout/${token}`,
    `//v1/logout/${token}`,
    `/V1/LOGOUT/${token}`,
    `/v1/%256Cogout/${token}`,
    `/v1/logout//${token}`,
  ]) {
    const response = await test.app.inject({ method: 'GET', url: path });
    t.ok(response.statusCode < 500, `${path.replace(token, '…')} → ${response.statusCode}`);
  }
  const link = await test.app.inject({
    method: 'POST',
    url: '/v1/device-links',
    headers: { 'x-mitter-application-id': test.credentials.applicationId },
  });
  const code = link.json().code as string;
  await test.users['user-0002']!.call('POST', `/v1/device-links/${code}/approve`);
  t.ok(lines.length > 6, 'requests were logged');
  t.notOk(
    lines.some((line) => line.includes(token)),
    'the logout token is in no log line',
  );
  t.notOk(
    lines.some((line) => line.includes(code)),
    'nor the device link code',
  );
});

t.test('bidirectional controls, zero-width characters and the BOM are refused where people read identities', async (t) => {
  const test = await setup(t);
  const cases: Array<[string, string, unknown, string]> = [
    ['POST', '/v1/users', { screenName: { screenName: 'gnp.exe\u202Etxt' } }, 'screenName.screenName'],
    ['PUT', '/v1/users/user-0001/screenname', { screenName: 'Ad\u200Da' }, 'screenName'],
    ['POST', '/v1/users/user-0001/locators', 'email:ad\u200Da@example.com', 'body'],
    ['POST', '/v1/users', { screenName: { screenName: 'Ok' }, userLocators: ['email:\uFEFFada@example.com'] }, 'userLocators[0]'],
    ['POST', '/v1/users/user-0001/presence', { type: 'mitter.up.Online\u2066', timeToLive: 0 }, 'type'],
  ];
  for (const [method, path, body, field] of cases) {
    const response = await test.signed(method, path, { body: json(body) });
    t.equal(response.statusCode, 400, `${method} ${path}`);
    t.equal(response.json().diagnostics.rule, 'deceptive_characters');
    t.equal(response.json().diagnostics.field, field);
  }
  const lookup = await test.users['user-0001']!.call('GET', `/v1/users?locators=${encodeURIComponent('email:a\u200Bb@example.com')}`);
  t.equal(lookup.statusCode, 400, 'a lookup too');
  t.equal((await test.signed('GET', '/v1/users')).json().length, 2, 'nothing was created');
  t.equal(
    (await test.signed('PUT', '/v1/users/user-0001/screenname', { body: json({ screenName: 'Ada Lovelace — عربى 漢字' }) })).statusCode,
    200,
    'ordinary text in any script is fine',
  );
});

t.test(
  'the data directory and the SQLite database are private, even when the directory existed',
  { skip: testProvider === 'postgresql' ? 'SQLite files only' : false },
  async (t) => {
    const parent = mkdtempSync(join(tmpdir(), 'locus-perm-'));
    t.teardown(() => rmSync(parent, { recursive: true, force: true }));
    const dataDir = join(parent, 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const config = loadConfig({ LOCUS_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    await migrate(config);
    t.equal(statSync(dataDir).mode & 0o777, 0o700, 'the directory');
    t.equal(statSync(join(dataDir, 'locus.db')).mode & 0o777, 0o600, 'the database');
    t.equal(statSync(join(dataDir, 'master.key')).mode & 0o777, 0o600, 'the master key');
  },
);

/** Writes `request` on a raw socket and reads until the server closes it. */
function rawExchange(address: string, request: string, options: { hold?: boolean } = {}): Promise<string> {
  const { hostname, port } = new URL(address);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let received = '';
    socket.on('data', (chunk) => (received += String(chunk)));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    if (!options.hold) socket.setTimeout(5_000, () => socket.destroy());
  });
}

const bodyOf = (raw: string) => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { errorCode: string; error_code: string; timestamp: number };

t.test('slow clients are cut off, and errors raised before routing have the Locus body', async (t) => {
  // Shortened so the test does not wait 10 s; production keeps 10 s / 30 s / 10 s.
  const test = await buildTestApp(t, { presenceTimers: false, connectionTimeouts: { headersMs: 300, requestMs: 600, keepAliveMs: 300 } });
  const address = await test.app.listen({ host: '127.0.0.1', port: 0 });

  const slow = await rawExchange(address, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ', { hold: true });
  t.match(slow, /^HTTP\/1\.1 408 /, 'headers never finished: 408, then closed');
  t.match(bodyOf(slow), { errorCode: 'request_timeout', error_code: 'request_timeout' });

  const halfBody = await rawExchange(address, 'POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a"', {
    hold: true,
  });
  t.match(halfBody, /^HTTP\/1\.1 408 /, 'a body that never finished: 408');

  const big = await rawExchange(address, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  t.match(big, /^HTTP\/1\.1 431 /);
  t.match(bodyOf(big), { errorCode: 'header_too_large' });
  t.match(big, /x-content-type-options: nosniff/i);

  const garbage = await rawExchange(address, 'NOT-HTTP\r\n\r\n');
  t.match(garbage, /^HTTP\/1\.1 400 /);
  t.equal(bodyOf(garbage).errorCode, 'invalid_input_syntax');
  t.type(bodyOf(garbage).timestamp, 'number');

  const idle = await rawExchange(address, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', { hold: true });
  t.match(idle, /^HTTP\/1\.1 200 /, 'answered, then the idle kept-alive connection was closed by the server');
});

t.test('a request still arriving while the server shuts down gets a 503 in the Locus body, and the shutdown completes', async (t) => {
  const test = await buildTestApp(t, { presenceTimers: false });
  const address = await test.app.listen({ host: '127.0.0.1', port: 0 });
  const { hostname, port } = new URL(address);
  const socket = connect(Number(port), hostname);
  let received = '';
  socket.on('data', (chunk) => (received += String(chunk)));
  const ended = new Promise((resolve) => socket.on('close', resolve));
  // The headers arrive before the shutdown, the body after it: the connection is busy, so the
  // shutdown waits for it, and the request is answered (not started) once it is whole.
  const arrived = new Promise((resolve) => test.app.server.once('request', resolve));
  socket.write('POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n');
  await arrived;
  const closed = test.app.close();
  socket.write('{}');
  await ended;
  await closed;
  t.match(received, /^HTTP\/1\.1 503 /);
  t.match(received, /\r\nconnection: close\r\n/i);
  t.match(received, /\r\nx-content-type-options: nosniff\r\n/i);
  t.match(received, /\r\nretry-after: 1\r\n/i);
  t.match(bodyOf(received), { errorCode: 'service_unavailable', error_code: 'service_unavailable', diagnostics: { reason: 'shutting_down' } });
});

t.test('CORS: an application’s origins may call with header tokens; other origins get no CORS headers', async (t) => {
  const test = await setup(t);
  await test.app.locus.applications.updateSettings(test.credentials.applicationId, ['corsOrigins=https://app.example.com']);
  const other = await test.app.locus.applications.create('other-app');
  await test.app.locus.applications.updateSettings(other.applicationId, ['corsOrigins=https://other.example.com']);
  const preflight = (origin: string) =>
    test.app.inject({
      method: 'OPTIONS',
      url: '/v1/users/me',
      headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-issued-mitter-user-authorization' },
    });
  const allowed = await preflight('https://app.example.com');
  t.equal(allowed.statusCode, 204);
  t.equal(allowed.headers['access-control-allow-origin'], 'https://app.example.com');
  t.equal(allowed.headers['access-control-allow-credentials'], 'true');
  t.match(String(allowed.headers['access-control-allow-headers']), /X-Issued-Mitter-User-Authorization/);
  t.match(String(allowed.headers['access-control-allow-methods']), /DELETE/);
  const refused = await preflight('https://evil.example.com');
  t.equal(refused.headers['access-control-allow-origin'], undefined, 'an unlisted origin: no CORS headers');
  t.equal(refused.headers['access-control-allow-credentials'], undefined);

  const one = test.users['user-0001']!;
  const read = (origin: string) =>
    test.app.inject({ method: 'GET', url: '/v1/users/me', headers: { origin, 'x-issued-mitter-user-authorization': one.token } });
  const fromApp = await read('https://app.example.com');
  t.equal(fromApp.statusCode, 200);
  t.equal(fromApp.headers['access-control-allow-origin'], 'https://app.example.com');
  t.match(String(fromApp.headers['access-control-expose-headers']), /X-Request-Id/);
  t.equal((await read('https://evil.example.com')).headers['access-control-allow-origin'], undefined);
  t.equal((await read('https://other.example.com')).headers['access-control-allow-origin'], undefined, 'another application’s origin is not this one’s');
  const anonymous = await test.app.inject({
    method: 'POST',
    url: '/v1/device-links',
    headers: { origin: 'https://app.example.com', 'x-mitter-application-id': test.credentials.applicationId },
  });
  t.equal(anonymous.headers['access-control-allow-origin'], 'https://app.example.com', 'by X-Mitter-Application-Id');

  // Without Origin a request is not a CORS request: no CORS headers, but caches still learn that
  // the answer depends on Origin.
  const plain = await test.app.inject({ method: 'GET', url: '/v1/users/me', headers: { 'x-issued-mitter-user-authorization': one.token } });
  t.equal(plain.statusCode, 200);
  t.equal(plain.headers['access-control-allow-origin'], undefined);
  t.equal(plain.headers.vary, 'Origin');
  t.equal(fromApp.headers.vary, 'Origin', 'the same Vary with an Origin');
  const noOriginPreflight = await test.app.inject({ method: 'OPTIONS', url: '/v1/users/me', headers: { 'access-control-request-method': 'GET' } });
  t.equal(noOriginPreflight.statusCode, 404, 'an OPTIONS without Origin is no preflight');
  t.equal(noOriginPreflight.headers['access-control-allow-methods'], undefined);
  t.equal(noOriginPreflight.json().errorCode, 'entity_not_found', 'with the Locus error body');
});
