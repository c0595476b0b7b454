// Durability (docs/decisions.md): a server process killed with SIGKILL right after answering loses
// nothing it acknowledged. A real child process (`src/main.ts`) on the suite's database creates
// users, issues and revokes tokens and sets presences; it is killed the moment the last answer
// arrives, restarted on the same data, and everything acknowledged is there and agrees with the
// event log (`/v1/events` from the start).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import t from 'tap';
import { signRequestHeaders } from '../src/auth/signature.ts';
import { loadConfig } from '../src/config.ts';
import { ApplicationsService, type Credentials } from '../src/modules/applications/service.ts';
import { createApplicationsStore } from '../src/modules/applications/store.ts';
import { systemClock } from '../src/platform/clock.ts';
import { createDb } from '../src/platform/db.ts';
import { migrate } from '../src/platform/migrate.ts';
import { projectRoot } from '../src/platform/paths.ts';
import { createTestDatabase } from './helpers/db.ts';
import { StreamClient } from './helpers/sse.ts';

interface Server {
  url: string;
  child: ChildProcess;
}

async function startServer(env: NodeJS.ProcessEnv): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: projectRoot,
    env: { ...process.env, ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the server exited with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (match) resolve(match[1]!);
    });
  });
  child.removeAllListeners('exit');
  return { url, child };
}

function kill(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.child.once('exit', () => resolve());
    server.child.kill('SIGKILL');
  });
}

function signedFetch(server: Server, credentials: Credentials, method: string, path: string, body?: unknown): Promise<Response> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers = signRequestHeaders({
    method,
    path,
    body: text,
    contentType: text === undefined ? null : 'application/json',
    accessKey: credentials.accessKey,
    accessSecret: credentials.accessSecret,
    date: new Date().toUTCString(),
    nonce: randomBytes(16).toString('hex'),
  });
  return fetch(`${server.url}${path}`, { method, headers, ...(text === undefined ? {} : { body: text }) });
}

t.test('SIGKILL right after the answers: every acknowledged write survives, and the log agrees', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const config = loadConfig(database.env);
  await migrate(config);
  const db = createDb(config);
  const credentials = await new ApplicationsService({ store: createApplicationsStore(db), masterKey: config.masterKey, clock: systemClock }).create('crash');
  await db.close();

  const first = await startServer(database.env);
  let alive = true;
  t.teardown(async () => {
    if (alive) await kill(first);
  });
  const userIds = Array.from({ length: 30 }, (_, i) => `crash-user-${String(i).padStart(3, '0')}`);
  const created = await Promise.all(
    userIds.map((userId) => signedFetch(first, credentials, 'POST', '/v1/users', { userId, screenName: { screenName: userId } })),
  );
  t.same(
    created.map((r) => r.status),
    userIds.map(() => 200),
    'users created',
  );
  const issued = await Promise.all(userIds.map((userId) => signedFetch(first, credentials, 'POST', `/v1/users/${userId}/tokens`, {})));
  const tokens = await Promise.all(issued.map(async (r) => ((await r.json()) as { userToken: { signedToken: string; tokenId: string } }).userToken));
  const revokedUsers = userIds.filter((_, i) => i % 3 === 0);
  // The writes whose answers arrive last, all at once: presences (group commits) and revocations.
  const presenceOf = (userId: string) => ({ type: `crash.state.${userId}`, timeToLive: 0 });
  const last = await Promise.all([
    ...userIds.map((userId) => signedFetch(first, credentials, 'POST', `/v1/users/${userId}/presence`, presenceOf(userId))),
    ...revokedUsers.map((userId) => signedFetch(first, credentials, 'DELETE', `/v1/users/${userId}/tokens/*`)),
  ]);
  await kill(first);
  alive = false;
  t.ok(
    last.every((r) => r.status === 200),
    'every presence and revocation was acknowledged before the kill',
  );

  const second = await startServer(database.env);
  t.teardown(() => kill(second));
  for (const [i, userId] of userIds.entries()) {
    t.equal((await signedFetch(second, credentials, 'GET', `/v1/users/${userId}`)).status, 200, `${userId} exists`);
    const presence = (
      (await (await signedFetch(second, credentials, 'GET', `/v1/users/${userId}/presence`)).json()) as Array<{ presence: { presence: unknown } }>
    )[0];
    t.same(presence?.presence.presence, presenceOf(userId), `${userId}: its presence`);
    const me = await fetch(`${second.url}/v1/users/me`, { headers: { 'x-issued-mitter-user-authorization': tokens[i]!.signedToken } });
    t.equal(me.status, revokedUsers.includes(userId) ? 401 : 200, revokedUsers.includes(userId) ? 'its token stays revoked' : 'its token works');
  }

  const stream = new StreamClient(`${second.url}/v1/events?lastEventId=0`, () => {
    const headers = signRequestHeaders({
      method: 'GET',
      path: '/v1/events',
      contentType: null,
      accessKey: credentials.accessKey,
      accessSecret: credentials.accessSecret,
      date: new Date().toUTCString(),
      nonce: randomBytes(16).toString('hex'),
    });
    return headers;
  });
  t.teardown(() => stream.close());
  const expected = userIds.length * 3 + revokedUsers.length;
  const received = await stream.until((messages) => messages.filter((m) => m.type !== 'reset').length >= expected, 'the whole log');
  const events = received.filter((m) => m.type !== 'reset');
  const presences = new Map(events.filter((e) => e.type === 'presence').map((e) => [e.data.userId, (e.data.data?.presence as { type: string }).type]));
  t.same(Object.fromEntries(presences), Object.fromEntries(userIds.map((userId) => [userId, `crash.state.${userId}`])), 'the log holds each stored presence');
  t.equal(events.filter((e) => e.type === 'user.created').length, userIds.length);
  t.same(
    events
      .filter((e) => e.type === 'token.revoked')
      .map((e) => e.data.userId)
      .sort(),
    [...revokedUsers].sort(),
    'and each revocation',
  );
});
