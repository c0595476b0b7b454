// The `kv` seam: fast, short-lived shared state (nonces now; rate limits, presence and caches later).
// In-memory in the embedded mode; a Redis implementation with the same contract comes with scale-out.
import type { Clock } from './clock.ts';

export interface Kv {
  /** Stores `key` for `ttlMs` unless it is already present; true when this call stored it. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
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
