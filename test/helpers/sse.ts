// A real SSE client (the `eventsource` package, the WHATWG EventSource for Node) that records what
// a Locus stream sends. Headers are computed per connection, so signed requests get a fresh nonce.
import { EventSource } from 'eventsource';
import { EVENT_TYPES } from '../../src/modules/events/types.ts';

export interface Received {
  /** The SSE event name: an event type, or `reset` / `closing`. */
  type: string;
  /** The id of the message, or of the last message that had one. */
  lastEventId: string;
  data: Record<string, unknown> & { id?: string; userId?: string; data?: Record<string, unknown> };
}

export class StreamClient {
  readonly received: Received[] = [];
  readonly source: EventSource;
  /** Resolves when the server ended the stream (or refused it); the client does not reconnect. */
  readonly ended: Promise<{ status: number | undefined }>;
  readonly opened: Promise<void>;
  #waiters: Array<() => void> = [];

  constructor(url: string, headers: () => Record<string, string>) {
    this.source = new EventSource(url, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers() } }),
    });
    for (const type of [...EVENT_TYPES, 'reset', 'closing']) {
      this.source.addEventListener(type, (message) => {
        this.received.push({ type, lastEventId: message.lastEventId, data: JSON.parse(message.data) as Received['data'] });
        for (const wake of this.#waiters.splice(0)) wake();
      });
    }
    let open: () => void = () => undefined;
    this.opened = new Promise((resolve) => (open = resolve));
    this.source.addEventListener('open', () => open());
    this.ended = new Promise((resolve) => {
      this.source.addEventListener('error', (error) => {
        this.source.close();
        resolve({ status: (error as { code?: number }).code });
        open();
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  /** Event messages only (no reset/closing). */
  get events(): Received[] {
    return this.received.filter((message) => message.type !== 'reset' && message.type !== 'closing');
  }

  /** Waits until `predicate` holds for what was received (or the stream ended, or 10 s passed: then it throws). */
  async until(predicate: (received: Received[]) => boolean, what = 'the expected messages'): Promise<Received[]> {
    const deadline = Date.now() + 10_000;
    while (!predicate(this.received)) {
      if (this.source.readyState === EventSource.CLOSED)
        throw new Error(`the stream ended before ${what}: ${JSON.stringify(this.received.map((r) => r.type))}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(this.received.map((r) => r.type))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received;
  }

  async untilCount(count: number): Promise<Received[]> {
    await this.until((received) => received.filter((m) => m.type !== 'reset' && m.type !== 'closing').length >= count, `${count} events`);
    return this.events;
  }

  close(): void {
    this.source.close();
  }
}
