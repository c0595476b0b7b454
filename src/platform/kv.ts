// The `kv` seam: fast, short-lived shared state (nonces now; rate limits, presence and caches later).
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
  close(): Promise<void>;
}

interface Entry {
  value: string;
  expiresAt: number;
}

export class MemoryKv implements Kv {
  readonly #entries = new Map<string, Entry>();
  readonly #clock: Clock;
  readonly #sweeper: NodeJS.Timeout;

  constructor(clock: Clock, sweepEveryMs = 5_000) {
    this.#clock = clock;
    this.#sweeper = setInterval(() => this.sweep(), sweepEveryMs);
    this.#sweeper.unref();
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    const now = this.#clock.now();
    const existing = this.#entries.get(key);
    if (existing && existing.expiresAt > now) return false;
    // Delete first so the re-inserted key moves to the end of the (roughly expiry-ordered) map.
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: now + ttlMs });
    return true;
  }

  async increment(key: string, ttlMs: number): Promise<number> {
    const now = this.#clock.now();
    const existing = this.#entries.get(key);
    if (existing && existing.expiresAt > now) {
      const count = Number(existing.value) + 1;
      existing.value = String(count);
      return count;
    }
    this.#entries.delete(key);
    this.#entries.set(key, { value: '1', expiresAt: now + ttlMs });
    return 1;
  }

  async get(key: string): Promise<string | null> {
    const existing = this.#entries.get(key);
    return existing && existing.expiresAt > this.#clock.now() ? existing.value : null;
  }

  async delete(key: string): Promise<void> {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
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
  }
}
