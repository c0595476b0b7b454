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

/**
 * Runs `task` every `ms` (counted from the end of the previous run, so runs never overlap) until
 * the returned stop() is called; a failing run is reported to `onError` and the loop goes on.
 */
export function repeat(timers: Timers, ms: number, task: () => Promise<unknown>, onError: (error: unknown) => void): { stop(): void } {
  let stopped = false;
  let handle: unknown = null;
  const arm = () => {
    handle = timers.set(() => {
      task()
        .catch(onError)
        .finally(() => {
          if (!stopped) arm();
        });
    }, ms);
  };
  arm();
  return {
    stop() {
      stopped = true;
      timers.clear(handle);
    },
  };
}
