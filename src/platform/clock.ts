// Time as a dependency: everything that expires (replay windows, tokens, presence) reads clock.now().
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
