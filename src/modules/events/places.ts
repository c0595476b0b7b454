// Open-stream places (docs/events.md): an application's streams and each user's streams are capped
// (`maxStreamsPerApp`, `maxStreamsPerUser`). A stream takes a place before it opens and gives it
// back when it closes; past the limit the request is a 429 `limit_exceeded`.
// - In process (the embedded mode): a count per holder.
// - With Redis (several instances): one sorted set per holder, a member per open stream scored
//   by its lease's end (Redis's own clock). Taking a place drops lapsed members, counts and adds in
//   one script, so the cap holds across instances. Each instance renews its streams' leases; a
//   crashed instance's places lapse within STREAM_LEASE_MS.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ApiError } from '../../errors.ts';

/** How long a place outlives its instance's last renewal (a crashed instance's streams). */
export const STREAM_LEASE_MS = 60_000;
/** How often an instance renews the leases of the streams it holds open. */
export const STREAM_RENEW_MS = 20_000;

export interface StreamPlaces {
  /** Takes a place for `holder` (at most `limit`), or throws 429 `limit_exceeded`; returns the release (idempotent). */
  take(holder: string, limit: number, what: string): Promise<() => void>;
  close(): Promise<void>;
}

function limitExceeded(limit: number, open: number, what: string): ApiError {
  return new ApiError('limit_exceeded', `At most ${limit} open ${what}: close one first`, { limit, open }, { 'retry-after': '1' }, 429);
}

/** Gives back once, however often it is called. */
function once(release: () => void): () => void {
  let given = false;
  return () => {
    if (given) return;
    given = true;
    release();
  };
}

export class LocalStreamPlaces implements StreamPlaces {
  readonly #open = new Map<string, number>();

  async take(holder: string, limit: number, what: string): Promise<() => void> {
    const open = this.#open.get(holder) ?? 0;
    if (open >= limit) throw limitExceeded(limit, open, what);
    this.#open.set(holder, open + 1);
    return once(() => {
      const left = (this.#open.get(holder) ?? 1) - 1;
      if (left <= 0) this.#open.delete(holder);
      else this.#open.set(holder, left);
    });
  }

  async close(): Promise<void> {
    this.#open.clear();
  }
}

// KEYS[1] the holder's set; ARGV: member, limit, lease ms. Returns -1 when taken, else the open count.
const TAKE = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local open = redis.call('ZCARD', KEYS[1])
if open >= tonumber(ARGV[2]) then return open end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return -1`;

// KEYS: holders' sets; ARGV[1] lease ms, then one member per key. Extends only members still present.
const RENEW = `
local time = redis.call('TIME')
local until_ = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) + tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', until_, ARGV[i + 1])
  redis.call('PEXPIRE', key, tonumber(ARGV[1]) * 2)
end
return 0`;

type Scripted = Redis & {
  locusTakePlace(key: string, member: string, limit: number, leaseMs: number): Promise<number>;
  locusRenewPlaces(keyCount: number, ...keysThenArgs: Array<string | number>): Promise<number>;
};

export class RedisStreamPlaces implements StreamPlaces {
  readonly #redis: Scripted;
  readonly #prefix: string;
  /** This instance's open places: member → the holder's key. */
  readonly #held = new Map<string, string>();
  readonly #renewer: NodeJS.Timeout;
  readonly #leaseMs: number;

  constructor(redis: Redis, prefix: string, onError: (error: unknown) => void, leaseMs = STREAM_LEASE_MS) {
    this.#leaseMs = leaseMs;
    redis.defineCommand('locusTakePlace', { numberOfKeys: 1, lua: TAKE });
    redis.defineCommand('locusRenewPlaces', { lua: RENEW });
    this.#redis = redis as Scripted;
    this.#prefix = `${prefix}:streams:`;
    this.#renewer = setInterval(() => void this.renew().catch(onError), STREAM_RENEW_MS);
    this.#renewer.unref();
  }

  async take(holder: string, limit: number, what: string): Promise<() => void> {
    const key = this.#prefix + holder;
    const member = randomUUID();
    const open = await this.#redis.locusTakePlace(key, member, limit, this.#leaseMs);
    if (open !== -1) throw limitExceeded(limit, open, what);
    this.#held.set(member, key);
    return once(() => {
      this.#held.delete(member);
      // Best effort: a place that cannot be given back now lapses with its lease.
      this.#redis.zrem(key, member).catch(() => undefined);
    });
  }

  /** Extends the leases of every place this instance holds (one script per 500 places). */
  async renew(): Promise<void> {
    const held = [...this.#held];
    for (let i = 0; i < held.length; i += 500) {
      const batch = held.slice(i, i + 500);
      await this.#redis.locusRenewPlaces(batch.length, ...batch.map(([, key]) => key), this.#leaseMs, ...batch.map(([member]) => member));
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#renewer);
    const held = [...this.#held];
    this.#held.clear();
    await Promise.all(held.map(([member, key]) => this.#redis.zrem(key, member).catch(() => undefined)));
  }
}
