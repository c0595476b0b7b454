// What buildApp exposes: the services (app.locus), what Fastify carries per request and per route
// for the pipeline, and the options a caller (main.ts, tests, benches) may give.
import type { Redis } from 'ioredis';
import type { StreamPlaces } from '../modules/events/places.ts';
import type { Metrics } from '../modules/metrics/registry.ts';
import type { ConsoleService } from '../modules/console/service.ts';
import type { Config } from '../config.ts';
import type { Principal } from '../auth/principal.ts';
import type { Bus } from '../platform/bus.ts';
import type { Clock } from '../platform/clock.ts';
import type { Db } from '../platform/db.ts';
import type { Kv } from '../platform/kv.ts';
import type { ApplicationsService } from '../modules/applications/service.ts';
import type { EventsService } from '../modules/events/service.ts';
import type { PresenceService } from '../modules/presence/service.ts';
import type { Timers } from '../platform/timers.ts';
import type { ConnectionTimeouts } from './http-options.ts';
import type { ProfilesService } from '../modules/profiles/service.ts';
import type { PasswordHasher } from '../modules/tokens/passwords.ts';
import type { PasswordsService } from '../modules/tokens/login.ts';
import type { TokensService } from '../modules/tokens/service.ts';
import type { UsersService } from '../modules/users/service.ts';
import type { SocialService } from '../modules/social/service.ts';
import type { MetadataService } from '../modules/metadata/service.ts';
import type { ModerationService } from '../modules/moderation/service.ts';
import type { DeviceLinksService } from '../modules/devices/service.ts';
import type { WebhookDispatcher } from '../modules/webhooks/dispatcher.ts';
import type { WebhookSender } from '../modules/webhooks/sender.ts';

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
  /** Passwords and password login. */
  passwords: PasswordsService;
  presence: PresenceService;
  /** Blocks, contacts, privacy, and what a caller may see of other users. */
  social: SocialService;
  /** Entity metadata of users. */
  metadata: MetadataService;
  /** Reports, feedback, suspension. */
  moderation: ModerationService;
  /** Device (QR) login links. */
  devices: DeviceLinksService;
  events: EventsService;
  webhooks: WebhookDispatcher;
  /** The operator console's sign-in (src/modules/console). */
  console: ConsoleService;
  /** What `/metrics` reports (src/modules/metrics). */
  metrics: Metrics;
  /** Open-stream places, capped per application and per user (across instances with Redis). */
  streams: StreamPlaces;
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
    /** The rate-limit counter this request is counted on (src/server/rate-limits.ts). */
    rateLimitKey: string;
    /** When the request's first hook ran (performance.now()): the request metrics time answers from it. */
    receivedAt: number;
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
    /** A console route (docs/console.md): the caller is the operator of a console session, or anonymous. */
    console?: boolean;
    /** An event stream route: its answers are timed until they close (src/modules/metrics/routes.ts). */
    streams?: boolean;
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
  /** Slow and idle connection limits (tests shorten them; production keeps CONNECTION_TIMEOUTS). */
  connectionTimeouts?: ConnectionTimeouts;
  /**
   * Shared state for several instances: kv, bus and the presence transition queue on this Redis
   * (`subscriber`: a connection of its own for pub/sub), keys under `prefix`. The connections
   * stay the caller's to close. `kv` and `bus`, when given, take precedence.
   */
  redis?: { client: Redis; subscriber: Redis; prefix: string };
}
