// buildApp: the whole server as a Fastify instance (tests and main.ts both call it).
// Request pipeline: raw body captured → authenticate (principal) → authorize (policy) → JSON parse →
// schema validation → handler. Authentication comes before parsing so that an unauthenticated
// caller learns nothing from body errors, and the signature's MD5 covers the exact bytes received.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { AjvCompiler, type ValidatorFactory } from '@fastify/ajv-compiler';
import fastifyJwt from '@fastify/jwt';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Config } from './config.ts';
import { ApiError, frameworkErrors, registerErrorHandling } from './errors.ts';
import { authenticate, type AuthDependencies, type Principal } from './auth/principal.ts';
import { authorize } from './policy/authorize.ts';
import { systemClock, type Clock } from './platform/clock.ts';
import { MemoryKv, type Kv } from './platform/kv.ts';
import { createDb, type Db } from './platform/db.ts';
import { migrate } from './platform/migrate.ts';
import { ErrorBodySchema } from './schemas.ts';
import { APPLICATIONS_CHANGED_TOPIC, ApplicationsService } from './modules/applications/service.ts';
import { createApplicationsStore } from './modules/applications/store.ts';
import { applicationRoutes } from './modules/applications/routes.ts';
import { userRoutes } from './modules/users/routes.ts';
import { USER_WIRE_SCHEMAS } from './wire/users.ts';
import { PROFILE_WIRE_SCHEMAS } from './wire/profiles.ts';
import { UsersService } from './modules/users/service.ts';
import { ProfilesService } from './modules/profiles/service.ts';
import { profileRoutes } from './modules/profiles/routes.ts';
import { TokensService } from './modules/tokens/service.ts';
import { TokenSigner, TOKEN_ISSUER } from './modules/tokens/signing.ts';
import { argon2idHasher, type PasswordHasher } from './modules/tokens/passwords.ts';
import { tokenRoutes } from './modules/tokens/routes.ts';
import { PresenceService, realTimers, type Timers } from './modules/presence/service.ts';
import { createPresenceStore } from './modules/presence/store.ts';
import { presenceRoutes } from './modules/presence/routes.ts';
import { MemoryBus, type Bus } from './platform/bus.ts';
import type { Redis } from 'ioredis';
import { RedisBus, RedisKv, RedisLease } from './platform/redis.ts';
import { RedisTransitionQueue } from './modules/presence/queue.ts';
import { fastifySSE } from '@fastify/sse';
import { EventsService } from './modules/events/service.ts';
import { eventRoutes } from './modules/events/routes.ts';
import { WebhookDispatcher, type WebhookSender } from './modules/webhooks/service.ts';
import { systemRoutes } from './modules/system/routes.ts';

export const BODY_LIMIT_BYTES = 1024 * 1024;
/** The longest path parameter the router matches: 100 ids × 72 characters and the commas. */
export const MAX_PATH_PARAM_LENGTH = 8_192;
/** How often a server polls for application/key changes made by other processes (docs/decisions.md: ≤ 5 s). */
export const APPLICATIONS_POLL_MS = 2_000;
/** Webhook delivery moves to another instance this long after its instance stopped (renewed every 2 s). */
export const WEBHOOK_LEASE_MS = 10_000;

export interface RegisteredRoute {
  method: string;
  url: string;
  action: string | undefined;
}

export interface Locus {
  config: Config;
  /** Every route with the policy action it declared (the policy test walks this). */
  routes: readonly RegisteredRoute[];
  db: Db;
  clock: Clock;
  kv: Kv;
  applications: ApplicationsService;
  users: UsersService;
  profiles: ProfilesService;
  tokens: TokensService;
  presence: PresenceService;
  events: EventsService;
  webhooks: WebhookDispatcher;
  bus: Bus;
  /** The shared Redis (commands connection), or null in the embedded mode. */
  redis: Redis | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    locus: Locus;
  }
  interface FastifyRequest {
    principal: Principal;
    /** The body bytes exactly as received (null when the request had no body to parse). */
    rawBody: Buffer | null;
    /** The user the route acts on (`me` resolved), when the route names a `targetUser` parameter. */
    targetUserId: string | null;
  }
  interface FastifyContextConfig {
    /** The policy action this route performs (src/policy/rules.ts). */
    action?: string;
    /** For a route whose action depends on the request (e.g. listing vs looking up users). */
    selectAction?: (request: FastifyRequest) => string;
    /** The path parameter naming the user the route acts on (`me` allowed); the policy sees it. */
    targetUser?: string;
    /**
     * The path itself is the credential (logout links): whatever credentials the request carries
     * (a browser's stale token cookie, say) are not checked, and the route runs as `.anonymous`.
     */
    credentialsIgnored?: boolean;
  }
}

export interface BuildOptions {
  clock?: Clock;
  kv?: Kv;
  /** Fastify logger setting; defaults to JSON logs at config.logLevel. */
  logger?: boolean | Record<string, unknown>;
  /** Where the default JSON logs go (stdout when absent); lets tests read what would be logged. */
  logStream?: NodeJS.WritableStream;
  /** Poll for changes made by other processes (default true; tests call refreshIfChanged instead). */
  watchApplications?: boolean;
  /** Argon2id by default; tests may wrap it to observe calls. */
  passwordHasher?: PasswordHasher;
  /**
   * The presence timers (transitions, write-behind): real ones by default; `false` turns them off
   * (tests then call presence.runDue() and presence.flush()), or a test's own to fire by hand.
   */
  presenceTimers?: boolean | Timers;
  /**
   * The event and webhook timers (keep-alive comments, retention, webhook retries and reloads):
   * real ones by default; `false` turns them off (tests call events.keepAlive(), events.prune(),
   * webhooks.reload() and webhooks.retryDue()), or a test's own.
   */
  eventTimers?: boolean | Timers;
  /** How webhook deliveries are sent: undici by default (tests may observe or fail them). */
  webhookSender?: WebhookSender;
  /** In-process by default; tests pass one to subscribe before the app starts. */
  bus?: Bus;
  /**
   * Shared state for several instances: kv, bus and the presence transition queue on this Redis
   * (`subscriber`: a connection of its own for pub/sub), keys under `prefix`. The connections
   * stay the caller's to close. `kv` and `bus`, when given, take precedence.
   */
  redis?: { client: Redis; subscriber: Redis; prefix: string };
}

const EMPTY_BODY = Buffer.alloc(0);
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

const AJV_OPTIONS = { coerceTypes: 'array', removeAdditional: false, allErrors: false } as const;
interface ValidatorRoute {
  schema: unknown;
  httpPart?: string;
}
type Validator = (route: ValidatorRoute) => unknown;
type ValidatorPool = (externalSchemas: Record<string, unknown>, options?: { customOptions?: Record<string, unknown> }) => Validator;
// The pool's published types describe an older call signature; at run time it is this.
const ajvPool = AjvCompiler() as unknown as ValidatorPool;

/**
 * Query strings, path parameters and headers are text, so their schemas coerce ("5" → 5). JSON
 * bodies are already typed: coercing them would silently rewrite values (null → "", 5 → "5"), so
 * body schemas validate without coercion.
 */
function buildValidator(externalSchemas: Record<string, unknown>, options?: { customOptions?: Record<string, unknown> }): Validator {
  const coercing = ajvPool(externalSchemas, options);
  const strict = ajvPool(externalSchemas, { ...options, customOptions: { ...options?.customOptions, coerceTypes: false } });
  return (route) => (route.httpPart === 'body' ? strict : coercing)(route);
}

/** A load balancer's X-Request-Id is kept when it is well-formed (it ends up in logs); else a fresh one. */
function requestId(request: { headers: Record<string, string | string[] | undefined> }): string {
  const incoming = request.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
}

/** A path parameter by name (this hook runs for every route, before the route's schema applies). */
function pathParameter(params: unknown, name: string): string | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const value: unknown = Reflect.get(params, name);
  return typeof value === 'string' ? value : undefined;
}

interface LoggedRequest {
  method: string;
  url: string;
  ip?: string;
  id?: string;
}

/** A logout link's path is a bearer secret: logs keep only its route. */
function loggedPath(url: string): string {
  const path = url.split('?')[0] ?? '';
  return path.startsWith('/v1/logout/') ? '/v1/logout/[redacted]' : path;
}

function loggerOptions(config: Config, stream?: NodeJS.WritableStream) {
  return {
    level: config.logLevel,
    ...(stream ? { stream } : {}),
    serializers: {
      // The path only: query strings carry personal data (locator lookups by email and phone).
      req: (request: LoggedRequest) => ({ method: request.method, path: loggedPath(request.url), remoteAddress: request.ip, requestId: request.id }),
    },
    // Credentials never reach the logs, whatever a serializer is later taught to include.
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-issued-mitter-user-authorization"]'],
      censor: '[redacted]',
    },
  };
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const clock = options.clock ?? systemClock;
  const migration = await migrate(config);
  const db = createDb(config);
  const redis = options.redis;
  const kv = options.kv ?? (redis ? new RedisKv(redis.client, clock, { prefix: redis.prefix }) : new MemoryKv(clock));

  const app = Fastify({
    logger: options.logger ?? loggerOptions(config, options.logStream),
    bodyLimit: BODY_LIMIT_BYTES,
    // Comma lists in the path (100 user ids of up to 72 characters, 100 token ids) are far longer
    // than the router's default of 100 characters; the routes bound their own lists.
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    requestIdHeader: false,
    genReqId: requestId,
    frameworkErrors: frameworkErrors(() => clock.now()),
    ajv: { customOptions: AJV_OPTIONS },
    schemaController: { compilersFactory: { buildValidator: buildValidator as unknown as ValidatorFactory } },
  });

  if (migration.applied.length > 0) app.log.info({ migrations: migration.applied }, 'applied database migrations');
  if (migration.modified.length > 0) app.log.warn({ migrations: migration.modified }, 'migration files changed after they were applied');

  const applications = new ApplicationsService({ store: createApplicationsStore(db), masterKey: config.masterKey, clock, log: app.log });
  const onBusError = (error: unknown, topic: string) => app.log.error({ err: error, topic }, 'a bus subscriber failed');
  const bus = options.bus ?? (redis ? new RedisBus(redis.client, redis.subscriber, { prefix: redis.prefix, onError: onBusError }) : new MemoryBus(onBusError));
  const events = new EventsService({ db, clock, bus, applications, log: app.log });
  const users = new UsersService({ db, clock, events, bus, log: app.log });
  const profiles = new ProfilesService({ db, clock, users, events });
  // Tokens carry no exp: expiry and revocation are server state. Keys per kid come from TokenSigner.
  await app.register(fastifyJwt, {
    secret: 'unused: every sign and verify names its kid key',
    sign: { algorithm: 'HS512' },
    verify: { algorithms: ['HS512'], allowedIss: TOKEN_ISSUER },
  });
  const tokens = new TokensService({
    db,
    clock,
    kv,
    signer: new TokenSigner(app.jwt, config.masterKey),
    applications,
    users,
    events,
    bus,
    hasher: options.passwordHasher ?? argon2idHasher,
    publicUrl: config.publicUrl,
    log: app.log,
  });
  const presence = new PresenceService({ clock, kv, bus, store: createPresenceStore(db), users, applications, events, log: app.log,
    ...(redis ? { queue: new RedisTransitionQueue(redis.client, redis.prefix) } : {}),
  });
  const routes: RegisteredRoute[] = [];
  const webhooks = new WebhookDispatcher({ db, clock, bus, masterKey: config.masterKey, log: app.log,
    ...(options.webhookSender ? { sender: options.webhookSender } : {}),
    ...(redis ? { lease: new RedisLease(redis.client, 'webhooks', { prefix: redis.prefix, ttlMs: WEBHOOK_LEASE_MS }) } : {}),
  });
  app.decorate('locus', { config, routes, db, clock, kv, bus, applications, users, profiles, tokens, presence, events, webhooks, redis: redis?.client ?? null });
  // Reference-type decorators must start as null (Fastify 5); the hooks below fill them per request.
  app.decorateRequest('principal', null as never);
  app.decorateRequest('rawBody', null);
  app.decorateRequest('targetUserId', null);

  registerErrorHandling(app, () => clock.now());

  // Bodies are kept as raw bytes here and parsed after authentication (see the hook below).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request: FastifyRequest, body: Buffer, done) => {
    request.rawBody = body;
    done(null, undefined);
  });
  const parseJson = app.getDefaultJsonParser('error', 'error');

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  const authDependencies: AuthDependencies = {
    clock,
    kv,
    findAccessKey: (accessKey) => applications.findAccessKey(accessKey),
    userExists: (applicationId, userId) => users.exists(applicationId, userId),
    verifyUserToken: (token, claimedApplicationId) => tokens.verify(token, claimedApplicationId),
  };
  app.addHook('preValidation', async (request: FastifyRequest) => {
    if (request.is404) return;
    const body = request.rawBody ?? EMPTY_BODY;
    const route = request.routeOptions.config;
    request.principal = route.credentialsIgnored
      ? { kind: 'anonymous', applicationId: null }
      : await authenticate({ method: request.method, rawPath: request.raw.url?.split('?')[0] ?? '/', headers: request.headers, body }, authDependencies);
    const action = route.selectAction ? route.selectAction(request) : route.action;
    const target = route.targetUser === undefined ? undefined : pathParameter(request.params, route.targetUser);
    const decision = authorize(request.principal, action, target);
    if (!decision.allowed) throw decision.error;
    request.targetUserId = decision.targetUserId;
    if (body.length > 0) {
      request.body = await new Promise((resolve, reject) => {
        parseJson(request, body.toString('utf8'), (error, value) => {
          if (error) reject(new ApiError('invalid_input_syntax', 'The request body is not valid JSON'));
          else resolve(value);
        });
      });
    }
  });

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    // Read lazily: onRoute hooks of child contexts (the docs plugin below) run after this one.
    for (const method of methods) routes.push({ method, url: route.url, get action() { return route.config?.action; } });
  });

  app.addSchema(ErrorBodySchema);
  for (const schema of [...USER_WIRE_SCHEMAS, ...PROFILE_WIRE_SCHEMAS]) app.addSchema(schema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Locus',
        description: 'Identity and presence server speaking the mitter.io users wire protocol.',
        version: '0.1.0',
      },
      components: {
        securitySchemes: {
          accessKeySignature: {
            type: 'apiKey',
            in: 'header',
            name: 'Authorization',
            description: 'Auth <accessKey>:<base64 HMAC-SHA1>, with Date, Nonce and Content-MD5 headers (see docs/signing.md).',
          },
          userToken: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Issued-Mitter-User-Authorization',
            description: 'A user token (also accepted as `Authorization: Bearer <token>` or the cookie x_issued_mitter_user_authorization).',
          },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });

  await app.register(systemRoutes);
  await app.register(applicationRoutes);
  await app.register(userRoutes);
  await app.register(profileRoutes);
  await app.register(tokenRoutes);
  await app.register(presenceRoutes);
  // Keep-alive comments come from the events service (one shared, testable timer), not the plugin.
  await app.register(fastifySSE, { heartbeatInterval: 0 });
  await app.register(eventRoutes);
  await app.register(async (docs) => {
    // The UI's own routes (page, assets, JSON) are documentation reads for the policy.
    docs.addHook('onRoute', (route) => {
      route.config = { ...(route.config ?? {}), action: 'docs.read' };
    });
    await docs.register(swaggerUi, { routePrefix: '/docs' });
  });

  if (options.watchApplications ?? true) applications.watch(APPLICATIONS_POLL_MS);
  // The CLI announces its changes on a shared bus: running instances drop their caches at once.
  bus.subscribe(APPLICATIONS_CHANGED_TOPIC, () => applications.invalidate());
  const presenceTimers = options.presenceTimers ?? true;
  await presence.start(presenceTimers === true ? realTimers : presenceTimers === false ? null : presenceTimers);
  // A restarted Redis comes back empty: the first instance to reconnect reloads presence from the database.
  const onRedisReady = () => {
    presence.reloadIfLost().catch((error: unknown) => app.log.error({ err: error }, 'could not reload presence after Redis came back'));
  };
  redis?.client.on('ready', onRedisReady);
  const eventTimers = options.eventTimers ?? true;
  const backgroundTimers = eventTimers === true ? realTimers : eventTimers === false ? null : eventTimers;
  await events.start(backgroundTimers);
  await webhooks.start(backgroundTimers);
  // Open streams would keep the server from closing: they end first (a `closing` message).
  app.addHook('preClose', async () => {
    await events.close();
  });
  app.addHook('onClose', async () => {
    redis?.client.off('ready', onRedisReady);
    applications.stopWatching();
    await presence.close();
    await events.flush();
    await webhooks.close();
    await tokens.flush();
    await bus.close();
    await kv.close();
    await db.close();
  });
  return app;
}
