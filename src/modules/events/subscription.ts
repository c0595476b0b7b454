// One consumer of an application's event log (an SSE stream): a queue bounded at MAX_QUEUED_EVENTS
// drained at the consumer's pace; a consumer that falls further behind is closed with a reason and
// resumes by id, so it never holds up the feed or the other subscriptions.
import type { EventFilter, LoggedEvent } from './store.ts';

/** Events queued for one stream before it counts as too far behind and is closed. */
export const MAX_QUEUED_EVENTS = 1_000;

/** Where a subscription writes: an SSE response in production. */
export interface EventSink {
  /** Writes one event; resolves when the connection can take more. */
  send(event: LoggedEvent): Promise<void>;
  /** Writes a named message without an id (`reset`, `closing`). */
  control(name: string, data: Record<string, unknown>): Promise<void>;
  /** A keep-alive comment. */
  comment(): void;
  close(): void;
}

export interface SubscribeOptions {
  applicationId: string;
  /** Resume after this id; null: from now on. */
  after: number | null;
  /** Narrows the history read when resuming (the same as `matches`, or wider). */
  filter: EventFilter;
  matches(event: LoggedEvent): boolean;
  /** Asked as each matched event is about to be written (in order): false skips it (privacy). */
  admit?(event: LoggedEvent): Promise<boolean>;
  /** After an event was written: true closes the stream (a user stream's own token.revoked). */
  endsWith?(event: LoggedEvent): boolean;
  /** Checked at each keep-alive: a reason (an expired token) closes the stream with it; null keeps it. */
  stillAllowed?(): Promise<string | null>;
  sink: EventSink;
}

export class Subscription {
  cursor = 0;
  live = false;
  closed = false;
  /** The last id written to the client (what it resumes from). */
  lastSent = 0;
  readonly #queue: LoggedEvent[] = [];
  #writing = false;
  #onClose: Array<() => void> = [];
  /** Waiting for the queue to be written out (a resuming stream's history reader). */
  #idleWaiters: Array<() => void> = [];

  constructor(readonly options: SubscribeOptions) {}

  onClose(callback: () => void): void {
    this.#onClose.push(callback);
  }

  /** Takes an event the subscription matches (never blocks: it queues or closes). */
  offer(event: LoggedEvent): void {
    if (this.closed) return;
    if (this.#queue.length >= MAX_QUEUED_EVENTS) {
      this.end('too_far_behind');
      return;
    }
    this.#queue.push(event);
    if (!this.#writing) void this.#drain();
  }

  /** Waits until everything queued is written (history catch-up writes at the client's pace). */
  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      for (let event = this.#queue.shift(); event !== undefined && !this.closed; event = this.#queue.shift()) {
        if (this.options.admit && !(await this.options.admit(event))) continue;
        if (this.closed) break;
        await this.options.sink.send(event);
        this.lastSent = event.seq;
        if (this.options.endsWith?.(event)) {
          this.#finish();
          return;
        }
      }
    } catch {
      this.#finish();
    } finally {
      this.#writing = false;
      for (const wake of this.#idleWaiters.splice(0)) wake();
    }
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Resolves once everything queued has been written (or the stream closed). */
  async idle(): Promise<void> {
    if (!this.#writing || this.closed) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Closes with a `closing` message naming the reason and where to resume. */
  end(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.#queue.length = 0;
    // Written past the queue's bound (it is the last message); not awaited: a client that reads
    // nothing must not keep the stream open.
    this.options.sink.control('closing', { reason, lastEventId: this.lastSent === 0 ? null : String(this.lastSent) }).catch(() => undefined);
    this.#finish();
  }

  /** The client went away, or the stream ended: no more writes, callbacks run once. */
  #finish(): void {
    this.closed = true;
    this.#queue.length = 0;
    this.options.sink.close();
    const callbacks = this.#onClose;
    this.#onClose = [];
    for (const callback of callbacks) callback();
    for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  disconnected(): void {
    if (!this.closed) this.#finish();
  }
}
