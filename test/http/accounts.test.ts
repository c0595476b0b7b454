// docs/social.md over HTTP: deleting one's own account (and what deletion cleans), the deletions log,
// reports and feedback, and suspension (what a suspended user can no longer do, and reinstatement).
import t, { type Test } from 'tap';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { json, memberFor, populate, type World } from '../helpers/world.ts';

interface Setup extends TestApp {
  users: World;
}

async function setup(t: Test): Promise<Setup> {
  const test = await buildTestApp(t, { presenceTimers: false });
  return { ...test, users: await populate(test, ['user-0001', 'user-0002', 'user-0003']) };
}

t.test('a user deletes its own account with a reason; the application reads the deletions log', async (t) => {
  const test = await setup(t);
  const one = test.users['user-0001']!;
  const two = test.users['user-0002']!;
  // Relations in both directions, metadata and a locator, all to be cleaned.
  await one.call('PUT', '/v1/users/me/contacts/user-0002');
  await two.call('PUT', '/v1/users/me/contacts/user-0001');
  await one.call('POST', '/v1/users/me/blocked-users/user-0003');
  await test.users['user-0003']!.call('POST', '/v1/users/me/blocked-users/user-0001');
  await one.call('POST', '/v1/users/me/metadata', { key: 'plan', value: 'gold' });
  t.equal((await test.signed('POST', '/v1/users/user-0001/locators', { body: json('email:one@example.com') })).statusCode, 200);

  const noReason = await one.call('DELETE', '/v1/users/me');
  t.equal(noReason.statusCode, 400, 'a user must say why');
  t.equal(noReason.json().diagnostics.field, 'reason');
  const long = await one.call('DELETE', '/v1/users/me', { reason: 'x'.repeat(201) });
  t.equal(long.statusCode, 400);
  t.equal(long.json().diagnostics.rule, 'maxLength');
  const feedbackTooLong = await one.call('DELETE', '/v1/users/me', { reason: 'bye', feedback: 'y'.repeat(4001) });
  t.equal(feedbackTooLong.json().diagnostics.field, 'feedback');
  t.equal((await one.call('DELETE', '/v1/users/user-0002', { reason: 'bye' })).statusCode, 403, 'not another user’s account');
  t.equal((await one.call('GET', '/v1/users/me')).statusCode, 200, 'nothing was deleted');

  t.equal((await one.call('DELETE', '/v1/users/me', { reason: 'Too many notifications', feedback: 'Loved it otherwise' })).statusCode, 200);
  t.equal((await one.call('GET', '/v1/users/me')).json().errorCode, 'claim_rejected', 'its tokens are revoked');
  test.clock.advance(1000);
  t.equal((await test.signed('DELETE', '/v1/users/user-0003')).statusCode, 200, '.system deletes another');

  const log = await test.signed('GET', '/v1/deletions');
  t.same(log.json().deletions, [
    { userId: 'user-0003', reason: null, feedback: null, deletedAtMs: test.clock.now(), by: 'system' },
    { userId: 'user-0001', reason: 'Too many notifications', feedback: 'Loved it otherwise', deletedAtMs: test.clock.now() - 1000, by: 'self' },
  ]);
  const first = await test.signed('GET', '/v1/deletions', { query: 'limit=1' });
  t.equal(first.json().deletions[0].userId, 'user-0003');
  const next = /<([^>]+)>; rel="next"/.exec(String(first.headers.link))?.[1];
  const [path, query] = next!.split('?');
  t.equal((await test.signed('GET', path!, { query: query! })).json().deletions[0].userId, 'user-0001', 'the next page');
  t.equal((await two.call('GET', '/v1/deletions')).statusCode, 403, 'the log is the application’s');

  t.same((await two.call('GET', '/v1/users/me/contacts')).json().contacts, [], 'gone from others’ contacts');
  const db = test.app.locus.db.query;
  t.same(await db.selectFrom('UserBlock').selectAll().execute(), [], 'blocks in both directions are gone');
  t.same(await db.selectFrom('UserContact').selectAll().where('contactId', '=', 'user-0001').execute(), []);
  t.same(await db.selectFrom('UserMetadata').selectAll().execute(), [], 'metadata is gone');
  t.equal(
    (await test.signed('POST', '/v1/users', { body: json({ screenName: { screenName: 'New' }, userLocators: ['email:one@example.com'] }) })).statusCode,
    200,
    'the locator is free again',
  );
  const again = await test.signed('POST', '/v1/users', { body: json({ userId: 'user-0001', screenName: { screenName: 'Again' } }) });
  t.equal(again.statusCode, 409, 'the id is quarantined');
});

t.test('reports: about another existing user, at most 20 an hour; .system reads them', async (t) => {
  const test = await setup(t);
  const one = test.users['user-0001']!;
  const two = test.users['user-0002']!;
  const report = await one.call('POST', '/v1/reports', { userId: 'user-0002', reason: 'Spam', details: 'Sent me 40 links' });
  t.equal(report.statusCode, 200);
  t.match(report.json().reportId, /^[A-Za-z0-9]{22}$/);

  const cases: Array<[unknown, number, string]> = [
    [{ userId: 'user-0001', reason: 'me' }, 400, 'userId'],
    [{ userId: 'nobody-0001', reason: 'x' }, 404, ''],
    [{ userId: 'user-0002' }, 400, 'reason'],
    [{ userId: 'user-0002', reason: '' }, 400, 'reason'],
    [{ userId: 'user-0002', reason: 'r'.repeat(201) }, 400, 'reason'],
    [{ userId: 'user-0002', reason: 'r', details: 'd'.repeat(4001) }, 400, 'details'],
    [{ userId: '.system', reason: 'r' }, 400, 'userId'],
    [[], 400, 'body'],
  ];
  for (const [body, status, field] of cases) {
    const response = await one.call('POST', '/v1/reports', body);
    t.equal(response.statusCode, status, json(body).slice(0, 50));
    if (field) t.equal(response.json().diagnostics.field, field);
  }
  t.equal((await test.signed('POST', '/v1/reports', { body: json({ userId: 'user-0002', reason: 'r' }) })).statusCode, 403, '.system does not report');

  for (let i = 1; i < 20; i++) {
    test.clock.advance(60_000);
    t.equal((await one.call('POST', '/v1/reports', { userId: 'user-0003', reason: `r${i}` })).statusCode, 200);
  }
  const limited = await one.call('POST', '/v1/reports', { userId: 'user-0003', reason: 'one too many' });
  t.equal(limited.statusCode, 429);
  t.equal(limited.json().errorCode, 'rate_limited');
  t.equal(limited.headers['retry-after'], String(60 * 60 - 19 * 60), 'until the oldest report leaves the hour');
  t.equal((await two.call('POST', '/v1/reports', { userId: 'user-0003', reason: 'r' })).statusCode, 200, 'the limit is per reporter');
  test.clock.advance(60 * 60 * 1000 - 19 * 60_000);
  t.equal((await one.call('POST', '/v1/reports', { userId: 'user-0003', reason: 'again' })).statusCode, 200, 'an hour later');

  const all = (await test.signed('GET', '/v1/reports')).json().reports;
  t.equal(all.length, 22);
  t.match(all.at(-1), { reporter: 'user-0001', userId: 'user-0002', reason: 'Spam', details: 'Sent me 40 links' });
  t.equal(all[0].reason, 'again', 'newest first');
  const aboutTwo = (await test.signed('GET', '/v1/reports', { query: 'userId=user-0002' })).json().reports;
  t.same(
    aboutTwo.map((r: { reason: string }) => r.reason),
    ['Spam'],
  );
  const page = await test.signed('GET', '/v1/reports', { query: 'limit=20&userId=user-0003' });
  t.equal(page.json().reports.length, 20);
  const next = /<([^>]+)>; rel="next"/.exec(String(page.headers.link))?.[1];
  const [path, query] = next!.split('?');
  t.equal((await test.signed('GET', path!, { query: query! })).json().reports.length, 1, 'the next page keeps the filter');
  t.equal((await one.call('GET', '/v1/reports')).statusCode, 403);
  t.equal((await test.signed('GET', '/v1/reports', { query: 'after=bogus' })).statusCode, 400);
});

t.test('feedback', async (t) => {
  const test = await setup(t);
  const one = test.users['user-0001']!;
  const sent = await one.call('POST', '/v1/feedback', { title: 'Dark mode', description: 'Please add one' });
  t.equal(sent.statusCode, 200);
  t.match(sent.json().feedbackId, /^[A-Za-z0-9]{22}$/);
  for (const [body, field] of [
    [{ description: 'x' }, 'title'],
    [{ title: '', description: 'x' }, 'title'],
    [{ title: 't'.repeat(201), description: 'x' }, 'title'],
    [{ title: 't' }, 'description'],
    [{ title: 't', description: 'd'.repeat(4001) }, 'description'],
  ] as const) {
    const response = await one.call('POST', '/v1/feedback', body);
    t.equal(response.statusCode, 400);
    t.equal(response.json().diagnostics.field, field);
  }
  const listed = (await test.signed('GET', '/v1/feedback')).json().feedback;
  t.match(listed, [{ userId: 'user-0001', title: 'Dark mode', description: 'Please add one', createdAtMs: test.clock.now() }]);
  t.equal(listed.length, 1);
});

t.test('suspension: a suspended user is blocked everywhere until reinstated', async (t) => {
  const test = await setup(t);
  await test.app.locus.applications.updateSettings(test.credentials.applicationId, ['passwordLogin=true']);
  t.equal((await test.signed('PUT', '/v1/users/user-0001/password', { body: json({ password: 'correct horse battery' }) })).statusCode, 200);
  const one = test.users['user-0001']!;
  const shortLived = await memberFor(test, 'user-0001');
  await test.signed('PATCH', `/v1/users/user-0001/tokens/${shortLived.tokenId}`, { body: json({ ttl: 60 }) });
  await one.call('POST', '/v1/users/me/presence', { type: 'mitter.up.Online', timeToLive: 0 });
  t.equal((await one.call('GET', '/v1/users/me')).statusCode, 200, 'the token works (and its state is cached)');

  const bad = await test.signed('POST', '/v1/users/user-0001/suspension', { body: json({}) });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().diagnostics.field, 'reason');
  t.equal((await test.signed('POST', '/v1/users/nobody-0001/suspension', { body: json({ reason: 'x' }) })).statusCode, 404);
  t.equal((await test.signed('POST', '/v1/users/user-0001/suspension', { body: json({ reason: 'Spamming' }) })).statusCode, 200);
  t.equal((await test.signed('POST', '/v1/users/user-0001/suspension', { body: json({ reason: 'Again' }) })).statusCode, 200, 'idempotent');

  const refused = await one.call('GET', '/v1/users/me');
  t.equal(refused.statusCode, 401, 'its tokens are refused at once');
  t.equal(refused.json().errorCode, 'claim_rejected');
  t.equal(refused.json().diagnostics.reason, 'suspended');
  t.equal((await test.signed('GET', '/v1/users/user-0001')).json().blocked, true, 'reads say blocked: true');
  t.equal((await test.users['user-0002']!.call('GET', '/v1/users/user-0001')).json().blocked, true);
  t.equal((await test.signed('GET', '/v1/users/user-0002')).json().blocked, false);
  t.same((await test.signed('GET', '/v1/users/user-0001/presence')).json()[0].presence.presence, null, 'its presence reads null');
  const issue = await test.signed('POST', '/v1/users/user-0001/tokens', { body: '{}' });
  t.equal(issue.statusCode, 403, 'no token is issued');
  t.equal(issue.json().errorCode, 'user_suspended');
  const login = await test.app.inject({
    method: 'POST',
    url: '/v1/login',
    headers: { 'content-type': 'application/json', 'x-mitter-application-id': test.credentials.applicationId },
    payload: json({ userId: 'user-0001', password: 'correct horse battery' }),
  });
  t.equal(login.statusCode, 403, 'login is refused');
  t.equal(login.json().errorCode, 'user_suspended');

  test.clock.advance(61_000);
  t.equal((await test.signed('DELETE', '/v1/users/user-0001/suspension')).statusCode, 200);
  t.equal((await test.signed('DELETE', '/v1/users/user-0001/suspension')).statusCode, 200, 'idempotent');
  t.equal((await one.call('GET', '/v1/users/me')).statusCode, 200, 'an unexpired token works again');
  t.equal((await shortLived.call('GET', '/v1/users/me')).statusCode, 401, 'one that expired meanwhile does not');
  t.equal((await test.signed('GET', '/v1/users/user-0001')).json().blocked, false);
  t.equal((await test.signed('POST', '/v1/users/user-0001/tokens', { body: '{}' })).statusCode, 200, 'tokens are issued again');

  const types = (await test.app.locus.db.query.selectFrom('Event').select('type').where('userId', '=', 'user-0001').orderBy('seq').execute()).map(
    (row) => row.type,
  );
  t.same(
    types.filter((type) => type.startsWith('user.s') || type.startsWith('user.r')),
    ['user.suspended', 'user.reinstated'],
    'one event each way',
  );
});
