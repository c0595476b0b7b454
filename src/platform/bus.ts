// The `bus` seam: messages to every subscriber of a topic (presence transitions, event-log pokes,
// cache invalidation). In-process in the embedded mode; Redis pub/sub (redis.ts) across instances.
import { randomUUID } from 'node:crypto';

export type BusHandler = (message: unknown) => void;

export interface Bus {
  publish(topic: string, message: unknown): void;
  /** Returns the unsubscribe function. */
  subscribe(topic: string, handler: BusHandler): () => void;
  close(): Promise<void>;
}

export class MemoryBus implements Bus {
  readonly #handlers = new Map<string, Set<BusHandler>>();
  readonly #onError: (error: unknown, topic: string) => void;

  constructor(onError: (error: unknown, topic: string) => void = () => {}) {
    this.#onError = onError;
  }

  publish(topic: string, message: unknown): void {
    for (const handler of this.#handlers.get(topic) ?? []) {
      try {
        handler(message);
      } catch (error) {
        // One failing subscriber must not stop the others, nor the publisher.
        this.#onError(error, topic);
      }
    }
  }

  subscribe(topic: string, handler: BusHandler): () => void {
    let handlers = this.#handlers.get(topic);
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(topic, handlers);
    }
    handlers.add(handler);
    return () => {
      handlers.delete(handler);
    };
  }

  async close(): Promise<void> {
    this.#handlers.clear();
  }
}

/**
 * For state every instance caches (token states, known users): returns a function that tells the
 * other instances sharing the bus about a change, which `onRemote` then applies there. The caller
 * applies it locally itself, before answering; its own message comes back to it and is skipped.
 */
export function broadcaster<T>(bus: Bus, topic: string, onRemote: (message: T) => void): (message: T) => void {
  const origin = randomUUID();
  bus.subscribe(topic, (raw) => {
    const envelope = raw as { origin?: unknown; body?: unknown };
    if (envelope.origin !== origin) onRemote(envelope.body as T);
  });
  return (body) => bus.publish(topic, { origin, body });
}
