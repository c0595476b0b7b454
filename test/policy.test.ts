// SPEC §1.1: every route names a policy action, unknown actions fail closed, and the decisions
// per principal kind are the table's.
import t from 'tap';
import { authorize } from '../src/policy/authorize.ts';
import { RULES, isAction } from '../src/policy/rules.ts';
import type { Principal } from '../src/auth/principal.ts';
import { buildTestApp } from './helpers/app.ts';

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
  t.ok(routes.some((r) => r.url === '/docs' && r.action === 'docs.read'), 'the docs UI routes are covered too');
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
  // [action, .system, sudo user, .anonymous]
  const expected: Array<[keyof typeof RULES, boolean, boolean, boolean]> = [
    ['health.read', true, true, true],
    ['docs.read', true, true, true],
    ['applications.whoami', true, true, false],
  ];
  t.equal(expected.length, Object.keys(RULES).length, 'every rule is in this table');
  for (const [action, sys, user, anon] of expected) {
    t.equal(authorize(system, action).allowed, sys, `${action} .system`);
    t.equal(authorize(sudoUser, action).allowed, user, `${action} sudo user`);
    t.equal(authorize(anonymous, action).allowed, anon, `${action} .anonymous`);
  }
  const denied = authorize(anonymous, 'applications.whoami');
  t.match(denied, { allowed: false, error: { code: 'authorization_exception' } });
});

t.test('the echo route over HTTP, per principal', async (t) => {
  const { app, signed, credentials } = await buildTestApp(t);
  await app.locus.db.user.create({ data: { id: 'i-1', applicationId: credentials.applicationId, userId: 'user-0001', screenName: 'U' } });
  t.equal((await signed('GET', '/v1/test/application/by/accesskey')).statusCode, 200, '.system');
  t.equal((await signed('GET', '/v1/test/application/by/accesskey', { headers: { 'x-mitter-sudo-user-id': 'user-0001' } })).statusCode, 200, 'sudo user');
  t.equal((await app.inject({ method: 'GET', url: '/v1/test/application/by/accesskey' })).statusCode, 401, '.anonymous');
  t.equal(
    (await app.inject({ method: 'GET', url: '/v1/test/application/by/accesskey', headers: { 'x-mitter-application-id': credentials.applicationId } })).statusCode,
    401,
    '.anonymous naming its application',
  );
});
