// A database created by release 0.1.0 (the last to read and write through Prisma's client) opens
// unchanged and reads the same: test/fixtures/release-0.1.0 was written by that release through its
// API (an application with passwordLogin on, alice with two locators, two defs, a profile, a token,
// a password and a presence, bob deleted), then closed. Its master key is a test fixture only.
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import t from 'tap';
import { buildApp } from '../src/app.ts';
import { signRequestHeaders } from '../src/auth/signature.ts';
import { loadConfig } from '../src/config.ts';
import { ManualClock } from './helpers/clock.ts';
import { newNonce } from './helpers/app.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'release-0.1.0');
const fixture = JSON.parse(readFileSync(join(FIXTURE, 'fixture.json'), 'utf8')) as {
  credentials: { applicationId: string; accessKey: string; accessSecret: string };
  token: { signedToken: string; tokenId: string; ttl: number; expiresAt: number };
};
const issuedAt = fixture.token.expiresAt - fixture.token.ttl * 1000;

t.test('a database created by release 0.1.0 opens unchanged and reads the same', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'locus-compat-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const original = readFileSync(join(FIXTURE, 'locus.db'));
  for (const file of ['locus.db', 'master.key']) copyFileSync(join(FIXTURE, file), join(dir, file));
  chmodSync(join(dir, 'master.key'), 0o600);
  const clock = new ManualClock(issuedAt + 3_600_000);
  const app = await buildApp(loadConfig({ LOCUS_DATA_DIR: dir, LOG_LEVEL: 'silent' }), {
    logger: false,
    watchApplications: false,
    eventTimers: false,
    presenceTimers: false,
    clock,
  });
  t.teardown(() => app.close());
  const { credentials } = fixture;
  const signed = (method: string, path: string, body?: unknown) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers = signRequestHeaders({
      method,
      path: path.split('?')[0] as string,
      ...(text === undefined ? {} : { body: text, contentType: 'application/json' }),
      accessKey: credentials.accessKey,
      accessSecret: credentials.accessSecret,
      date: new Date(clock.now()).toUTCString(),
      nonce: newNonce(),
    });
    return app.inject({ method: method as 'GET', url: path, headers, ...(text === undefined ? {} : { payload: text }) });
  };

  const alice = (await signed('GET', '/v1/users/alice-0001')).json();
  t.match(alice, {
    userId: 'alice-0001',
    screenName: { screenName: 'Alice' },
    userLocators: [{ locator: 'email:alice@example.com' }, { locator: 'tele:+12133734253' }],
  });
  t.equal(alice.userLocators.length, 2);
  // As the fixture's User row holds them: '2026-12-02T12:12:38.354+00:00' and '…38.452+00:00'.
  t.same(
    alice.auditInfo,
    { createdAt: Date.parse('2026-12-02T12:12:38.354Z'), updatedAt: Date.parse('2026-12-02T12:12:38.452Z') },
    'times read back as written',
  );
  t.same(
    (await signed('GET', '/v1/users?locators=email:ALICE@example.com')).json().map((u: { userId: string }) => u.userId),
    ['alice-0001'],
    'found by locator',
  );

  const defs = (await signed('GET', '/v1/attribute-def/users')).json<Array<{ key: string; canBeEmpty: boolean }>>();
  t.match(
    defs.filter((def) => def.key.startsWith('app.')),
    [
      { key: 'app.Nickname', canBeEmpty: false },
      { key: 'app.Note', canBeEmpty: true },
    ],
    'defs, with their booleans',
  );
  t.match((await signed('GET', '/v1/users/alice-0001/profile')).json(), {
    attributes: [
      { key: 'app.Nickname', value: 'Al' },
      { key: 'mitter.upa.FirstName', value: 'Alice' },
    ],
  });

  const asAlice = { 'x-issued-mitter-user-authorization': fixture.token.signedToken };
  t.equal((await app.inject({ method: 'GET', url: '/v1/users/me', headers: asAlice })).json().userId, 'alice-0001', 'the token still authenticates');
  const tokens = (await app.inject({ method: 'GET', url: '/v1/users/me/tokens', headers: asAlice })).json();
  t.match(tokens, [{ tokenId: fixture.token.tokenId, current: true, issuedAt, expiresAt: fixture.token.expiresAt }], 'with its stored times');
  const login = await app.inject({
    method: 'POST',
    url: '/v1/login',
    headers: { 'content-type': 'application/json', 'x-mitter-application-id': credentials.applicationId },
    payload: JSON.stringify({ locator: 'email:alice@example.com', password: 'correct horse battery' }),
  });
  t.equal(login.statusCode, 200, 'the stored password hash and the setting still work');

  t.match((await signed('GET', '/v1/users/alice-0001/presence')).json(), [{ presence: { presence: { type: 'mitter.up.Online' } } }], 'presence reloaded');
  const again = await signed('POST', '/v1/users', { userId: 'bob-00001', screenName: { screenName: 'Bob again' } });
  t.match({ status: again.statusCode, body: again.json() }, { status: 409, body: { errorCode: 'duplicate_entity' } }, 'the deleted id is still quarantined');

  // New writes land beside the old rows: the event log continues from where it stopped.
  t.equal((await signed('POST', '/v1/users', { userId: 'carol-001', screenName: { screenName: 'Carol' } })).statusCode, 200);
  const position = await app.locus.events.position(credentials.applicationId);
  t.ok(position.last > 6, `events continue after the old ones (${position.last})`);
  t.equal(
    createHash('sha256')
      .update(readFileSync(join(FIXTURE, 'locus.db')))
      .digest('hex'),
    createHash('sha256').update(original).digest('hex'),
    'the fixture itself is untouched',
  );
});
