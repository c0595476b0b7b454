// buildApp: the whole server as a Fastify instance (main.ts, the CLI's openapi export, tests and
// benches call it). The composition root: the database, the services, the request pipeline, the
// routes, then start and shutdown. Each part lives in src/server/.
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyJwt from '@fastify/jwt';
import { fastifySSE } from '@fastify/sse';
import type { Config } from './config.ts';
import { systemClock } from './platform/clock.ts';
import { createDb } from './platform/db.ts';
import { migrate } from './platform/migrate.ts';
import { TOKEN_ISSUER } from './modules/tokens/signing.ts';
import { applicationRoutes } from './modules/applications/routes.ts';
import { eventRoutes } from './modules/events/routes.ts';
import { presenceRoutes } from './modules/presence/routes.ts';
import { profileRoutes } from './modules/profiles/routes.ts';
import { systemRoutes } from './modules/system/routes.ts';
import { tokenRoutes } from './modules/tokens/routes.ts';
import { userRoutes } from './modules/users/routes.ts';
import { socialRoutes } from './modules/social/routes.ts';
import { metadataRoutes } from './modules/metadata/routes.ts';
import { moderationRoutes } from './modules/moderation/routes.ts';
import { deviceLinkRoutes } from './modules/devices/routes.ts';
import { registerDocsUi, registerSchemas } from './server/docs.ts';
import { fastifyOptions } from './server/http-options.ts';
import { start } from './server/lifecycle.ts';
import type { BuildOptions, Locus, RegisteredRoute } from './server/locus.ts';
import { registerPipeline } from './server/pipeline.ts';
import { registerRateLimits } from './server/rate-limits.ts';
import { metricsRoutes, registerRequestMetrics } from './modules/metrics/routes.ts';
import { cookieValue, nonceClaims } from './auth/principal.ts';
import { SESSION_COOKIE } from './modules/console/service.ts';
import { consoleRoutes } from './modules/console/routes.ts';
import { registerCors } from './server/cors.ts';
import { createServices } from './server/services.ts';

export type { BuildOptions, Locus, RegisteredRoute } from './server/locus.ts';
export { BODY_LIMIT_BYTES, MAX_PATH_PARAM_LENGTH } from './server/http-options.ts';
export { APPLICATIONS_POLL_MS } from './server/lifecycle.ts';
export { WEBHOOK_LEASE_MS } from './server/services.ts';

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const clock = options.clock ?? systemClock;
  const now = () => clock.now();
  const migration = await migrate(config);
  const db = createDb(config);
  const app = Fastify(fastifyOptions(config, now, options, options.connectionTimeouts));
  if (migration.applied.length > 0) app.log.info({ migrations: migration.applied }, 'applied database migrations');
  if (migration.modified.length > 0) app.log.warn({ migrations: migration.modified }, 'migration files changed after they were applied');

  // Tokens carry no exp: expiry and revocation are server state. Keys per kid come from TokenSigner.
  await app.register(fastifyJwt, {
    secret: 'unused: every sign and verify names its kid key',
    sign: { algorithm: 'HS512' },
    verify: { algorithms: ['HS512'], allowedIss: TOKEN_ISSUER },
  });
  const routes: RegisteredRoute[] = [];
  const locus: Locus = { ...createServices(app, config, db, clock, options), routes };
  app.decorate('locus', locus);

  const { applications, users, tokens, kv } = locus;
  // First, so that an answer is timed from its first request hook.
  registerRequestMetrics(app);
  const limits = await registerRateLimits(app, { applications, kv, clock, onRefused: (policy) => locus.metrics.rateLimited(policy) });
  // The plugin's OPTIONS route (a preflight for an origin no application lists) is open to anyone.
  app.addHook('onRoute', (route) => {
    if (route.method === 'OPTIONS' && route.url === '*') route.config = { ...route.config, action: 'cors.preflight' };
  });
  await registerCors(app, { applications, clock });
  registerPipeline(app, {
    now,
    routes,
    limits,
    consoleOperator: async (request) => {
      const session = await locus.console.session(cookieValue(request.headers, SESSION_COOKIE));
      return session ? { kind: 'operator', applicationId: null, sessionId: session.sessionId } : { kind: 'anonymous', applicationId: null };
    },
    auth: {
      clock,
      claimNonce: nonceClaims(kv),
      findAccessKey: (accessKey) => applications.findAccessKey(accessKey),
      userExists: (applicationId, userId) => users.exists(applicationId, userId),
      verifyUserToken: (token, claimedApplicationId) => tokens.verify(token, claimedApplicationId),
    },
  });

  await registerSchemas(app);
  await app.register(systemRoutes);
  await app.register(metricsRoutes);
  await app.register(applicationRoutes);
  await app.register(userRoutes);
  await app.register(profileRoutes);
  await app.register(tokenRoutes);
  await app.register(presenceRoutes);
  await app.register(socialRoutes);
  await app.register(metadataRoutes);
  await app.register(moderationRoutes);
  // Keep-alive comments come from the events service (one shared, testable timer), not the plugin.
  await app.register(fastifySSE, { heartbeatInterval: 0 });
  await app.register(eventRoutes);
  await app.register(deviceLinkRoutes);
  await app.register(consoleRoutes);
  await registerDocsUi(app);

  await start(app, locus, options);
  return app;
}
