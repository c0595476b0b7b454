// A task that runs one at a time however often it is asked for: a request while it runs makes
// exactly one more run after it (so nothing asked for during a run is missed, and a burst of
// requests costs two runs, not one each). The event feeds and webhook readers run on it.
export class CoalescedTask {
  readonly #task: () => Promise<void>;
  readonly #onError: (error: unknown) => void;
  #running: Promise<void> | null = null;
  #again = false;

  constructor(task: () => Promise<void>, onError: (error: unknown) => void) {
    this.#task = task;
    this.#onError = onError;
  }

  get running(): boolean {
    return this.#running !== null;
  }

  /** Asks for a run; resolves when the runs this request may join have finished. */
  run(): Promise<void> {
    if (this.#running !== null) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#loop();
    return this.#running;
  }

  async #loop(): Promise<void> {
    try {
      do {
        this.#again = false;
        try {
          await this.#task();
        } catch (error) {
          this.#onError(error);
        }
      } while (this.#again);
    } finally {
      this.#running = null;
    }
  }
}
