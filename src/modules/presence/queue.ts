// Where pending transitions wait: the `TransitionQueue` seam. In process, the indexed min-heap of
// schedule.ts; with several instances, a Redis sorted set (member: the user, score: the due time)
// from which due entries are claimed by a Lua script, so each transition is taken by exactly one
// instance, and none is lost with the instance that scheduled it.
import type { Redis } from 'ioredis';
import { TransitionSchedule, type Due } from './schedule.ts';

export interface TransitionQueue {
  /** Schedules (or moves) the key's next transition; `onlyIfAbsent` keeps an entry set meanwhile. */
  set(key: string, dueAt: number, onlyIfAbsent?: boolean): Promise<void>;
  delete(key: string): Promise<void>;
  has(key: string): Promise<boolean>;
  /** Removes and returns entries due at or before `now`, earliest first; each goes to one caller only. */
  claimDue(now: number): Promise<Due[]>;
  /** The earliest due time, or null (when to wake up next). */
  earliest(): Promise<number | null>;
  size(): Promise<number>;
  /** The longest the timer may sleep: other instances may add earlier entries meanwhile. */
  readonly maxSleepMs: number;
  /**
   * True for the process that must load the stored presences (and publish what fell due while
   * nothing ran): every process on its own queue; the first one to start on a shared queue.
   */
  claimLoad(): Promise<boolean>;
}

/** One process: claims one entry at a time, so a catch-up publishes across users in due order. */
export class MemoryTransitionQueue implements TransitionQueue {
  readonly #schedule = new TransitionSchedule();
  readonly maxSleepMs = 1_000;

  async set(key: string, dueAt: number, onlyIfAbsent = false): Promise<void> {
    if (onlyIfAbsent && this.#schedule.has(key)) return;
    this.#schedule.set(key, dueAt);
  }

  async delete(key: string): Promise<void> {
    this.#schedule.delete(key);
  }

  async has(key: string): Promise<boolean> {
    return this.#schedule.has(key);
  }

  async claimDue(now: number): Promise<Due[]> {
    const due = this.#schedule.popDue(now);
    return due === null ? [] : [due];
  }

  async earliest(): Promise<number | null> {
    return this.#schedule.peek()?.dueAt ?? null;
  }

  async size(): Promise<number> {
    return this.#schedule.size;
  }

  async claimLoad(): Promise<boolean> {
    return true;
  }
}

const CLAIM_DUE = `
local items = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[2])
for i = 1, #items, 2 do redis.call('ZREM', KEYS[1], items[i]) end
return items`;

/** Entries claimed per round trip. */
const CLAIM_BATCH = 200;

/** Shared by every instance on one Redis. Order is kept per user (a user's next entry exists only once its current one fired). */
export class RedisTransitionQueue implements TransitionQueue {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #loadedKey: string;
  readonly maxSleepMs = 250;

  constructor(redis: Redis, prefix = 'locus') {
    this.#redis = redis;
    this.#key = `${prefix}:presence:schedule`;
    this.#loadedKey = `${prefix}:presence:loaded`;
    this.#redis.defineCommand('locusClaimDue', { numberOfKeys: 1, lua: CLAIM_DUE });
  }

  async set(key: string, dueAt: number, onlyIfAbsent = false): Promise<void> {
    if (onlyIfAbsent) await this.#redis.zadd(this.#key, 'NX', dueAt, key);
    else await this.#redis.zadd(this.#key, dueAt, key);
  }

  async delete(key: string): Promise<void> {
    await this.#redis.zrem(this.#key, key);
  }

  async has(key: string): Promise<boolean> {
    return (await this.#redis.zscore(this.#key, key)) !== null;
  }

  async claimDue(now: number): Promise<Due[]> {
    const run = (this.#redis as unknown as { locusClaimDue: (key: string, now: number, limit: number) => Promise<string[]> }).locusClaimDue;
    const items = await run.call(this.#redis, this.#key, now, CLAIM_BATCH);
    const due: Due[] = [];
    for (let i = 0; i + 1 < items.length; i += 2) due.push({ key: items[i] as string, dueAt: Number(items[i + 1]) });
    return due;
  }

  async earliest(): Promise<number | null> {
    const first = await this.#redis.zrange(this.#key, 0, 0, 'WITHSCORES');
    return first.length === 2 ? Number(first[1]) : null;
  }

  async size(): Promise<number> {
    return this.#redis.zcard(this.#key);
  }

  async claimLoad(): Promise<boolean> {
    return (await this.#redis.set(this.#loadedKey, '1', 'NX')) === 'OK';
  }
}
