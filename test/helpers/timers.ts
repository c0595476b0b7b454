// Timers a test fires as its manual clock passes their time (services arm them as in production).
import type { Timers } from '../../src/platform/timers.ts';
import type { ManualClock } from './clock.ts';

interface Pending {
  callback: () => void;
  at: number;
}

export class ManualTimers implements Timers {
  readonly pending = new Set<Pending>();

  constructor(private readonly clock: ManualClock) {}

  set(callback: () => void, ms: number): unknown {
    const timer = { callback, at: this.clock.now() + ms };
    this.pending.add(timer);
    return timer;
  }

  clear(handle: unknown): void {
    this.pending.delete(handle as Pending);
  }

  /** Fires every timer due by now (in due order), then lets what they started run a turn. */
  async fireDue(): Promise<number> {
    const due = [...this.pending].filter((timer) => timer.at <= this.clock.now()).sort((a, b) => a.at - b.at);
    for (const timer of due) {
      this.pending.delete(timer);
      timer.callback();
    }
    await new Promise((resolve) => setImmediate(resolve));
    return due.length;
  }

  /** Moves the clock in steps of `stepMs`, firing what falls due at each step. */
  async advance(totalMs: number, stepMs: number): Promise<void> {
    for (let passed = 0; passed < totalMs; passed += stepMs) {
      this.clock.advance(Math.min(stepMs, totalMs - passed));
      await this.fireDue();
    }
  }
}
