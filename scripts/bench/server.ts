// The server under benchmark: a normal Locus app plus bare routes without authentication, policy or
// wire shaping, so each signed route can be compared with its bare core in the same process:
// /bench/bare returns the echo route's JSON (POST: `{}`), /bench/bare-user a user-shaped JSON; /bench/users/… run the users routes' queries, and
// /bench/profiles/… the profile route's.
import { Type } from 'typebox';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { connectRedis } from '../../src/platform/redis.ts';
import { createUsersStore } from '../../src/modules/users/store.ts';
import { createProfilesStore } from '../../src/modules/profiles/store.ts';

const config = loadConfig();
// As src/main.ts does: with REDIS_URL, the instance shares kv, bus and transitions through Redis.
const redis =
  config.redisUrl === null
    ? null
    : { client: connectRedis(config.redisUrl), subscriber: connectRedis(config.redisUrl, { subscriber: true }), prefix: config.redisPrefix };
// BENCH_LOGGER=1: the deployment's logger (at the harness's LOG_LEVEL=warn, so no line per request);
// with it, Fastify attaches response listeners to every answer, as it does in a deployment.
const app = await buildApp(config, { ...(process.env.BENCH_LOGGER === '1' ? {} : { logger: false }), ...(redis ? { redis } : {}) });
const bareBody = { applicationId: process.env.BENCH_APPLICATION_ID ?? '', name: process.env.BENCH_APPLICATION_NAME ?? '' };
app.get(
  '/bench/bare',
  {
    config: { action: 'health.read' },
    schema: { response: { 200: Type.Object({ applicationId: Type.String(), name: Type.String() }) }, hide: true },
  },
  async () => bareBody,
);
// A bare GET answering a user-shaped JSON of about 200 bytes (the size of a user without locators):
// the baseline of the datapath bench's GET routes.
const bareUser = {
  userId: 'bench-user-00001',
  identifier: 'bench-user-00001',
  internalId: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
  screenName: { screenName: 'Bench 1' },
  userLocators: [],
  systemUser: false,
  synthetic: false,
  blocked: false,
  entityProfile: null,
  entityMetadata: null,
  auditInfo: { createdAt: 1796203200000, updatedAt: 1796203200000 },
};
app.get('/bench/bare-user', { config: { action: 'health.read' }, schema: { response: { 200: Type.Ref('User') }, hide: true } }, async () => bareUser);
// The same, for a POST with a JSON body (parsed by the app's pipeline, then ignored).
app.post('/bench/bare', { config: { action: 'health.read' }, schema: { hide: true } }, async () => ({}));
const usersStore = createUsersStore(app.locus.db, app.locus.events);
const applicationId = process.env.BENCH_APPLICATION_ID ?? '';
app.get('/bench/users/:userId', { config: { action: 'health.read' }, schema: { hide: true } }, async (request) =>
  usersStore.findUser(applicationId, (request.params as { userId: string }).userId),
);
app.get('/bench/users', { config: { action: 'health.read' }, schema: { hide: true } }, async (request) => {
  const locators = String((request.query as { locators?: string }).locators ?? '').split(',');
  return usersStore.findByLocators(applicationId, locators);
});
const profilesStore = createProfilesStore(app.locus.db, app.locus.events);
app.get('/bench/profiles/:userId', { config: { action: 'health.read' }, schema: { hide: true } }, async (request) =>
  profilesStore.readProfile(applicationId, (request.params as { userId: string }).userId, null),
);
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`READY ${typeof address === 'object' && address ? address.port : 0}\n`);
process.on(
  'SIGTERM',
  () =>
    void app.close().then(() => {
      redis?.client.disconnect();
      redis?.subscriber.disconnect();
      process.exit(0);
    }),
);
