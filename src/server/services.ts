// Builds the services of one instance on one database, the one place that does: each service
// receives its store (made here from `db`) and its collaborators in one object. In the embedded mode kv,
// bus and the transition queue are in process; with `redis` they are shared with other instances.
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.ts';
import type { Clock } from '../platform/clock.ts';
import type { Db } from '../platform/db.ts';
import { MemoryBus } from '../platform/bus.ts';
import { MemoryKv } from '../platform/kv.ts';
import { RedisBus, RedisKv, RedisLease } from '../platform/redis.ts';
import { LocalStreamPlaces, RedisStreamPlaces } from '../modules/events/places.ts';
import { Metrics } from '../modules/metrics/registry.ts';
import { ConsoleService } from '../modules/console/service.ts';
import { createConsoleStore } from '../modules/console/store.ts';
import { createMetricsStore } from '../modules/metrics/store.ts';
import { ApplicationsService } from '../modules/applications/service.ts';
import { createApplicationsStore } from '../modules/applications/store.ts';
import { EventsService } from '../modules/events/service.ts';
import { createEventsStore } from '../modules/events/store.ts';
import { PresenceService } from '../modules/presence/service.ts';
import { RedisTransitionQueue } from '../modules/presence/queue.ts';
import { createPresenceStore } from '../modules/presence/store.ts';
import { ProfilesService } from '../modules/profiles/service.ts';
import { createProfilesStore } from '../modules/profiles/store.ts';
import { argon2idHasher } from '../modules/tokens/passwords.ts';
import { PasswordsService } from '../modules/tokens/login.ts';
import { TokensService } from '../modules/tokens/service.ts';
import { createTokensStore } from '../modules/tokens/store.ts';
import { TokenSigner } from '../modules/tokens/signing.ts';
import { UsersService } from '../modules/users/service.ts';
import { createUsersStore } from '../modules/users/store.ts';
import { SocialService } from '../modules/social/service.ts';
import { createSocialStore } from '../modules/social/store.ts';
import { MetadataService } from '../modules/metadata/service.ts';
import { createMetadataStore } from '../modules/metadata/store.ts';
import { ModerationService } from '../modules/moderation/service.ts';
import { createModerationStore } from '../modules/moderation/store.ts';
import { DeviceLinksService } from '../modules/devices/service.ts';
import { createDeviceLinksStore } from '../modules/devices/store.ts';
import { realTimers } from '../platform/timers.ts';
import { WebhookDispatcher } from '../modules/webhooks/dispatcher.ts';
import { createWebhooksStore } from '../modules/webhooks/store.ts';
import type { BuildOptions, Locus } from './locus.ts';

/** Webhook delivery moves to another instance this long after its instance stopped (renewed every 2 s). */
export const WEBHOOK_LEASE_MS = 10_000;

/** `app` gives the logger and the JWT signer (registered before this runs). */
export function createServices(app: FastifyInstance, config: Config, db: Db, clock: Clock, options: BuildOptions): Omit<Locus, 'routes'> {
  const { redis } = options;
  const log = app.log;
  const kv = options.kv ?? (redis ? new RedisKv(redis.client, clock, { prefix: redis.prefix }) : new MemoryKv(clock));
  const onBusError = (error: unknown, topic: string) => log.error({ err: error, topic }, 'a bus subscriber failed');
  const bus = options.bus ?? (redis ? new RedisBus(redis.client, redis.subscriber, { prefix: redis.prefix, onError: onBusError }) : new MemoryBus(onBusError));
  const metrics = new Metrics();
  if (redis) {
    for (const connection of [redis.client, redis.subscriber]) connection.on('error', () => metrics.dependencyError('redis', 'connection'));
  }
  const applications = new ApplicationsService({ store: createApplicationsStore(db), masterKey: config.masterKey, clock, log });
  const eventLog = createEventsStore(db);
  const events = new EventsService({ db, store: eventLog, clock, bus, applications, log });
  const users = new UsersService({ store: createUsersStore(db, events), clock, bus, log });
  const social = new SocialService({ store: createSocialStore(db, events), clock, bus, users });
  const metadata = new MetadataService({ store: createMetadataStore(db), clock, users });
  const profiles = new ProfilesService({ store: createProfilesStore(db, events), clock, users });
  const tokensStore = createTokensStore(db, events);
  const tokens = new TokensService({
    store: tokensStore,
    clock,
    signer: new TokenSigner(app.jwt, config.masterKey),
    applications,
    users,
    bus,
    publicUrl: config.publicUrl,
    log,
  });
  const passwords = new PasswordsService({ store: tokensStore, tokens, users, hasher: options.passwordHasher ?? argon2idHasher, kv, clock });
  const moderation = new ModerationService({ store: createModerationStore(db, events), clock, users, tokens, social });
  const devices = new DeviceLinksService({
    store: createDeviceLinksStore(db),
    clock,
    kv,
    bus,
    tokens,
    // Long-polls wait on these: a test's own timers when it gave some, else real ones (even when background timers are off).
    timers: typeof options.eventTimers === 'object' ? options.eventTimers : realTimers,
  });
  const presence = new PresenceService({
    clock,
    kv,
    bus,
    store: createPresenceStore(db),
    users,
    applications,
    events,
    log,
    onTransition: (latenessMs) => metrics.presenceTransition(latenessMs),
    ...(redis ? { queue: new RedisTransitionQueue(redis.client, redis.prefix) } : {}),
  });
  const webhooks = new WebhookDispatcher({
    store: createWebhooksStore(db),
    eventLog,
    clock,
    bus,
    masterKey: config.masterKey,
    log,
    ...(options.webhookSender ? { sender: options.webhookSender } : {}),
    ...(redis ? { lease: new RedisLease(redis.client, 'webhooks', { prefix: redis.prefix, ttlMs: WEBHOOK_LEASE_MS }) } : {}),
  });
  const streams = redis
    ? new RedisStreamPlaces(redis.client, redis.prefix, (error) => log.warn({ err: error }, 'could not renew the open streams’ places'))
    : new LocalStreamPlaces();
  const metricsStore = createMetricsStore(db);
  metrics.attach({
    openStreams: () => events.subscriptions,
    eventLogHeads: () => metricsStore.eventLogHeads(),
    webhookBacklogs: () => metricsStore.webhookBacklogs(),
  });
  return {
    config,
    db,
    metrics,
    console: new ConsoleService({ store: createConsoleStore(db), clock }),
    clock,
    kv,
    bus,
    applications,
    users,
    profiles,
    tokens,
    presence,
    social,
    metadata,
    moderation,
    devices,
    events,
    webhooks,
    streams,
    redis: redis?.client ?? null,
    passwords,
  };
}
