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

interface Entry<V> {
  scope: string;
  id: string;
  value: V;
  weight: number;
}

/**
 * Entries are named by a scope (an application) and an id within it, and found through one map per
 * scope: a read looks up the two strings it already holds (their hashes cached by the engine) and
 * never builds a joined key, which would be hashed afresh on every request.
 */
export class EvictedCache<V> {
  readonly #scopes = new Map<string, Map<string, Entry<V>>>();
  /** Every entry, oldest first: the bounds drop from the front. Its size is the entry count. */
  readonly #order = new Set<Entry<V>>();
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
    return this.#order.size;
  }

  get(scope: string, id: string): V | undefined {
    return this.#scopes.get(scope)?.get(id)?.value;
  }

  /** Keeps `value` unless an eviction came since `generation`, or it weighs too much. */
  set(scope: string, id: string, value: V, generation: number): void {
    if (generation !== this.#generation) return;
    const weight = this.#limits.weight?.(value) ?? 0;
    const maxWeight = this.#limits.maxWeight ?? Number.POSITIVE_INFINITY;
    this.#drop(scope, id);
    if (weight > maxWeight / 10) return;
    while (this.#order.size > 0 && (this.#order.size >= this.#limits.entries || this.#weight + weight > maxWeight)) {
      this.#remove(this.#order.values().next().value as Entry<V>);
    }
    const entry: Entry<V> = { scope, id, value, weight };
    let ids = this.#scopes.get(scope);
    if (ids === undefined) this.#scopes.set(scope, (ids = new Map<string, Entry<V>>()));
    ids.set(id, entry);
    this.#order.add(entry);
    this.#weight += weight;
  }

  /** Drops these entries of one scope; a read in flight since before this call keeps nothing. */
  evict(scope: string, ids: Iterable<string>): void {
    this.#generation += 1;
    for (const id of ids) this.#drop(scope, id);
  }

  #drop(scope: string, id: string): void {
    const entry = this.#scopes.get(scope)?.get(id);
    if (entry !== undefined) this.#remove(entry);
  }

  #remove(entry: Entry<V>): void {
    const ids = this.#scopes.get(entry.scope);
    ids?.delete(entry.id);
    if (ids?.size === 0) this.#scopes.delete(entry.scope);
    this.#order.delete(entry);
    this.#weight -= entry.weight;
  }
}
