// A clock that moves only when a test moves it.
import type { Clock } from '../../src/platform/clock.ts';

export class ManualClock implements Clock {
  constructor(private time = Date.parse('2026-11-23T10:00:00.000Z')) {}

  now(): number {
    return this.time;
  }

  advance(ms: number): void {
    this.time += ms;
  }
}
