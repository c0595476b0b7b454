// A per-instance read cache whose entries go when what they copy changes: the writer evicts them
// once its change committed, here and (through the bus) on the other instances. Bounded by a count
// and, optionally, by a weight (bytes); past either, the oldest entries go (they reload).
//
// A generation counter, bumped by every eviction, closes the race between a read and a change: the
// caller takes `generation` before it reads the database and hands it to `set`, which keeps nothing
// when an eviction came in between (what was read may predate that change).

export interface CacheLimits<V> {
  /** Entries kept at most. */
  entries: number;
  /** With `weight`: the total weight kept at most; a single value over a tenth of it is not kept. */
  maxWeight?: number;
  weight?: (value: V) => number;
}

export class EvictedCache<V> {
  readonly #entries = new Map<string, { value: V; weight: number }>();
  readonly #limits: CacheLimits<V>;
  #weight = 0;
  #generation = 0;

  constructor(limits: CacheLimits<V>) {
    this.#limits = limits;
  }

  /** Take before reading the database; hand it to `set` with what was read. */
  get generation(): number {
    return this.#generation;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): V | undefined {
    return this.#entries.get(key)?.value;
  }

  /** Keeps `value` unless an eviction came since `generation`, or it weighs too much. */
  set(key: string, value: V, generation: number): void {
    if (generation !== this.#generation) return;
    const weight = this.#limits.weight?.(value) ?? 0;
    const maxWeight = this.#limits.maxWeight ?? Number.POSITIVE_INFINITY;
    this.#drop(key);
    if (weight > maxWeight / 10) return;
    while (this.#entries.size > 0 && (this.#entries.size >= this.#limits.entries || this.#weight + weight > maxWeight)) {
      this.#drop(this.#entries.keys().next().value as string);
    }
    this.#entries.set(key, { value, weight });
    this.#weight += weight;
  }

  /** Drops these entries; a read in flight since before this call keeps nothing. */
  evict(keys: Iterable<string>): void {
    this.#generation += 1;
    for (const key of keys) this.#drop(key);
  }

  #drop(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#weight -= entry.weight;
  }
}
