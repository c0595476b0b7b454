// The `kv` seam: fast, shared state (nonces, login counters, presence; rate limits and caches later).
// In-memory in the embedded mode; a Redis implementation with the same contract comes with scale-out.
import type { Clock } from './clock.ts';

export interface Kv {
  /** Stores `key` for `ttlMs` unless it is already present; true when this call stored it. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Adds 1 to a counter and returns the new count; a new counter expires `ttlMs` after it starts. */
  increment(key: string, ttlMs: number): Promise<number>;
  /** The live value of `key`, or null. */
  get(key: string): Promise<string | null>;
  delete(key: string): Promise<void>;
  /** Stores `key` with no expiry (state that lives until it is replaced or deleted). */
  set(key: string, value: string): Promise<void>;
  /** The live values of `keys`, in order (null where absent). */
  getMany(keys: readonly string[]): Promise<Array<string | null>>;
  close(): Promise<void>;
}

interface Entry {
  /** Counters stay numbers (no string round trip on every increment); read back as strings. */
  value: string | number;
  expiresAt: number;
}

export class MemoryKv implements Kv {
  /** Entries with an expiry, in roughly expiry order (see sweep). */
  readonly #entries = new Map<string, Entry>();
  /** Entries without one: kept apart so they never stop a sweep. */
  readonly #lasting = new Map<string, string>();
  readonly #clock: Clock;
  readonly #sweeper: NodeJS.Timeout;

  constructor(clock: Clock, sweepEveryMs = 5_000) {
    this.#clock = clock;
    this.#sweeper = setInterval(() => this.sweep(), sweepEveryMs);
    this.#sweeper.unref();
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.setIfAbsentNow(key, value, ttlMs);
  }

  /** `setIfAbsent` without a promise (in process there is nothing to wait for): for per-request nonces. */
  setIfAbsentNow(key: string, value: string, ttlMs: number): boolean {
    const now = this.#clock.now();
    const existing = this.#entries.get(key);
    if ((existing && existing.expiresAt > now) || this.#lasting.has(key)) return false;
    // An expired entry is deleted first, so the key moves to the end of the (roughly expiry-ordered) map.
    if (existing) this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: now + ttlMs });
    return true;
  }

  async increment(key: string, ttlMs: number): Promise<number> {
    return this.incrementNow(key, ttlMs);
  }

  /** `increment` without a promise (in process there is nothing to wait for): for per-request counters. */
  incrementNow(key: string, ttlMs: number): number {
    const now = this.#clock.now();
    const existing = this.#entries.get(key);
    if (existing && existing.expiresAt > now) {
      const count = (typeof existing.value === 'number' ? existing.value : Number(existing.value)) + 1;
      existing.value = count;
      return count;
    }
    if (existing) this.#entries.delete(key);
    this.#entries.set(key, { value: 1, expiresAt: now + ttlMs });
    return 1;
  }

  async get(key: string): Promise<string | null> {
    return this.#read(key, this.#clock.now());
  }

  #read(key: string, now: number): string | null {
    const lasting = this.#lasting.get(key);
    if (lasting !== undefined) return lasting;
    const existing = this.#entries.get(key);
    return existing && existing.expiresAt > now ? String(existing.value) : null;
  }

  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    const now = this.#clock.now();
    return keys.map((key) => this.#read(key, now));
  }

  async set(key: string, value: string): Promise<void> {
    this.#entries.delete(key);
    this.#lasting.set(key, value);
  }

  async delete(key: string): Promise<void> {
    this.#entries.delete(key);
    this.#lasting.delete(key);
  }

  get size(): number {
    return this.#entries.size + this.#lasting.size;
  }

  /**
   * Drops expired entries from the front of the map. Insertion order approximates expiry order
   * (TTLs are similar), so this stops at the first live entry instead of scanning everything;
   * an expired entry behind a live one is dropped on a later sweep or on its next write.
   */
  sweep(): void {
    const now = this.#clock.now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > now) break;
      this.#entries.delete(key);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#entries.clear();
    this.#lasting.clear();
  }
}
