// The transition schedule: one pending due time per key (a user), in an indexed binary min-heap.
// Setting a key again moves its entry (so a re-set presence cancels the pending transition rather
// than leaving a stale one behind), and removal is O(log n): memory stays one entry per user with
// a pending transition, however often presences are re-set.
export interface Due {
  key: string;
  dueAt: number;
}

export class TransitionSchedule {
  readonly #heap: Due[] = [];
  readonly #index = new Map<string, number>();

  get size(): number {
    return this.#heap.length;
  }

  /** The earliest due time, or null when nothing is pending. */
  peek(): Due | null {
    return this.#heap[0] ?? null;
  }

  has(key: string): boolean {
    return this.#index.has(key);
  }

  dueAt(key: string): number | null {
    const at = this.#index.get(key);
    return at === undefined ? null : (this.#heap[at] as Due).dueAt;
  }

  /** Schedules `key` at `dueAt`, replacing its pending entry if any. */
  set(key: string, dueAt: number): void {
    const at = this.#index.get(key);
    if (at === undefined) {
      this.#heap.push({ key, dueAt });
      this.#index.set(key, this.#heap.length - 1);
      this.#up(this.#heap.length - 1);
      return;
    }
    const entry = this.#heap[at] as Due;
    const earlier = dueAt < entry.dueAt;
    entry.dueAt = dueAt;
    if (earlier) this.#up(at);
    else this.#down(at);
  }

  delete(key: string): boolean {
    const at = this.#index.get(key);
    if (at === undefined) return false;
    this.#index.delete(key);
    const last = this.#heap.pop() as Due;
    if (at < this.#heap.length) {
      this.#heap[at] = last;
      this.#index.set(last.key, at);
      this.#down(at);
      this.#up(at);
    }
    return true;
  }

  /** Removes and returns the earliest entry if it is due at `now`, else null. */
  popDue(now: number): Due | null {
    const top = this.#heap[0];
    if (top === undefined || top.dueAt > now) return null;
    this.delete(top.key);
    return top;
  }

  #swap(i: number, j: number): void {
    const a = this.#heap[i] as Due;
    const b = this.#heap[j] as Due;
    this.#heap[i] = b;
    this.#heap[j] = a;
    this.#index.set(b.key, i);
    this.#index.set(a.key, j);
  }

  #less(i: number, j: number): boolean {
    return (this.#heap[i] as Due).dueAt < (this.#heap[j] as Due).dueAt;
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#heap.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < n && this.#less(left, smallest)) smallest = left;
      if (right < n && this.#less(right, smallest)) smallest = right;
      if (smallest === i) return;
      this.#swap(i, smallest);
      i = smallest;
    }
  }
}
