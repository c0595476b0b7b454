// docs/presence.md over HTTP on a manual clock: setting and reading chained presences, validation, the
// transition schedule (each transition once and in order, re-set cancels, deletion removes),
// last seen, and restarts (persisted state, the schedule rebuilt, missed transitions published once).
import t, { type Test } from 'tap';
import { buildApp } from '../../src/app.ts';
import { MemoryBus } from '../../src/platform/bus.ts';
import { PRESENCE_TOPIC, type PresenceMessage, type Timers } from '../../src/modules/presence/service.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { ManualClock } from '../helpers/clock.ts';
import { ManualTimers } from '../helpers/timers.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/** How many presence rows the database holds (of one user, when given). */
async function presenceRows(test: TestApp, userId?: string): Promise<number> {
  let select = test.app.locus.db.query.selectFrom('UserPresence').select('userId');
  if (userId !== undefined) select = select.where('userId', '=', userId);
  return (await select.execute()).length;
}

const json = (value: unknown) => JSON.stringify(value);
const online = (ttl: number, expiresTo?: unknown) => ({ type: 'mitter.up.Online', timeToLive: ttl, ...(expiresTo ? { expiresTo } : {}) });
const away = (ttl: number, expiresTo?: unknown) => ({ type: 'mitter.up.Away', timeToLive: ttl, ...(expiresTo ? { expiresTo } : {}) });
const offline = () => ({ type: 'mitter.up.Offline', timeToLive: 0 });
/** Online for 10 s, then Away for 20 s, then Offline for good. */
const CHAIN = online(10, away(20, offline()));

interface Setup extends TestApp {
  events: PresenceMessage[];
  bus: MemoryBus;
}

/** A bus that records every presence message published on it. */
function recordingBus(): { bus: MemoryBus; events: PresenceMessage[] } {
  const bus = new MemoryBus();
  const events: PresenceMessage[] = [];
  bus.subscribe(PRESENCE_TOPIC, (message) => events.push(message as PresenceMessage));
  return { bus, events };
}

/** Another process starting on the same database (as after a restart), with its messages recorded. */
async function restartOn(t: Test, database: TestDatabase, clock: ManualClock) {
  const { bus, events } = recordingBus();
  const app = await buildApp(database.config, { logger: false, watchApplications: false, presenceTimers: false, clock, bus });
  t.teardown(() => app.close());
  return { app, events };
}

async function setup(t: Test, options: { database?: TestDatabase; clock?: ManualClock; presenceTimers?: Timers } = {}): Promise<Setup> {
  const { bus, events } = recordingBus();
  const test = await buildTestApp(t, { presenceTimers: false, bus, ...options });
  for (const userId of ['user-0001', 'user-0002', 'user-0003']) {
    const created = await test.signed('POST', '/v1/users', { body: json({ userId, screenName: { screenName: userId } }) });
    t.equal(created.statusCode, 200);
  }
  return { ...test, events, bus };
}

const setPresence = (test: TestApp, userId: string, body: unknown) => test.signed('POST', `/v1/users/${userId}/presence`, { body: json(body) });
const readPresence = async (test: TestApp, userIds: string) => (await test.signed('GET', `/v1/users/${userIds}/presence`)).json();

async function tokenFor(test: TestApp, userId: string): Promise<string> {
  const issued = await test.signed('POST', `/v1/users/${userId}/tokens`, { body: '{}' });
  return issued.json().userToken.signedToken;
}

t.test('set and read: the chain resolves at every boundary, in request order', async (t) => {
  const test = await setup(t);
  const t0 = test.clock.now();
  const set = await setPresence(test, 'user-0001', CHAIN);
  t.same({ status: set.statusCode, body: set.json() }, { status: 200, body: {} });

  const at = async (offsetMs: number) => {
    test.clock.advance(t0 + offsetMs - test.clock.now());
    return (await readPresence(test, 'user-0001'))[0].presence;
  };
  t.same(await at(0), { presence: CHAIN, setTimeMs: t0, setTime: t0 }, 'as set');
  t.same(await at(9_999), { presence: CHAIN, setTimeMs: t0, setTime: t0 }, 'still online 1 ms before the transition');
  t.same(await at(10_000), { presence: away(20, offline()), setTimeMs: t0 + 10_000, setTime: t0 + 10_000 }, 'away at the instant');
  t.same(await at(29_999), { presence: away(20, offline()), setTimeMs: t0 + 10_000, setTime: t0 + 10_000 });
  t.same(await at(30_000), { presence: offline(), setTimeMs: t0 + 30_000, setTime: t0 + 30_000 }, 'offline, static');
  t.same(await at(86_400_000), { presence: offline(), setTimeMs: t0 + 30_000, setTime: t0 + 30_000 }, 'a static link never changes');

  const t1 = test.clock.now();
  t.equal((await setPresence(test, 'user-0002', { type: 'app.Busy', timeToLive: 5 })).statusCode, 200);
  const list = await readPresence(test, 'user-0002,user-0003,user-0001,user-0002');
  t.same(
    list,
    [
      { userId: { identifier: 'user-0002' }, presence: { presence: { type: 'app.Busy', timeToLive: 5 }, setTimeMs: t1, setTime: t1 } },
      { userId: { identifier: 'user-0003' }, presence: { presence: null, setTimeMs: null, setTime: null } },
      { userId: { identifier: 'user-0001' }, presence: { presence: offline(), setTimeMs: t0 + 30_000, setTime: t0 + 30_000 } },
      { userId: { identifier: 'user-0002' }, presence: { presence: { type: 'app.Busy', timeToLive: 5 }, setTimeMs: t1, setTime: t1 } },
    ],
    'request order; never set is null',
  );
  test.clock.advance(5_000);
  t.same((await readPresence(test, 'user-0002'))[0].presence, { presence: null, setTimeMs: null, setTime: null }, 'a chain that ran out reads as none');

  const unknown = await test.signed('GET', '/v1/users/user-0001,nobody-0001,nobody-0002/presence');
  t.match(
    { status: unknown.statusCode, body: unknown.json() },
    { status: 404, body: { errorCode: 'entity_not_found', diagnostics: { entityLocator: 'nobody-0001,nobody-0002' } } },
  );
  t.equal((await setPresence(test, 'nobody-0001', CHAIN)).statusCode, 404, 'setting an unknown user is a 404');
  t.equal((await readPresence(test, Array.from({ length: 100 }, () => 'user-0001').join(','))).length, 100, '100 ids');
  const tooMany = await test.signed('GET', `/v1/users/${Array.from({ length: 101 }, () => 'user-0001').join(',')}/presence`);
  t.match(tooMany.json(), { errorCode: 'invalid_entity', diagnostics: { rule: 'maxItems' } });
  t.match((await test.signed('GET', '/v1/users/user-0001,short/presence')).json(), { errorCode: 'invalid_entity', diagnostics: { field: 'userIds[1]' } });
  t.match(
    (await test.signed('GET', '/v1/users/short/last-seen')).json(),
    { errorCode: 'invalid_entity', diagnostics: { field: 'userIds[0]' } },
    'last seen checks its ids too',
  );
  t.match((await test.signed('GET', '/v1/users/user-0001,nobody-0001/last-seen')).json(), {
    errorCode: 'entity_not_found',
    diagnostics: { entityLocator: 'nobody-0001' },
  });
});

t.test('links after a static one are dropped; ttl absent means static', async (t) => {
  const test = await setup(t);
  t.equal((await setPresence(test, 'user-0001', { type: 'mitter.up.Online', timeToLive: 0, expiresTo: away(5) })).statusCode, 200);
  t.same((await readPresence(test, 'user-0001'))[0].presence.presence, online(0));
  t.equal((await setPresence(test, 'user-0001', { type: 'mitter.up.Sleeping', extra: 'ignored' })).statusCode, 200);
  test.clock.advance(365 * 86_400_000);
  t.same((await readPresence(test, 'user-0001'))[0].presence.presence, { type: 'mitter.up.Sleeping', timeToLive: 0 });
});

t.test('validation: every rule is a 400 invalid_entity naming the field', async (t) => {
  const test = await setup(t);
  let deep: Record<string, unknown> = { type: 'link-17', timeToLive: 1 };
  for (let i = 16; i >= 1; i--) deep = { type: `link-${i}`, timeToLive: 1, expiresTo: deep };
  const sixteen = (() => {
    let chain: Record<string, unknown> = { type: 'link-16', timeToLive: 0 };
    for (let i = 15; i >= 1; i--) chain = { type: `link-${i}`, timeToLive: 1, expiresTo: chain };
    return chain;
  })();
  t.equal((await setPresence(test, 'user-0001', sixteen)).statusCode, 200, '16 links are allowed');
  const cases: Array<[string, unknown, Record<string, unknown>]> = [
    ['17 links', deep, { field: `${Array(16).fill('expiresTo').join('.')}`, rule: 'maxDepth', maxLinks: 16 }],
    ['no type', { timeToLive: 5 }, { field: 'type', rule: 'type' }],
    ['empty type', { type: '' }, { field: 'type', rule: 'length' }],
    ['129 characters', { type: 'x'.repeat(129) }, { field: 'type', rule: 'length' }],
    ['a number type', { type: 5 }, { field: 'type', rule: 'type' }],
    ['NUL', { type: 'a\u0000b' }, { field: 'type', rule: 'encoding' }],
    ['negative ttl', { type: 'a', timeToLive: -1 }, { field: 'timeToLive', rule: 'type' }],
    ['fractional ttl', { type: 'a', timeToLive: 1.5 }, { field: 'timeToLive', rule: 'type' }],
    ['string ttl', { type: 'a', timeToLive: '5' }, { field: 'timeToLive', rule: 'type' }],
    ['nested bad type', online(5, away(5, { type: 7 })), { field: 'expiresTo.expiresTo.type', rule: 'type' }],
    ['nested not an object', online(5, 'away'), { field: 'expiresTo', rule: 'type' }],
    ['an array', [online(5)], { field: 'presence', rule: 'type' }],
  ];
  for (const [name, body, diagnostics] of cases) {
    const response = await setPresence(test, 'user-0001', body);
    t.match({ status: response.statusCode, body: response.json() }, { status: 400, body: { errorCode: 'invalid_entity', diagnostics } }, name);
  }
  t.equal((await readPresence(test, 'user-0001'))[0].presence.presence.type, 'link-1', 'refused writes changed nothing');
  const empty = await test.signed('POST', '/v1/users/user-0001/presence', { body: '', contentType: 'application/json' });
  t.match({ status: empty.statusCode, body: empty.json() }, { status: 400, body: { errorCode: 'invalid_entity', diagnostics: { rule: 'required' } } });
});

t.test('who: .system any user, a user only itself; .system has no presence', async (t) => {
  const test = await setup(t);
  const token = await tokenFor(test, 'user-0001');
  const asUser = (method: 'GET' | 'POST', url: string, body?: unknown) =>
    test.app.inject({
      method,
      url,
      headers: { 'x-issued-mitter-user-authorization': token, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { payload: json(body) } : {}),
    });
  t.equal((await asUser('POST', '/v1/users/me/presence', CHAIN)).statusCode, 200, 'a user sets its own (me)');
  t.equal((await asUser('POST', '/v1/users/user-0001/presence', CHAIN)).statusCode, 200, 'by id');
  t.match((await asUser('POST', '/v1/users/user-0002/presence', CHAIN)).json(), { errorCode: 'missing_privilege' }, 'not another user’s');
  const read = await asUser('GET', '/v1/users/me,user-0002/presence');
  t.same(
    read.json().map((r: { userId: { identifier: string } }) => r.userId.identifier),
    ['user-0001', 'user-0002'],
    'a user reads others',
  );
  t.match((await setPresence(test, 'me', CHAIN)).json(), { errorCode: 'missing_context' }, '.system has no presence of its own');
  t.equal((await test.app.inject({ method: 'GET', url: '/v1/users/user-0001/presence' })).statusCode, 401, '.anonymous');
});

t.test('transitions: each once and in order, on the due time, even when nobody reads', async (t) => {
  const test = await setup(t);
  const t0 = test.clock.now();
  await setPresence(test, 'user-0001', CHAIN);
  t.same(
    test.events.map((e) => [e.cause, e.presence?.type, e.setTimeMs]),
    [['set', 'mitter.up.Online', t0]],
  );
  test.events.length = 0;

  test.clock.advance(9_999);
  t.equal(await test.app.locus.presence.runDue(), 0, 'nothing before the due time');
  test.clock.advance(1);
  t.equal(await test.app.locus.presence.runDue(), 1);
  t.equal(await test.app.locus.presence.runDue(), 0, 'once');
  test.clock.advance(20_000);
  await test.app.locus.presence.runDue();
  t.same(
    test.events.map((e) => ({ userId: e.userId, cause: e.cause, type: e.presence?.type, setTimeMs: e.setTimeMs })),
    [
      { userId: 'user-0001', cause: 'transition', type: 'mitter.up.Away', setTimeMs: t0 + 10_000 },
      { userId: 'user-0001', cause: 'transition', type: 'mitter.up.Offline', setTimeMs: t0 + 30_000 },
    ],
  );
  t.equal(await test.app.locus.presence.scheduled(), 0, 'a static link leaves nothing scheduled');

  test.events.length = 0;
  const t1 = test.clock.now();
  await setPresence(test, 'user-0002', online(1, away(1, { type: 'mitter.up.Missing', timeToLive: 1 })));
  test.events.length = 0;
  test.clock.advance(60_000);
  await test.app.locus.presence.runDue();
  t.same(
    test.events.map((e) => [e.presence?.type ?? null, e.setTimeMs - t1]),
    [
      ['mitter.up.Away', 1_000],
      ['mitter.up.Missing', 2_000],
      [null, 3_000],
    ],
    'a late run publishes every missed link, in order, with its own time; the chain running out too',
  );
});

t.test('a re-set cancels the pending transition; deleting the user removes its presence and schedule', async (t) => {
  const test = await setup(t);
  await setPresence(test, 'user-0001', CHAIN);
  test.clock.advance(5_000);
  await setPresence(test, 'user-0001', online(0));
  t.equal(await test.app.locus.presence.scheduled(), 0);
  test.events.length = 0;
  test.clock.advance(60_000);
  t.equal(await test.app.locus.presence.runDue(), 0, 'the cancelled transition never fires');

  await setPresence(test, 'user-0002', CHAIN);
  await test.app.locus.presence.flush();
  t.equal(await presenceRows(test, 'user-0002'), 1);
  t.equal((await test.signed('DELETE', '/v1/users/user-0002')).statusCode, 200);
  t.equal(await test.app.locus.presence.scheduled(), 0, 'unscheduled');
  test.clock.advance(10_000);
  t.equal(await test.app.locus.presence.runDue(), 0);
  t.equal(await test.app.locus.kv.get(`presence:${test.credentials.applicationId}:user-0002`), null, 'gone from kv');
  t.equal(await presenceRows(test, 'user-0002'), 0, 'gone from the database');
  t.equal((await test.signed('GET', '/v1/users/user-0002/presence')).statusCode, 404);
});

t.test('a write behind racing a deletion cannot bring the presence back', async (t) => {
  const test = await setup(t);
  await setPresence(test, 'user-0003', CHAIN);
  // Delete the user row underneath the pending batch, as a concurrent deletion would.
  await test.app.locus.db.query.deleteFrom('User').where('userId', '=', 'user-0003').execute();
  await test.app.locus.presence.flush();
  t.equal(await presenceRows(test), 0, 'the batch skipped the deleted user (and did not fail)');
  await setPresence(test, 'user-0001', CHAIN);
  await test.app.locus.presence.flush();
  t.equal(await presenceRows(test), 1, 'later batches still write');
});

t.test('last seen: online now, or when the user stopped being online (including by transition)', async (t) => {
  const test = await setup(t);
  const lastSeen = async () => (await test.signed('GET', '/v1/users/user-0001,user-0003/last-seen')).json();
  t.same(await lastSeen(), [
    { userId: { identifier: 'user-0001' }, online: false, lastSeenMs: null },
    { userId: { identifier: 'user-0003' }, online: false, lastSeenMs: null },
  ]);
  const t0 = test.clock.now();
  await setPresence(test, 'user-0001', CHAIN);
  test.clock.advance(5_000);
  t.match((await lastSeen())[0], { online: true, lastSeenMs: t0 + 5_000 }, 'now, while online');
  test.clock.advance(10_000);
  t.match((await lastSeen())[0], { online: false, lastSeenMs: t0 + 10_000 }, 'the transition to Away');
  await setPresence(test, 'user-0001', away(0));
  t.match((await lastSeen())[0], { online: false, lastSeenMs: t0 + 10_000 }, 'carried over a new presence');
  await setPresence(test, 'user-0001', online(0));
  test.clock.advance(7_000);
  await setPresence(test, 'user-0001', offline());
  t.match((await lastSeen())[0], { online: false, lastSeenMs: t0 + 22_000 }, 'replacing an online presence ends it');

  await test.app.locus.applications.updateSettings(test.credentials.applicationId, ['onlineTypes=mitter.up.Online,app.Busy']);
  await setPresence(test, 'user-0003', { type: 'app.Busy', timeToLive: 0 });
  t.match((await lastSeen())[1], { online: true, lastSeenMs: test.clock.now() }, 'onlineTypes decides what is online');
});

t.test('restart: state persists, the schedule resumes mid-chain, missed transitions are published once', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const clock = new ManualClock();
  const first = await setup(t, { database, clock });
  const t0 = clock.now();
  await setPresence(first, 'user-0001', CHAIN);
  await setPresence(first, 'user-0002', CHAIN);
  await setPresence(first, 'user-0003', online(0));
  clock.advance(5_000);
  await first.app.locus.presence.runDue();
  await first.app.close(); // writes what is pending: nothing acknowledged is lost

  const reopen = () => restartOn(t, database, clock);

  // Back before the first transition: nothing missed; the schedule resumes.
  const second = await reopen();
  t.same(second.events, [], 'nothing was missed');
  t.equal(await second.app.locus.presence.scheduled(), 2);
  const applicationId = first.credentials.applicationId;
  t.same(
    (await second.app.locus.presence.read(applicationId, ['user-0001', 'user-0003'])).map((r) => [r.presence?.type, r.setTimeMs]),
    [
      ['mitter.up.Online', t0],
      ['mitter.up.Online', t0],
    ],
  );
  clock.advance(5_000);
  await second.app.locus.presence.runDue();
  t.same(
    second.events.map((e) => [e.userId, e.presence?.type, e.setTimeMs]),
    [
      ['user-0001', 'mitter.up.Away', t0 + 10_000],
      ['user-0002', 'mitter.up.Away', t0 + 10_000],
    ],
  );
  t.match((await second.app.locus.presence.lastSeen(applicationId, ['user-0001']))[0], { online: false, lastSeenMs: t0 + 10_000 });
  await second.app.close();

  // Down across the next transition (Offline at t0 + 30 s): published once at start, with its own time.
  clock.advance(60_000);
  const third = await reopen();
  t.same(
    third.events.map((e) => [e.userId, e.presence?.type, e.setTimeMs]),
    [
      ['user-0001', 'mitter.up.Offline', t0 + 30_000],
      ['user-0002', 'mitter.up.Offline', t0 + 30_000],
    ],
  );
  t.equal(await third.app.locus.presence.scheduled(), 0);
  await third.app.close();
  const fourth = await reopen();
  t.same(fourth.events, [], 'and never again');
  t.match(
    (await fourth.app.locus.presence.lastSeen(applicationId, ['user-0001']))[0],
    { online: false, lastSeenMs: t0 + 10_000 },
    'last seen survives restarts',
  );
});

t.test('a process that dies before its first batch: the transitions it never published come at the next start', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const clock = new ManualClock();
  const crashed = await setup(t, { database, clock });
  const t0 = clock.now();
  await setPresence(crashed, 'user-0001', CHAIN);
  await crashed.app.locus.presence.flush(); // the presence is stored; no transition has fired yet
  clock.advance(15_000); // ...and this process never runs its schedule again (it "died")

  const { app: next, events } = await restartOn(t, database, clock);
  t.same(
    events.map((e) => [e.userId, e.presence?.type, e.setTimeMs]),
    [['user-0001', 'mitter.up.Away', t0 + 10_000]],
  );
  t.equal(await next.locus.presence.scheduled(), 1, 'and Offline is scheduled');
});

t.test('the timers: transitions publish within 1 s of their due time and sets reach the database, unasked', async (t) => {
  const clock = new ManualClock();
  const timers = new ManualTimers(clock);
  const test = await setup(t, { clock, presenceTimers: timers });
  const published: Array<{ type: string | null; setTimeMs: number; at: number }> = [];
  test.bus.subscribe(PRESENCE_TOPIC, (message) => {
    const m = message as PresenceMessage;
    if (m.cause === 'transition') published.push({ type: m.presence?.type ?? null, setTimeMs: m.setTimeMs, at: clock.now() });
  });
  const t0 = clock.now();
  await setPresence(test, 'user-0001', CHAIN);
  await setPresence(test, 'user-0002', online(3, away(4)));

  await timers.advance(50_000, 250);
  t.same(
    published.map((p) => [p.type, p.setTimeMs - t0]),
    [
      ['mitter.up.Away', 3_000],
      [null, 7_000],
      ['mitter.up.Away', 10_000],
      ['mitter.up.Offline', 30_000],
    ],
    'every transition, once, in due order',
  );
  for (const p of published) t.ok(p.at - p.setTimeMs >= 0 && p.at - p.setTimeMs <= 1_000, `published ${p.at - p.setTimeMs} ms after due`);
  t.equal(await presenceRows(test), 2, 'the write-behind batch ran by itself');
  t.ok(timers.pending.size <= 2, 'at most the transition timer and the batch timer are pending');
});
