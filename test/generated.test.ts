// Generated artefacts stay in step with their sources; the operational routes answer.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderOpenApiYaml } from '../src/openapi.ts';
import { projectRoot } from '../src/platform/paths.ts';
import { sourceSchemaPath, sqliteSchemaPath, toSqliteSchema } from '../scripts/generate-sqlite-schema.ts';
import { buildTestApp } from './helpers/app.ts';

t.test('openapi.yaml is what the route schemas generate (run `npm run openapi`)', async (t) => {
  const committed = readFileSync(join(projectRoot, 'openapi.yaml'), 'utf8');
  t.equal(committed, await renderOpenApiYaml());
  for (const path of ['/healthz', '/readyz', '/openapi.json', '/v1/test/application/by/accesskey', '/v1/users', '/v1/users/{userId}/locators']) {
    t.match(committed, `${path}:`, `documents ${path}`);
  }
});

t.test('prisma/sqlite/schema.prisma is generated from prisma/schema.prisma (run `npm run prisma:generate`)', async (t) => {
  t.equal(readFileSync(sqliteSchemaPath, 'utf8'), toSqliteSchema(readFileSync(sourceSchemaPath, 'utf8')));
});

t.test('the server serves its OpenAPI document and the docs UI', async (t) => {
  const { app } = await buildTestApp(t);
  const document = await app.inject({ method: 'GET', url: '/openapi.json' });
  t.equal(document.statusCode, 200);
  t.equal(document.json().openapi, '3.0.3');
  t.ok(document.json().paths['/v1/test/application/by/accesskey']);
  t.ok(document.json().components.schemas.ErrorBody, 'the error body is a shared schema');
  const docs = await app.inject({ method: 'GET', url: '/docs/' });
  t.equal(docs.statusCode, 200);
  t.match(docs.body, /swagger-ui/i);
});

t.test('readiness follows the database; liveness does not', async (t) => {
  const { app } = await buildTestApp(t);
  t.same((await app.inject({ method: 'GET', url: '/readyz' })).json(), { status: 'ready' });
  const ping = app.locus.db.ping;
  (app.locus.db as { ping: typeof ping }).ping = async () => {
    throw new Error('connection refused');
  };
  t.teardown(() => {
    (app.locus.db as { ping: typeof ping }).ping = ping;
  });
  const down = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(down.statusCode, 503);
  t.match(down.json(), { errorCode: 'service_unavailable', diagnostics: { dependency: 'database' } });
  t.notMatch(down.body, /connection refused/, 'the cause stays in the logs');
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
});
