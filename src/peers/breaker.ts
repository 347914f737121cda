/**
 * Skips a peer that keeps failing: after `failures` failed calls in a row its calls fail at once for a
 * back-off period (doubling up to a cap), so its keys load locally instead of each request waiting out a
 * deadline. After the back-off one call is let through; its success closes the breaker.
 * @module
 */
import type { ByteView } from "../cache/byte_view.ts";
import { type PeerClient, PeerRefusal } from "../cache/peers.ts";

/** When to stop calling a failing peer, and for how long. */
export interface BreakerOptions {
  /** Failed calls in a row that open the breaker (default 3). */
  failures?: number;
  /** First back-off in milliseconds (default 1000); doubles on each failed trial. */
  backoffMs?: number;
  /** Longest back-off in milliseconds (default 30000). */
  maxBackoffMs?: number;
  /** Clock in milliseconds. */
  now?: () => number;
}

/**
 * Counts a callee's failures in a row and, past the threshold, fails its calls at once until the back-off
 * ends; then lets one trial call through, whose success closes it again.
 */
export class Breaker {
  /** Names the callee in the error of a skipped call. */
  readonly id: string;
  readonly #threshold: number;
  readonly #base: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #isFault: (error: unknown) => boolean;
  #failures = 0;
  #backoff: number;
  #openUntil = 0;
  #trial = false;

  /**
   * @param id The callee's name, e.g. its base URL.
   * @param options Threshold and back-off.
   * @param isFault Whether an error counts against the callee (default: every error); an answer that
   * refuses the caller's input, say, is the caller's fault and leaves the breaker as it was.
   */
  constructor(id: string, options: BreakerOptions = {}, isFault: (error: unknown) => boolean = () => true) {
    this.id = id;
    this.#threshold = options.failures ?? 3;
    this.#base = options.backoffMs ?? 1000;
    this.#max = options.maxBackoffMs ?? 30_000;
    this.#backoff = this.#base;
    this.#now = options.now ?? Date.now;
    this.#isFault = isFault;
  }

  /** Whether calls are being skipped right now. */
  get open(): boolean {
    return this.#failures >= this.#threshold && (this.#trial || this.#now() < this.#openUntil);
  }

  /**
   * Runs `call` unless the breaker is open.
   *
   * @param call The call to the callee.
   * @returns What the call resolves to.
   * @throws The call's error, or an error naming the callee when the call was skipped.
   */
  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.#failures >= this.#threshold) {
      // Open: skip until the back-off ends, then let exactly one trial call through.
      if (this.#trial || this.#now() < this.#openUntil) {
        throw new Error(`peer ${this.id} skipped after ${this.#failures} failed calls in a row`);
      }
      this.#trial = true;
    }
    try {
      const value = await call();
      this.#failures = 0;
      this.#backoff = this.#base;
      return value;
    } catch (e) {
      if (!this.#isFault(e)) {
        if (this.#trial) this.#failures = 0;
        throw e;
      }
      this.#failures++;
      if (this.#failures >= this.#threshold) {
        if (this.#trial) this.#backoff = Math.min(this.#backoff * 2, this.#max);
        this.#openUntil = this.#now() + this.#backoff;
      }
      throw e;
    } finally {
      this.#trial = false;
    }
  }
}

/** A peer client that stops calling its peer while the peer keeps failing. */
export class PeerBreaker<P extends PeerClient & { close(): void }> implements PeerClient {
  readonly id: string;
  readonly #peer: P;
  readonly #breaker: Breaker;

  constructor(peer: P, options: BreakerOptions = {}) {
    this.id = peer.id;
    this.#peer = peer;
    // A refusal of the request itself (PeerRefusal) comes from a peer that is up: it does not count.
    this.#breaker = new Breaker(peer.id, options, (e) => !(e instanceof PeerRefusal));
  }

  /** Whether calls are being skipped right now. */
  get open(): boolean {
    return this.#breaker.open;
  }

  get(group: string, key: string): Promise<ByteView | null> {
    return this.#breaker.run(() => this.#peer.get(group, key));
  }

  /** One call for all the keys when the peer answers batches, else one per key (as `PeerBatch` would). */
  getMany(group: string, keys: readonly string[]): Promise<(ByteView | null | Error)[]> {
    const peer = this.#peer;
    if (peer.getMany === undefined) {
      return Promise.all(keys.map((key) => this.get(group, key).catch((e: Error) => e)));
    }
    return this.#breaker.run(() => peer.getMany!(group, keys));
  }

  set(group: string, key: string, value: ByteView): Promise<void> {
    return this.#breaker.run(() => this.#peer.set(group, key, value));
  }

  delete(group: string, key: string): Promise<void> {
    return this.#breaker.run(() => this.#peer.delete(group, key));
  }

  /** Closes the wrapped client. */
  close(): void {
    this.#peer.close();
  }
}
