// The `timers` seam: where background loops (presence transitions and write-behind, event
// keep-alives, retention, webhook retries) get their timers. Real, unref'd timers in production;
// tests pass their own and fire them as a manual clock passes their time.
export interface Timers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: Timers = {
  set(callback, ms) {
    const handle = setTimeout(callback, ms);
    handle.unref();
    return handle;
  },
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
