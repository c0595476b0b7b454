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

/**
 * Expired entries a timed sweep drops before it yields to the event loop (a millisecond or so of
 * work); it goes on with the rest on the next turn. Under a signed flood (10,000 requests a second)
 * 50,000 nonces expire between two sweeps, and dropping them in one go paused every request for
 * 18–39 ms.
 */
export const SWEEP_SLICE = 2_000;

export class MemoryKv implements Kv {
  /** Entries with an expiry, in roughly expiry order (see sweep). */
  readonly #entries = new Map<string, Entry>();
  /** Entries without one: kept apart so they never stop a sweep. */
  readonly #lasting = new Map<string, string>();
  readonly #clock: Clock;
  readonly #sweeper: NodeJS.Timeout;
  /** The next slice of a sweep that stopped at SWEEP_SLICE entries. */
  #sweeping: NodeJS.Immediate | null = null;

  constructor(clock: Clock, sweepEveryMs = 5_000) {
    this.#clock = clock;
    this.#sweeper = setInterval(() => {
      if (this.#sweeping === null) this.#sweepInSlices();
    }, sweepEveryMs);
    this.#sweeper.unref();
  }

  #sweepInSlices(): void {
    this.#sweeping = null;
    if (this.sweep(SWEEP_SLICE)) {
      this.#sweeping = setImmediate(() => this.#sweepInSlices());
      this.#sweeping.unref();
    }
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
   * an expired entry behind a live one is dropped on a later sweep or on its next write. Drops at
   * most `limit` entries; true when it stopped there with expired entries left at the front.
   */
  sweep(limit = Infinity): boolean {
    const now = this.#clock.now();
    let dropped = 0;
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > now) return false;
      if (dropped === limit) return true;
      this.#entries.delete(key);
      dropped += 1;
    }
    return false;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    if (this.#sweeping !== null) clearImmediate(this.#sweeping);
    this.#sweeping = null;
    this.#entries.clear();
    this.#lasting.clear();
  }
}
