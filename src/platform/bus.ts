// The `bus` seam: messages to every subscriber of a topic (presence transitions now; events and
// cache invalidation later). In-process in the embedded mode; Redis pub/sub comes with scale-out.
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
