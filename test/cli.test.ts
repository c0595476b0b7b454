// The operator CLI against a real database (docs/decisions.md), and its effect on a running server.
import t from 'tap';
import { runCli } from '../src/cli.ts';
import { buildApp } from '../src/app.ts';
import { signRequestHeaders } from '../src/auth/signature.ts';
import { MAX_ACTIVE_ACCESS_KEYS } from '../src/modules/applications/service.ts';
import { createTestDatabase } from './helpers/db.ts';
import { buildTestApp, newNonce } from './helpers/app.ts';
import { SIGNING_KID_REFRESH_MS } from '../src/modules/tokens/service.ts';

async function cli(env: NodeJS.ProcessEnv, ...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { env, stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}

t.test('app create, list, key add and revoke', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const { env } = database;

  const created = await cli(env, 'app', 'create', '--name', 'Chat App', '--json');
  t.equal(created.code, 0, created.stderr);
  const app = created.json();
  t.same(Object.keys(app).sort(), ['accessKey', 'accessSecret', 'applicationId', 'name']);
  t.match(app.applicationId, /^[A-Za-z0-9]{5}(-[A-Za-z0-9]{5}){3}$/);
  t.match(app.accessKey, /^[A-Za-z0-9]{16}$/);
  t.equal(Buffer.from(app.accessSecret, 'base64').length, 128);
  t.equal(app.name, 'Chat App');

  const plain = await cli(env, 'app', 'create', '--name=Second');
  t.equal(plain.code, 0);
  t.match(plain.stdout, /accessSecret:\s+\S{172}/);

  const second = (await cli(env, 'key', 'add', app.applicationId, '--json')).json();
  t.equal(second.applicationId, app.applicationId);
  t.not(second.accessKey, app.accessKey);
  const third = (await cli(env, 'key', 'add', app.applicationId, '--json')).json();
  const fourth = await cli(env, 'key', 'add', app.applicationId);
  t.equal(fourth.code, 1, `at most ${MAX_ACTIVE_ACCESS_KEYS} active keys`);
  t.match(fourth.stderr, /at most 3/);

  t.equal((await cli(env, 'key', 'revoke', app.applicationId, third.accessKey)).code, 0);
  t.equal((await cli(env, 'key', 'revoke', app.applicationId, third.accessKey)).code, 1, 'revoking twice is refused');
  t.equal((await cli(env, 'key', 'revoke', 'AAAAA-BBBBB-CCCCC-DDDDD', second.accessKey)).code, 1, 'another application cannot revoke it');
  t.equal((await cli(env, 'key', 'add', app.applicationId)).code, 0, 'a slot is free again after a revocation');

  const list = await cli(env, 'app', 'list', '--json');
  t.equal(list.code, 0);
  const listed = list.json();
  t.equal(listed.length, 2);
  const chat = listed.find((a: { name: string }) => a.name === 'Chat App');
  t.same(Object.keys(chat).sort(), ['accessKeys', 'applicationId', 'createdAt', 'name']);
  t.equal(chat.accessKeys.length, 4);
  t.equal(chat.accessKeys.filter((k: { revokedAt: string | null }) => k.revokedAt === null).length, 3);
  t.notMatch(list.stdout, /accessSecret|secretEncrypted/, 'secrets are never listed');
  t.match((await cli(env, 'app', 'list')).stdout, /REVOKED/);

  // Secrets are stored encrypted: the database never holds the secret in any recognisable form.
  const { createDb } = await import('../src/platform/db.ts');
  const db = createDb(database.config);
  t.teardown(() => db.close());
  const row = await db.query.selectFrom('AccessKey').select('secretEncrypted').where('accessKey', '=', app.accessKey).executeTakeFirst();
  const secret = Buffer.from(app.accessSecret, 'base64');
  t.ok(row);
  t.notMatch(row?.secretEncrypted ?? '', app.accessSecret);
  t.notMatch(row?.secretEncrypted ?? '', secret.toString('hex'));
  t.notMatch(row?.secretEncrypted ?? '', secret.toString('base64url'));
});

t.test('app settings: show, change, validate', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const { env } = database;
  const app = (await cli(env, 'app', 'create', '--name', 'S', '--json')).json();

  const shown = (await cli(env, 'app', 'settings', app.applicationId, '--json')).json();
  t.match(shown, { tokenDefaultTtl: 2592000, tokenMaxTtl: 31536000, maxActiveTokensPerUser: 0, onlineTypes: ['mitter.up.Online'], passwordLogin: true });

  const changed = await cli(
    env,
    'app',
    'settings',
    app.applicationId,
    'maxActiveTokensPerUser=5',
    'onlineTypes=mitter.up.Online,busy.Custom',
    'passwordLogin=off',
    '--json',
  );
  t.equal(changed.code, 0, changed.stderr);
  t.match(changed.json(), { maxActiveTokensPerUser: 5, onlineTypes: ['mitter.up.Online', 'busy.Custom'], passwordLogin: false });
  t.match((await cli(env, 'app', 'settings', app.applicationId, '--json')).json(), { maxActiveTokensPerUser: 5 }, 'persisted');

  const bad = await cli(
    env,
    'app',
    'settings',
    app.applicationId,
    'maxActiveTokensPerUser=-1',
    'colour=blue',
    'tokenMaxTtl',
    'allowedReturnOrigins=https://a.example/path',
  );
  t.equal(bad.code, 1);
  t.match(bad.stderr, /maxActiveTokensPerUser must be an integer/);
  t.match(bad.stderr, /unknown setting "colour"/);
  t.match(bad.stderr, /"tokenMaxTtl" is not name=value/);
  t.match(bad.stderr, /allowedReturnOrigins has an invalid value/);
  const crossed = await cli(env, 'app', 'settings', app.applicationId, 'tokenDefaultTtl=7200', 'tokenMaxTtl=3600');
  t.equal(crossed.code, 1);
  t.match(crossed.stderr, /must not exceed tokenMaxTtl/);
  t.match(
    (await cli(env, 'app', 'settings', app.applicationId, '--json')).json(),
    { maxActiveTokensPerUser: 5, tokenMaxTtl: 31536000 },
    'nothing applied from a refused command',
  );

  t.match((await cli(env, 'app', 'settings', app.applicationId, 'maxActiveTokensPerUser=default', '--json')).json(), { maxActiveTokensPerUser: 0 });
  t.equal((await cli(env, 'app', 'settings', 'AAAAA-BBBBB-CCCCC-DDDDD', 'passwordLogin=on')).code, 1, 'unknown application');
});

t.test('usage and configuration errors exit 2', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  t.equal((await cli(database.env)).code, 2);
  t.equal((await cli(database.env, 'help')).code, 0);
  t.equal((await cli(database.env, 'app', 'create')).code, 2);
  t.equal((await cli(database.env, 'app', 'frobnicate')).code, 2);
  t.equal((await cli(database.env, 'key', 'revoke', 'only-one')).code, 2);
  t.equal((await cli({ ...database.env, PORT: 'eighty' }, 'app', 'list')).code, 2);
  const migrated = await cli(database.env, 'migrate');
  t.equal(migrated.code, 0);
  t.match((await cli(database.env, 'migrate')).stdout, /up to date/);
});

t.test('a running server refuses a key revoked through the CLI', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const server = await buildApp(database.config, { logger: false, watchApplications: false });
  t.teardown(() => server.close());
  const app = (await cli(database.env, 'app', 'create', '--name', 'Live', '--json')).json();
  const request = () =>
    server.inject({
      method: 'GET',
      url: '/v1/test/application/by/accesskey',
      headers: signRequestHeaders({
        method: 'GET',
        path: '/v1/test/application/by/accesskey',
        accessKey: app.accessKey,
        accessSecret: app.accessSecret,
        date: new Date().toUTCString(),
        nonce: newNonce(),
      }),
    });
  t.equal((await request()).statusCode, 200, 'a key made by the CLI works on the running server');
  t.equal((await cli(database.env, 'key', 'revoke', app.applicationId, app.accessKey)).code, 0);
  await server.locus.applications.refreshIfChanged();
  const refused = await request();
  t.equal(refused.statusCode, 401);
  t.equal(refused.json().diagnostics.check, 'access_key');
});

t.test('token-keys rotate: a running server signs with the new key after its refresh window; old tokens keep working', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const test = await buildTestApp(t, { database });
  t.equal((await test.signed('POST', '/v1/users', { body: JSON.stringify({ userId: 'user-0001', screenName: { screenName: 'One' } }) })).statusCode, 200);
  const issue = async () => {
    const response = await test.signed('POST', '/v1/users/user-0001/tokens', { body: '{}' });
    t.equal(response.statusCode, 200, response.body);
    const token = response.json().userToken.signedToken as string;
    return { token, kid: JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()).kid as string };
  };
  const me = async (token: string) => (await test.app.inject({ url: '/v1/users/me', headers: { 'x-issued-mitter-user-authorization': token } })).statusCode;

  t.same((await cli(database.env, 'token-keys', 'show', '--json')).json(), { signingKid: 'k1' });
  const old = await issue();
  t.equal(old.kid, 'k1');
  const rotated = await cli(database.env, 'token-keys', 'rotate');
  t.equal(rotated.code, 0, rotated.stderr);
  t.match(rotated.stdout, /signed with k2 \(running servers switch within 5 s\)/);
  t.same((await cli(database.env, 'token-keys', 'show', '--json')).json(), { signingKid: 'k2' });
  t.equal((await issue()).kid, 'k1', 'inside the refresh window the server still signs with k1');
  test.clock.advance(SIGNING_KID_REFRESH_MS);
  const fresh = await issue();
  t.equal(fresh.kid, 'k2', 'then with k2');
  t.equal(await me(fresh.token), 200, 'k2 verifies');
  t.equal(await me(old.token), 200, 'k1 still verifies');
  t.equal((await cli(database.env, 'token-keys', 'rotate', 'extra')).code, 2, 'no arguments');
});

t.test('the default application is created once, on the first start only', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const server = await buildApp(database.config, { logger: false, watchApplications: false });
  t.teardown(() => server.close());
  const first = await server.locus.applications.bootstrapDefault();
  t.match(first, { name: 'default', accessKey: /^[A-Za-z0-9]{16}$/ });
  t.equal(await server.locus.applications.bootstrapDefault(), null, 'not on a second start');
  const fresh = await createTestDatabase();
  t.teardown(() => fresh.drop());
  t.equal((await cli(fresh.env, 'app', 'create', '--name', 'Mine')).code, 0);
  const other = await buildApp(fresh.config, { logger: false, watchApplications: false });
  t.teardown(() => other.close());
  t.equal(await other.locus.applications.bootstrapDefault(), null, 'not when the database already has applications');
});
