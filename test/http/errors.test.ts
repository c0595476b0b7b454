// docs/api.md: one error body everywhere, the right 4xx for every kind of bad input, never a 500.
import t, { type Test } from 'tap';
import { Type } from 'typebox';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildTestApp } from '../helpers/app.ts';

/** A route with a body, query and path schema, declared on the test's app only. */
function addProbeRoute(app: FastifyInstance) {
  app.post(
    '/probe/:itemId',
    {
      config: { action: 'applications.whoami' },
      schema: {
        params: Type.Object({ itemId: Type.String({ pattern: '^[a-z]{3,8}$' }) }),
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) }),
        body: Type.Object({ screenName: Type.String({ minLength: 1 }), nested: Type.Optional(Type.Object({ count: Type.Integer() })) }),
      },
    },
    async (request) => ({ received: request.body }),
  );
}

function expectError(t: Test, response: LightMyRequestResponse, status: number, code: string) {
  t.equal(response.statusCode, status, `status ${status}`);
  t.match(response.headers['content-type'], /application\/json/);
  const body = response.json();
  t.equal(body.errorCode, code, `errorCode ${code}`);
  t.equal(body.error_code, code);
  t.type(body.message, 'string');
  t.type(body.timestamp, 'number');
  return body;
}

t.test('unknown routes and methods are a 404 with the error body', async (t) => {
  const { app } = await buildTestApp(t);
  expectError(t, await app.inject({ method: 'GET', url: '/v1/nothing/here' }), 404, 'entity_not_found');
  expectError(t, await app.inject({ method: 'DELETE', url: '/healthz' }), 404, 'entity_not_found');
  const long = await app.inject({ method: 'GET', url: `/${'x'.repeat(5000)}` });
  t.ok(long.json().message.length < 400, 'long paths are not echoed whole');
});

t.test('body errors after authentication', async (t) => {
  const { app, signed } = await buildTestApp(t);
  addProbeRoute(app);
  const ok = await signed('POST', '/probe/abc', { body: '{"screenName":"Alice"}', query: 'limit=5' });
  t.equal(ok.statusCode, 200);
  t.same(ok.json(), { received: { screenName: 'Alice' } });

  expectError(t, await signed('POST', '/probe/abc', { body: '{"screenName":' }), 400, 'invalid_input_syntax');
  expectError(t, await signed('POST', '/probe/abc', { body: '{"__proto__":{"x":1},"screenName":"a"}' }), 400, 'invalid_input_syntax');

  const missing = expectError(t, await signed('POST', '/probe/abc', { body: '{}' }), 400, 'invalid_entity');
  t.match(missing.diagnostics, { field: 'screenName', location: 'body', rule: 'required' });
  const wrongType = expectError(t, await signed('POST', '/probe/abc', { body: '{"screenName":"a","nested":{"count":"many"}}' }), 400, 'invalid_entity');
  t.match(wrongType.diagnostics, { field: 'nested.count', location: 'body', rule: 'type' });
  const badPath = expectError(t, await signed('POST', '/probe/ABC', { body: '{"screenName":"a"}' }), 400, 'invalid_entity');
  t.match(badPath.diagnostics, { field: 'itemId', location: 'path', rule: 'pattern' });
  const badQuery = expectError(t, await signed('POST', '/probe/abc', { body: '{"screenName":"a"}', query: 'limit=1000' }), 400, 'invalid_entity');
  t.match(badQuery.diagnostics, { field: 'limit', location: 'query', rule: 'maximum' });
  const emptyBody = expectError(t, await signed('POST', '/probe/abc', { body: '', contentType: 'application/json' }), 400, 'invalid_entity');
  t.match(emptyBody.diagnostics, { location: 'body' });
});

t.test('an unauthenticated caller gets 401 before any body error', async (t) => {
  const { app } = await buildTestApp(t);
  addProbeRoute(app);
  const response = await app.inject({ method: 'POST', url: '/probe/abc', payload: '{"broken', headers: { 'content-type': 'application/json' } });
  expectError(t, response, 401, 'authorization_exception');
});

t.test('size and media type limits', async (t) => {
  const { app, signed } = await buildTestApp(t);
  addProbeRoute(app);
  const big = JSON.stringify({ screenName: 'x'.repeat(1024 * 1024) });
  expectError(t, await signed('POST', '/probe/abc', { body: big }), 413, 'payload_too_large');
  const justUnder = JSON.stringify({ screenName: 'x'.repeat(1024 * 1024 - 100) });
  t.equal((await signed('POST', '/probe/abc', { body: justUnder })).statusCode, 200, 'a body just under 1 MiB is fine');
  expectError(t, await signed('POST', '/probe/abc', { body: 'screenName=x', contentType: 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type');
  expectError(t, await signed('POST', '/probe/abc', { body: '{"screenName":"a"}', contentType: 'text/plain' }), 415, 'unsupported_media_type');
  t.equal(
    (await signed('POST', '/probe/abc', { body: '{"screenName":"a"}', contentType: 'application/json; charset=utf-8' })).statusCode,
    200,
    'charset parameter accepted',
  );
});

t.test('handler failures are a 500 with no internals', async (t) => {
  const { app } = await buildTestApp(t);
  app.get('/boom', { config: { action: 'health.read' } }, async () => {
    throw new Error('secret internal detail at /srv/locus/db.ts:42');
  });
  const body = expectError(t, await app.inject({ method: 'GET', url: '/boom' }), 500, 'unknown_error');
  t.notMatch(JSON.stringify(body), /secret internal detail|db\.ts/);
  t.type(body.diagnostics?.requestId, 'string');
});

t.test('no input produces a 500', async (t) => {
  const { app, signedHeaders } = await buildTestApp(t);
  addProbeRoute(app);
  const paths = ['/probe/abc', '/probe/%ZZ', '/v1/test/application/by/accesskey', '/healthz', '/probe/abc?limit=abc', '/%00', '/probe/abc?limit[]=1&limit[]=2'];
  const bodies = ['', '{}', '[]', 'null', '"x"', '{"screenName":null}', '\u0000\u0001', '{"screenName":"a".', '9'.repeat(400), '{"a":'.repeat(2000)];
  const contentTypes = [undefined, 'application/json', 'text/plain', 'application/json; charset=latin1', ''];
  let seed = 7;
  const pick = <T>(items: T[]): T => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return items[seed % items.length] as T;
  };
  for (let i = 0; i < 120; i += 1) {
    const method = pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']);
    const url = pick(paths);
    const body = pick(bodies);
    const contentType = pick(contentTypes);
    const signedRequest = pick([true, false]);
    const headers: Record<string, string> = signedRequest ? signedHeaders(method, url.split('?')[0] as string, { body, contentType: contentType ?? null }) : {};
    if (contentType !== undefined) headers['content-type'] = contentType;
    const response: LightMyRequestResponse = await app.inject({ method: method as 'GET', url, headers, ...(method === 'GET' ? {} : { payload: body }) });
    if (response.statusCode >= 500) t.fail(`${method} ${url} ${JSON.stringify(body).slice(0, 40)} → ${response.statusCode} ${response.body.slice(0, 200)}`);
    t.ok(response.json().errorCode !== undefined || response.statusCode === 200, `${method} ${url} → ${response.statusCode}`);
  }
});
