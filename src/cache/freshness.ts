/**
 * Keeps the values of keys a node owns fresh without making readers wait: a value read shortly before it
 * expires is reloaded in the background (refresh-ahead), and a value that expired a short while ago is
 * kept so it can answer, marked stale, when its reload fails (stale-if-error, RFC 5861).
 * @module
 */

/** Windows of a {@linkcode Freshness}, in milliseconds. */
export interface FreshnessOptions {
  /**
   * A read of a value this close to its expiry, or closer, reloads it in the background while readers
   * keep the current value; 0 disables refresh-ahead.
   */
  refreshAheadMs: number;
  /**
   * How long after its expiry a value is kept to answer, marked stale, when its reload fails; 0
   * disables stale-if-error.
   */
  staleIfErrorMs: number;
}

/** Where a cached value stands on a read, from {@linkcode Freshness.stateOf}. */
export const FRESH = 0, REFRESH_DUE = 1, EXPIRED = 2;

/**
 * The refresh-ahead and stale-if-error rules of one group. It holds no values: the group keeps them in its
 * main cache for `keepFor` past their expiry and asks this class what a read of one means.
 *
 * @example
 * ```ts
 * import { EXPIRED, Freshness, REFRESH_DUE } from "./freshness.ts";
 *
 * const rules = new Freshness({ refreshAheadMs: 500, staleIfErrorMs: 60_000 });
 * rules.keepUntil(10_000); // 70_000: the cache keeps the value for the stale window too
 * rules.stateOf(10_000, 9_600) === REFRESH_DUE; // true: read within 500 ms of expiry
 * rules.stateOf(10_000, 10_000) === EXPIRED; // true: a reload must run; its failure may answer stale
 * ```
 */
export class Freshness {
  /** See {@linkcode FreshnessOptions.refreshAheadMs}. */
  readonly refreshAheadMs: number;
  /** See {@linkcode FreshnessOptions.staleIfErrorMs}. */
  readonly staleIfErrorMs: number;
  /**
   * After a refresh fails, refreshes pause this long: the source is likely down, and reads of a hot
   * key in the window would otherwise start one failing reload after another.
   */
  readonly #pauseMs: number;
  #pausedUntil = 0;

  /**
   * @param options The two windows; each a non-negative integer.
   * @throws {RangeError} When a window is not a non-negative safe integer; the message names it.
   */
  constructor(options: FreshnessOptions) {
    for (const [field, value] of Object.entries(options)) {
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
        throw new RangeError(`${field} must be a non-negative integer, got ${String(value)}`);
      }
    }
    this.refreshAheadMs = options.refreshAheadMs;
    this.staleIfErrorMs = options.staleIfErrorMs;
    this.#pauseMs = Math.max(1, Math.floor(options.refreshAheadMs / 4));
  }

  /** Whether either rule is on; when neither is, a group keeps values exactly until they expire. */
  get enabled(): boolean {
    return this.refreshAheadMs > 0 || this.staleIfErrorMs > 0;
  }

  /**
   * How long the cache keeps a value that expires at `expiresAt`: through the stale window.
   *
   * @param expiresAt The value's expiry in epoch milliseconds, 0 for never.
   * @returns The cache entry's expiry, 0 for never.
   */
  keepUntil(expiresAt: number): number {
    return expiresAt === 0 ? 0 : expiresAt + this.staleIfErrorMs;
  }

  /**
   * What a read at `now` of a value expiring at `expiresAt` means: {@linkcode FRESH} (answer it),
   * {@linkcode REFRESH_DUE} (answer it and reload it in the background) or {@linkcode EXPIRED} (reload
   * it; the value may answer only if the reload fails).
   */
  stateOf(expiresAt: number, now: number): typeof FRESH | typeof REFRESH_DUE | typeof EXPIRED {
    if (expiresAt === 0) return FRESH;
    if (now >= expiresAt) return EXPIRED;
    return this.refreshAheadMs > 0 && now >= expiresAt - this.refreshAheadMs ? REFRESH_DUE : FRESH;
  }

  /** Whether a value that expired at `expiresAt` may still answer at `now` after a failed reload. */
  mayServeStale(expiresAt: number, now: number): boolean {
    return expiresAt !== 0 && now >= expiresAt && now < expiresAt + this.staleIfErrorMs;
  }

  /** Whether a refresh may start at `now` (not paused after a failed one). */
  mayRefresh(now: number): boolean {
    return now >= this.#pausedUntil;
  }

  /** Records a failed refresh at `now`, pausing refreshes for a quarter of the refresh window. */
  refreshFailed(now: number): void {
    this.#pausedUntil = now + this.#pauseMs;
  }
}
