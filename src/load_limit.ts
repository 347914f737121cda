/**
 * Bounds how many loads a node sends to its database at once. Singleflight already makes one load per
 * key; this bounds the loads of many different cold keys, so a burst of misses cannot exhaust the
 * database. A load that cannot start within its wait fails rather than queueing without end.
 * @module
 */

/** A counting semaphore with a bounded wait. */
export class LoadLimit {
  readonly #max: number;
  readonly #waitMs: number;
  #running = 0;
  #refused = 0;
  readonly #queue: (() => void)[] = [];

  /**
   * @param max Loads that may run at once.
   * @param waitMs Longest a load waits for its turn before failing.
   * @example
   * ```ts
   * const limit = new LoadLimit(2, 1000);
   * await limit.run(() => Promise.resolve("row")); // "row"
   * ```
   */
  constructor(max: number, waitMs: number) {
    this.#max = max;
    this.#waitMs = waitMs;
  }

  /** Loads that may run at once. */
  get max(): number {
    return this.#max;
  }

  /** Loads refused so far because no turn came within the wait. */
  get refused(): number {
    return this.#refused;
  }

  /** Loads running now. */
  get running(): number {
    return this.#running;
  }

  /** Loads waiting for a turn. */
  get waiting(): number {
    return this.#queue.length;
  }

  /**
   * Runs `load` when fewer than `max` loads are running.
   *
   * @throws An Error naming the limit when no turn came within the wait.
   */
  async run<T>(load: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#max) await this.#turn();
    this.#running++;
    try {
      return await load();
    } finally {
      this.#running--;
      this.#queue.shift()?.();
    }
  }

  #turn(): Promise<void> {
    return new Promise((resolve, reject) => {
      const go = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#queue.splice(this.#queue.indexOf(go), 1);
        this.#refused++;
        reject(new Error(`${this.#max} loads already in flight and none finished within ${this.#waitMs} ms`));
      }, this.#waitMs);
      this.#queue.push(go);
    });
  }
}
