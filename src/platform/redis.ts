// Redis implementations of the `kv` and `bus` seams (ioredis), for running several instances on
// one PostgreSQL and one Redis (REDIS_URL).
//
// kv: expiry follows the injected clock, as MemoryKv's does, so both behave alike (and tests on a
// manual clock run against Redis unchanged). Each value is stored as `<expiresAt ms>\n<value>` (an
// empty expiry for entries that do not expire); reads compare it with the caller's now. Redis's
// own TTL (the same length, plus a minute) only collects what is no longer read. The writes that
// must be atomic across instances (setIfAbsent, increment) are Lua scripts.
//
// bus: Redis pub/sub. A message reaches this process's subscribers synchronously (as on the memory
// bus) and every other instance's through Redis; each instance skips the copy of its own.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Bus, BusHandler } from './bus.ts';
import type { Clock } from './clock.ts';
import type { Kv } from './kv.ts';

/** Redis keeps an expiring key this much longer than its logical life (clock skew between instances). */
const PHYSICAL_GRACE_MS = 60_000;

const SET_IF_ABSENT = `
local current = redis.call('GET', KEYS[1])
if current then
  local cut = string.find(current, '\\n', 1, true)
  local expires = string.sub(current, 1, cut - 1)
  if expires == '' or tonumber(expires) > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[3] .. '\\n' .. ARGV[1], 'PX', ARGV[4])
return 1`;

const INCREMENT = `
local current = redis.call('GET', KEYS[1])
if current then
  local cut = string.find(current, '\\n', 1, true)
  local expires = string.sub(current, 1, cut - 1)
  if expires ~= '' and tonumber(expires) > tonumber(ARGV[1]) then
    local count = tonumber(string.sub(current, cut + 1)) + 1
    redis.call('SET', KEYS[1], expires .. '\\n' .. count, 'KEEPTTL')
    return count
  end
end
redis.call('SET', KEYS[1], ARGV[2] .. '\\n1', 'PX', ARGV[3])
return 1`;

function decode(stored: string | null, now: number): string | null {
  if (stored === null) return null;
  const cut = stored.indexOf('\n');
  if (cut < 0) return null;
  const expires = stored.slice(0, cut);
  if (expires !== '' && Number(expires) <= now) return null;
  return stored.slice(cut + 1);
}

export interface RedisOptions {
  /** Prefix of every key and channel (several deployments, or tests, may share one Redis). */
  prefix?: string;
}

/**
 * A connection that fails fast while Redis is away (callers answer 503) and reconnects by itself.
 * `subscriber`: for pub/sub only (no ready check: it would send INFO on a subscribed connection).
 * Connection errors surface through the commands that fail; `onError` hears them too.
 */
export function connectRedis(url: string, options: { subscriber?: boolean; onError?: (error: Error) => void } = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    connectTimeout: 2_000,
    enableReadyCheck: !options.subscriber,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  });
  redis.on('error', options.onError ?? (() => undefined));
  return redis;
}

export class RedisKv implements Kv {
  readonly #redis: Redis;
  readonly #clock: Clock;
  readonly #prefix: string;

  constructor(redis: Redis, clock: Clock, options: RedisOptions = {}) {
    this.#redis = redis;
    this.#clock = clock;
    this.#prefix = `${options.prefix ?? 'locus'}:kv:`;
    this.#redis.defineCommand('locusSetIfAbsent', { numberOfKeys: 1, lua: SET_IF_ABSENT });
    this.#redis.defineCommand('locusIncrement', { numberOfKeys: 1, lua: INCREMENT });
  }

  #key(key: string): string {
    return this.#prefix + key;
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    const now = this.#clock.now();
    const run = (this.#redis as unknown as { locusSetIfAbsent: (...args: Array<string | number>) => Promise<number> }).locusSetIfAbsent;
    return (await run.call(this.#redis, this.#key(key), value, now, now + ttlMs, ttlMs + PHYSICAL_GRACE_MS)) === 1;
  }

  async increment(key: string, ttlMs: number): Promise<number> {
    const now = this.#clock.now();
    const run = (this.#redis as unknown as { locusIncrement: (...args: Array<string | number>) => Promise<number> }).locusIncrement;
    return run.call(this.#redis, this.#key(key), now, now + ttlMs, ttlMs + PHYSICAL_GRACE_MS);
  }

  async get(key: string): Promise<string | null> {
    return decode(await this.#redis.get(this.#key(key)), this.#clock.now());
  }

  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    const now = this.#clock.now();
    const stored = await this.#redis.mget(...keys.map((key) => this.#key(key)));
    return stored.map((value) => decode(value, now));
  }

  async set(key: string, value: string): Promise<void> {
    await this.#redis.set(this.#key(key), `\n${value}`);
  }

  async delete(key: string): Promise<void> {
    await this.#redis.del(this.#key(key));
  }

  async close(): Promise<void> {
    // The connection belongs to whoever created it (it may be shared with the bus).
  }
}

function envelope(from: string, message: unknown): string {
  return JSON.stringify({ from, message });
}

/** Publishes one message to every instance's bus (the CLI tells running servers about its changes). */
export async function notifyInstances(url: string, prefix: string, topic: string, message: unknown): Promise<void> {
  const redis = connectRedis(url);
  try {
    await redis.publish(`${prefix}:bus:${topic}`, envelope(randomUUID(), message));
  } finally {
    redis.disconnect();
  }
}

export class RedisBus implements Bus {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #prefix: string;
  readonly #instance = randomUUID();
  readonly #handlers = new Map<string, Set<BusHandler>>();
  readonly #onError: (error: unknown, topic: string) => void;

  /** `subscriber` must be a connection of its own (a subscribed connection can do nothing else). */
  constructor(publisher: Redis, subscriber: Redis, options: RedisOptions & { onError?: (error: unknown, topic: string) => void } = {}) {
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    this.#prefix = `${options.prefix ?? 'locus'}:bus:`;
    this.#onError = options.onError ?? (() => undefined);
    this.#subscriber.on('message', (channel: string, text: string) => {
      if (!channel.startsWith(this.#prefix)) return;
      let envelope: { from?: unknown; message?: unknown };
      try {
        envelope = JSON.parse(text) as { from?: unknown; message?: unknown };
      } catch (error) {
        this.#onError(error, channel);
        return;
      }
      if (envelope.from === this.#instance) return;
      this.#deliver(channel.slice(this.#prefix.length), envelope.message);
    });
  }

  #deliver(topic: string, message: unknown): void {
    for (const handler of this.#handlers.get(topic) ?? []) {
      try {
        handler(message);
      } catch (error) {
        this.#onError(error, topic);
      }
    }
  }

  publish(topic: string, message: unknown): void {
    this.#deliver(topic, message);
    this.#publisher.publish(this.#prefix + topic, envelope(this.#instance, message)).catch((error: unknown) => this.#onError(error, topic));
  }

  subscribe(topic: string, handler: BusHandler): () => void {
    let handlers = this.#handlers.get(topic);
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(topic, handlers);
      this.#subscriber.subscribe(this.#prefix + topic).catch((error: unknown) => this.#onError(error, topic));
    }
    handlers.add(handler);
    return () => {
      handlers.delete(handler);
    };
  }

  async close(): Promise<void> {
    this.#handlers.clear();
  }
}

const HOLD = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if current then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * A lease held by one instance at a time (work that must run once per deployment: webhook
 * delivery). hold() takes it when free and renews it when held; it lapses `ttlMs` after the
 * holder stops renewing (a dead instance), and another instance takes it over.
 */
export class RedisLease {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #ttlMs: number;
  readonly #holder = randomUUID();

  constructor(redis: Redis, name: string, options: RedisOptions & { ttlMs?: number } = {}) {
    this.#redis = redis;
    this.#key = `${options.prefix ?? 'locus'}:lease:${name}`;
    this.#ttlMs = options.ttlMs ?? 10_000;
    this.#redis.defineCommand('locusHold', { numberOfKeys: 1, lua: HOLD });
    this.#redis.defineCommand('locusRelease', { numberOfKeys: 1, lua: RELEASE });
  }

  /** True while this instance holds the lease (taken or renewed by this call). */
  async hold(): Promise<boolean> {
    const run = (this.#redis as unknown as { locusHold: (key: string, holder: string, ttl: number) => Promise<number> }).locusHold;
    return (await run.call(this.#redis, this.#key, this.#holder, this.#ttlMs)) === 1;
  }

  async release(): Promise<void> {
    const run = (this.#redis as unknown as { locusRelease: (key: string, holder: string) => Promise<number> }).locusRelease;
    await run.call(this.#redis, this.#key, this.#holder);
  }
}
