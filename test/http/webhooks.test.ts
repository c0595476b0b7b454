// docs/events.md webhooks against a real local receiver: endpoints managed by the CLI, each event POSTed
// as JSON with a valid HMAC-SHA256 signature, retried with backoff on a manual clock (no test waits
// for a backoff), delivered in order per user while other users' events go on, delivery state in
// `webhook list`, resumed after a restart, abandoned after 24 h.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import t, { type Test } from 'tap';
import { runCli } from '../../src/cli.ts';
import { buildApp } from '../../src/app.ts';
import { verifyWebhookSignature } from '../../src/modules/webhooks/signature.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { ManualClock } from '../helpers/clock.ts';
import { ManualTimers } from '../helpers/timers.ts';

const json = (value: unknown) => JSON.stringify(value);

interface Delivery {
  headers: IncomingMessage['headers'];
  body: string;
  event: { id: string; type: string; userId?: string; data: Record<string, unknown> };
  status: number;
}

/** A receiver that answers each delivery with `respond(event, attempt)` and records everything. */
async function receiver(t: Test, respond: (event: Delivery['event'], attempt: number) => number) {
  const deliveries: Delivery[] = [];
  const attempts = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const event = JSON.parse(body) as Delivery['event'];
      const attempt = (attempts.get(event.id) ?? 0) + 1;
      attempts.set(event.id, attempt);
      const status = respond(event, attempt);
      deliveries.push({ headers: request.headers, body, event, status });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hooks`;
  return { url, deliveries, accepted: () => deliveries.filter((d) => d.status < 300) };
}

async function cli(test: TestApp, ...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { env: test.database.env, stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}

async function setup(t: Test, clock = new ManualClock()) {
  const timers = new ManualTimers(clock);
  const test = await buildTestApp(t, { clock, eventTimers: timers, presenceTimers: false });
  for (const userId of ['user-0001', 'user-0002']) {
    t.equal((await test.signed('POST', '/v1/users', { body: json({ userId, screenName: { screenName: userId } }) })).statusCode, 200);
  }
  const rename = (userId: string, screenName: string) => test.signed('PUT', `/v1/users/${userId}/screenname`, { body: json({ screenName }) });
  /** Lets deliveries triggered so far finish. */
  const settle = () => test.app.locus.webhooks.settle();
  return { ...test, timers, rename, settle };
}

t.test('webhook add / list / remove through the CLI, and what it refuses', async (t) => {
  const test = await setup(t);
  const appId = test.credentials.applicationId;
  const added = await cli(test, 'webhook', 'add', appId, 'https://hooks.example.com/locus', '--types', 'presence,user.deleted', '--json');
  t.equal(added.code, 0, added.stderr);
  const hook = added.json();
  t.match(hook, { applicationId: appId, url: 'https://hooks.example.com/locus', types: ['presence', 'user.deleted'], secret: /^whsec_[A-Za-z0-9_-]{43}$/ });
  const text = await cli(test, 'webhook', 'add', appId, 'http://127.0.0.1:9/x');
  t.equal(text.code, 0);
  t.match(text.stdout, /secret: whsec_/);

  const listed = await cli(test, 'webhook', 'list', appId, '--json');
  t.equal(listed.json().length, 2);
  t.match(listed.json()[0], { id: hook.webhookId, delivered: 0, failedAttempts: 0, abandoned: 0, pending: 0, lastError: null });
  t.notMatch(listed.stdout, /whsec_|secretSealed/, 'the secret is never listed');
  const stored = await test.app.locus.db.query.selectFrom('Webhook').select('secretSealed').where('id', '=', hook.webhookId).executeTakeFirstOrThrow();
  t.notMatch(stored.secretSealed, hook.secret.slice(6), 'stored sealed');

  for (const [url, why] of [
    ['http://hooks.example.com/x', 'plain http to a public host'],
    ['ftp://127.0.0.1/x', 'not http(s)'],
    ['https://user:pw@hooks.example.com/x', 'credentials in the URL'],
    ['not a url', 'not a URL'],
  ] as const) {
    const refused = await cli(test, 'webhook', 'add', appId, url);
    t.equal(refused.code, 1, why);
  }
  t.equal((await cli(test, 'webhook', 'add', appId, 'https://h.example.com', '--types', 'nope')).code, 1, 'unknown type');
  t.equal((await cli(test, 'webhook', 'add', 'AAAAA-BBBBB-CCCCC-DDDDD', 'https://h.example.com')).code, 1, 'unknown application');
  t.equal((await cli(test, 'webhook', 'remove', 'AAAAA-BBBBB-CCCCC-DDDDD', hook.webhookId)).code, 1, 'another application cannot remove it');
  t.equal((await cli(test, 'webhook', 'remove', appId, hook.webhookId)).code, 0);
  t.equal((await cli(test, 'webhook', 'list', appId, '--json')).json().length, 1);
  t.equal((await cli(test, 'webhook', 'remove', appId, hook.webhookId)).code, 1, 'removing twice');
});

t.test('a failing receiver gets the event on the third attempt, signed; order per user holds, other users go on', async (t) => {
  const test = await setup(t);
  // user-0001's first event fails twice; everything else is accepted at once.
  let failFirst = '';
  const hooks = await receiver(t, (event, attempt) => (event.id === failFirst && attempt <= 2 ? 500 : 200));
  const added = (await cli(test, 'webhook', 'add', test.credentials.applicationId, hooks.url, '--json')).json();
  await test.app.locus.webhooks.reload();

  failFirst = String((await test.app.locus.events.position(test.credentials.applicationId)).last + 1);
  await test.rename('user-0001', 'one-a');
  await test.rename('user-0001', 'one-b');
  await test.rename('user-0002', 'two-a');
  await test.rename('user-0001', 'one-c');
  await test.settle();

  t.same(
    hooks.accepted().map((d) => d.event.data.screenName),
    ['two-a'],
    'user-0002 is not held up; user-0001 waits behind its failing event',
  );
  t.equal(hooks.deliveries.filter((d) => d.event.id === failFirst).length, 1, 'one attempt so far');

  // Backoff: 1 s, then 2 s. Nothing is sent before it is due.
  await test.timers.advance(999, 999);
  await test.settle();
  t.equal(hooks.deliveries.filter((d) => d.event.id === failFirst).length, 1, 'not before the backoff');
  await test.timers.advance(1, 1);
  await test.settle();
  t.equal(hooks.deliveries.filter((d) => d.event.id === failFirst).length, 2, 'second attempt after 1 s');
  await test.timers.advance(2_000, 500);
  await test.settle();

  const accepted = hooks.accepted();
  t.same(
    accepted.map((d) => d.event.data.screenName),
    ['two-a', 'one-a', 'one-b', 'one-c'],
    'the third attempt succeeded, then the rest of the lane in order',
  );
  const first = accepted[1] as Delivery;
  t.equal(first.event.id, failFirst);
  t.equal(first.headers['content-type'], 'application/json');
  t.equal(first.headers['x-locus-event-id'], failFirst);
  t.equal(first.headers['x-locus-event-type'], 'user.screenname');
  t.equal(first.headers['x-locus-webhook-id'], added.webhookId);
  const nowSeconds = Math.floor(test.clock.now() / 1000);
  t.ok(verifyWebhookSignature(added.secret, first.headers['x-locus-signature'] as string, first.body, nowSeconds), 'a valid signature');
  t.notOk(verifyWebhookSignature(added.secret, first.headers['x-locus-signature'] as string, `${first.body} `, nowSeconds), 'over the exact body');
  t.notOk(verifyWebhookSignature('whsec_other', first.headers['x-locus-signature'] as string, first.body, nowSeconds), 'with this secret');
  t.notOk(verifyWebhookSignature(added.secret, first.headers['x-locus-signature'] as string, first.body, nowSeconds + 3_600), 'and recent');

  const [state] = (await cli(test, 'webhook', 'list', test.credentials.applicationId, '--json')).json();
  t.match(state, { delivered: 4, failedAttempts: 2, abandoned: 0, pending: 0, lastError: 'HTTP 500', cursor: String(Number(failFirst) + 3) });
});

t.test('a restart resumes after the stored cursor; events 24 h old are abandoned', async (t) => {
  const clock = new ManualClock();
  const test = await setup(t, clock);
  let down = false;
  const hooks = await receiver(t, () => (down ? 503 : 204));
  const appId = test.credentials.applicationId;
  await cli(test, 'webhook', 'add', appId, hooks.url, '--types', 'user.screenname');
  await test.app.locus.webhooks.reload();

  await test.rename('user-0001', 'before');
  await test.settle();
  t.same(
    hooks.accepted().map((d) => d.event.data.screenName),
    ['before'],
  );
  await test.app.close();

  // Changes while no server runs are delivered by the next one, and only those.
  const timers = new ManualTimers(clock);
  const next = await buildApp(test.database.config, { logger: false, watchApplications: false, presenceTimers: false, eventTimers: timers, clock });
  await next.locus.users.setScreenName(appId, 'user-0002', 'while-down');
  await next.locus.webhooks.reload();
  await next.locus.webhooks.settle();
  t.same(
    hooks.accepted().map((d) => d.event.data.screenName),
    ['before', 'while-down'],
    'nothing delivered twice, nothing missed',
  );

  // A receiver that stays down: retried with backoff until the event is a day old, then abandoned.
  down = true;
  await next.locus.users.setScreenName(appId, 'user-0001', 'lost');
  await next.locus.webhooks.settle();
  await timers.advance(25 * 60 * 60 * 1000, 60_000);
  await next.locus.webhooks.settle();
  const attempts = hooks.deliveries.filter((d) => d.event.data.screenName === 'lost').length;
  t.ok(attempts >= 10 && attempts <= 40, `retried ${attempts} times over the day, backing off to at most hourly`);
  const [state] = (await (async () => {
    let stdout = '';
    await runCli(['webhook', 'list', appId, '--json'], { env: test.database.env, stdout: (s) => (stdout += s), stderr: () => undefined });
    return JSON.parse(stdout);
  })()) as Array<Record<string, unknown>>;
  t.match(state, { delivered: 2, abandoned: 1, pending: 0, lastError: 'HTTP 503' });
  down = false;
  await next.locus.users.setScreenName(appId, 'user-0001', 'after');
  await next.locus.webhooks.settle();
  t.equal(hooks.accepted().at(-1)?.event.data.screenName, 'after', 'the lane moved on');
  await next.close();
});

t.test('the social events reach webhooks: block.changed, contacts.changed, user.suspended, user.reinstated', async (t) => {
  const test = await setup(t);
  const hooks = await receiver(t, () => 200);
  const types = 'block.changed,contacts.changed,user.suspended,user.reinstated';
  t.equal((await cli(test, 'webhook', 'add', test.credentials.applicationId, hooks.url, '--types', types)).code, 0, 'the new types are known');
  await test.app.locus.webhooks.reload();
  await test.signed('POST', '/v1/users/user-0001/blocked-users/user-0002');
  await test.signed('PUT', '/v1/users/user-0001/contacts/user-0002');
  await test.signed('POST', '/v1/users/user-0002/suspension', { body: json({ reason: 'spam' }) });
  await test.signed('DELETE', '/v1/users/user-0002/suspension');
  await test.rename('user-0001', 'not delivered: another type');
  await test.settle();
  // Delivery is ordered per user, so compare in log order.
  const delivered = hooks.accepted().sort((a, b) => Number(a.event.id) - Number(b.event.id));
  t.same(
    delivered.map((d) => [d.event.type, d.event.userId, d.event.data]),
    [
      ['block.changed', 'user-0001', { blocker: 'user-0001', blockedUser: 'user-0002', active: true }],
      ['contacts.changed', 'user-0001', { added: ['user-0002'], removed: [] }],
      ['user.suspended', 'user-0002', { reason: 'spam' }],
      ['user.reinstated', 'user-0002', {}],
    ],
  );
});
