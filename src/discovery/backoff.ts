/**
 * Capped exponential back-off for retrying etcd: quick first retries so a short blip heals fast, a
 * ceiling so a long outage costs little and recovery is noticed within a second or so.
 * @module
 */

/** A retry delay that doubles from `initialMs` up to `maxMs`, with jitter so nodes do not retry in step. */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  #next: number;

  /**
   * @param initialMs The first delay.
   * @param maxMs The largest delay.
   */
  constructor(initialMs = 100, maxMs = 1000) {
    this.#initialMs = initialMs;
    this.#maxMs = maxMs;
    this.#next = initialMs;
  }

  /** The delay before the next attempt (between half and all of the current step). */
  delay(): number {
    const step = this.#next;
    this.#next = Math.min(step * 2, this.#maxMs);
    return step / 2 + Math.random() * step / 2;
  }

  /** Starts again from the first delay, after a success. */
  reset(): void {
    this.#next = this.#initialMs;
  }
}
