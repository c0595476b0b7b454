// Rate limits (docs/api.md): one budget per caller, counted by @fastify/rate-limit (in process, or in
// Redis across instances), checked once the caller is known:
// - signed requests (.system and sudo users): per application, `rateLimitApp` a second;
// - user tokens: per user, `rateLimitUser` a second on average, in bursts of up to twice that;
// - everything else (no credentials, or credentials that failed): per client address,
//   `rateLimitAnonymous` a second;
// - password login and starting a device link: a separate per-address budget, `rateLimitLogin` a minute;
// - a console session (the operator): OPERATOR_QUOTA a second per session.
// Health, readiness, metrics, the API docs and the console's script and stylesheet are never limited. A setting of 0 turns a budget off.
//
// The counters live in the kv seam (fixed windows on the server's clock): in process in the
// embedded mode, in Redis when instances share state, and on a test's manual clock in tests.
// Across instances @fastify/rate-limit drives the count (its limiter over a store on the shared kv).
// In process the count is one synchronous increment of the same counter, without the plugin: its
// limiter is an async function, and its promise hops cost several times the count itself on every
// request (docs/benchmarks.md, "Rate limits").
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.ts';
import type { Clock } from '../platform/clock.ts';
import { MemoryKv, type Kv } from '../platform/kv.ts';
import { ApiError } from '../errors.ts';
import type { ApplicationsService } from '../modules/applications/service.ts';
import { DEFAULT_SETTINGS, type ApplicationSettings } from '../modules/applications/settings.ts';

/** Actions that are never limited (probes must answer while a flood is being refused). */
const UNLIMITED_ACTIONS = new Set(['health.read', 'docs.read', 'metrics.read', 'console.assets']);
/** Requests a second for one console session (the operator's clicks; pages fetch a few each). */
export const OPERATOR_QUOTA = 100;
/** Actions on the login budget. */
const LOGIN_ACTIONS = new Set(['auth.login', 'devices.link.create']);

interface Budget {
  /** The policy name in the RateLimit headers. */
  name: 'app' | 'user' | 'address' | 'login' | 'operator';
  /** The counter's key. */
  key: string;
  /** Requests allowed per window (0: no limit). */
  quota: number;
  windowMs: number;
}

function budgetOf(principal: Principal | null, action: unknown, request: FastifyRequest, settings: ApplicationSettings): Budget {
  if (typeof action === 'string' && LOGIN_ACTIONS.has(action)) {
    return { name: 'login', key: `login:${request.ip}`, quota: settings.rateLimitLogin, windowMs: 60_000 };
  }
  if (principal?.kind === 'operator') {
    return { name: 'operator', key: `operator:${principal.sessionId}`, quota: OPERATOR_QUOTA, windowMs: 1_000 };
  }
  if (principal?.kind === 'system' || (principal?.kind === 'user' && principal.via === 'sudo')) {
    return { name: 'app', key: `app:${principal.applicationId}`, quota: settings.rateLimitApp, windowMs: 1_000 };
  }
  if (principal?.kind === 'user') {
    return { name: 'user', key: `user:${principal.applicationId}:${principal.userId}`, quota: 2 * settings.rateLimitUser, windowMs: 2_000 };
  }
  return { name: 'address', key: `address:${request.ip}`, quota: settings.rateLimitAnonymous, windowMs: 1_000 };
}

export interface RateLimits {
  /**
   * Counts the request against its caller's budget and sets the RateLimit headers; over the
   * budget, throws 429 `rate_limited` with Retry-After. `principal` null: the caller is unknown
   * (its credentials failed), so it counts against its address.
   */
  check(request: FastifyRequest, reply: FastifyReply, principal: Principal | null, action: unknown): Promise<void> | undefined;
}

type StoreCallback = (error: Error | null, result?: { current: number; ttl: number }) => void;

/** The counter of `key`'s current fixed window on the clock, and the time left in that window. */
function windowCounter(clock: Clock, key: string, windowMs: number): { counter: string; ttl: number } {
  const now = clock.now();
  const window = Math.floor(now / windowMs);
  return { counter: `rate:${key}@${window}`, ttl: (window + 1) * windowMs - now };
}

/** A store for @fastify/rate-limit over the kv seam (shared across instances): one counter per key and window. */
function kvStore(kv: Kv, clock: Clock) {
  return class KvRateLimitStore {
    incr(key: string, callback: StoreCallback, timeWindow: number): void {
      const { counter, ttl } = windowCounter(clock, key, timeWindow);
      kv.increment(counter, ttl).then(
        (current) => callback(null, { current, ttl }),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    }

    child(): KvRateLimitStore {
      return new KvRateLimitStore();
    }
  };
}

export async function registerRateLimits(
  app: FastifyInstance,
  deps: { applications: Pick<ApplicationsService, 'cached' | 'get'>; kv: Kv; clock: Clock; onRefused?: (policy: Budget['name']) => void },
): Promise<RateLimits> {
  // In process: the counter of a budget's current window, counted without a promise (see the top).
  const memory = deps.kv instanceof MemoryKv ? deps.kv : null;
  if (memory === null)
    await app.register(fastifyRateLimit, {
      global: false,
      // Counting must never become the outage: if Redis fails, requests go on (and meet the 503s of
      // whatever else needs Redis).
      skipOnError: true,
      store: kvStore(deps.kv, deps.clock),
    });
  // The budget's key rides on the request (a decorated field: cheaper than a side table).
  app.decorateRequest('rateLimitKey', '');
  const keyOf = (request: FastifyRequest) => request.rateLimitKey;
  // One limiter per budget and quota (a handful: the settings in use), so the plugin gets plain
  // numbers rather than functions it would await on every request.
  const limiters: Record<Budget['name'], Map<number, ReturnType<typeof app.createRateLimit>>> = {
    app: new Map(),
    user: new Map(),
    address: new Map(),
    login: new Map(),
    operator: new Map(),
  };
  const limiterFor = (budget: Budget) => {
    const ofName = limiters[budget.name];
    let limiter = ofName.get(budget.quota);
    if (limiter === undefined) {
      limiter = app.createRateLimit({ keyGenerator: keyOf, max: budget.quota, timeWindow: budget.windowMs });
      ofName.set(budget.quota, limiter);
    }
    return limiter;
  };

  // On every request: the cached settings without an await when there are some.
  const settingsOf = (principal: Principal | null): ApplicationSettings | Promise<ApplicationSettings> => {
    const applicationId = principal?.applicationId ?? null;
    if (applicationId === null) return DEFAULT_SETTINGS;
    const cached = deps.applications.cached(applicationId);
    if (cached !== undefined) return cached?.settings ?? DEFAULT_SETTINGS;
    return deps.applications.get(applicationId).then((application) => application?.settings ?? DEFAULT_SETTINGS);
  };

  /** The 429 for a budget that is spent, resetting in `resetSeconds` (IETF RateLimit headers). */
  const refusal = (reply: FastifyReply, budget: Budget, resetSeconds: number): ApiError => {
    deps.onRefused?.(budget.name);
    const windowSeconds = budget.windowMs / 1000;
    reply.header('ratelimit-policy', `"${budget.name}";q=${budget.quota};w=${windowSeconds}`);
    reply.header('ratelimit', `"${budget.name}";r=0;t=${resetSeconds}`);
    const retryAfter = Math.max(1, resetSeconds);
    return new ApiError(
      'rate_limited',
      `Too many requests: at most ${budget.quota} per ${windowSeconds} s for this ${budget.name === 'app' ? 'application' : budget.name}`,
      { policy: budget.name, limit: budget.quota, windowSeconds, retryAfterSeconds: retryAfter },
      { 'retry-after': String(retryAfter) },
    );
  };

  const countNow = (memoryKv: MemoryKv, reply: FastifyReply, budget: Budget): void => {
    const { counter, ttl } = windowCounter(deps.clock, budget.key, budget.windowMs);
    const current = memoryKv.incrementNow(counter, ttl);
    if (current > budget.quota) throw refusal(reply, budget, Math.ceil(ttl / 1000));
  };

  const count = (
    request: FastifyRequest,
    reply: FastifyReply,
    principal: Principal | null,
    action: unknown,
    settings: ApplicationSettings,
  ): Promise<void> | undefined => {
    const budget = budgetOf(principal, action, request, settings);
    if (budget.quota === 0) return undefined;
    if (memory !== null) {
      countNow(memory, reply, budget);
      return undefined;
    }
    request.rateLimitKey = budget.key;
    return limiterFor(budget)(request).then((state) => {
      if (state.isAllowed || !state.isExceeded) return;
      throw refusal(reply, budget, Math.max(0, state.ttlInSeconds));
    });
  };

  return {
    // Not an async function: in process no promise at all; across instances, the plugin's.
    check(request, reply, principal, action) {
      if (typeof action === 'string' && UNLIMITED_ACTIONS.has(action)) return undefined;
      const settings = settingsOf(principal);
      if (settings instanceof Promise) return settings.then((loaded) => count(request, reply, principal, action, loaded));
      return count(request, reply, principal, action, settings);
    },
  };
}
