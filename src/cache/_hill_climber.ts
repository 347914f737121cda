/**
 * Tunes one fraction (the share of a cache given to its admission window) by hill climbing on the hit
 * ratio: keep stepping the way that last made the hit ratio rise, turn round when it falls, and take
 * smaller steps as the climb settles, larger again when the workload visibly changes.
 * @module
 */

/** Step taken first, and again after a large change in hit ratio: a sixteenth of the cache. */
const INITIAL_STEP = 0.0625;
/** Each sample's step is this much of the previous one, so the fraction settles instead of oscillating. */
const STEP_DECAY = 0.98;
/** A hit ratio change this large means the workload changed: climb with full steps again. */
const RESTART_THRESHOLD = 0.05;

/**
 * A hill climber over a fraction in `[min, max]`, fed one hit ratio per sample period.
 *
 * @example
 * ```ts
 * import { HillClimber } from "./_hill_climber.ts";
 * const climber = new HillClimber(0.01, 0, 0.8);
 * climber.sample(0.5); // the first step grows the fraction
 * climber.fraction > 0.01; // true
 * ```
 */
export class HillClimber {
  /** The current fraction. */
  fraction: number;
  readonly #min: number;
  readonly #max: number;
  #step = INITIAL_STEP;
  #previous = 0;

  /**
   * @param initial Starting fraction.
   * @param min Smallest fraction allowed.
   * @param max Largest fraction allowed.
   */
  constructor(initial: number, min: number, max: number) {
    this.fraction = initial;
    this.#min = min;
    this.#max = max;
  }

  /**
   * Moves the fraction straight to `fraction`, when something other than the climb shows it is better;
   * the climb goes on from there with full steps, first further the same way.
   *
   * @param fraction The new fraction, clamped to the range.
   */
  jump(fraction: number): void {
    const target = Math.min(this.#max, Math.max(this.#min, fraction));
    this.#step = (target >= this.fraction ? 1 : -1) * INITIAL_STEP;
    this.fraction = target;
  }

  /**
   * Moves the fraction after a sample period with hit ratio `hitRatio`.
   *
   * @param hitRatio Hits / requests over the period just ended, 0 to 1.
   * @returns The new fraction.
   */
  sample(hitRatio: number): number {
    const change = hitRatio - this.#previous;
    this.#previous = hitRatio;
    // The last step hurt: go back the other way.
    if (change < 0) this.#step = -this.#step;
    const step = this.#step;
    this.#step = Math.abs(change) >= RESTART_THRESHOLD ? Math.sign(step) * INITIAL_STEP : step * STEP_DECAY;
    this.fraction = Math.min(this.#max, Math.max(this.#min, this.fraction + step));
    return this.fraction;
  }
}
