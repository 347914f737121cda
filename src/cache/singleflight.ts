/**
 * Collapses concurrent calls for the same key into one, so a cold key under load reaches its source once.
 * @module
 */

/** What a caller of {@linkcode Singleflight.do} receives. */
export interface FlightResult<T> {
  /** The value the flight produced. */
  value: T;
  /** False for the caller that ran the function, true for every caller that joined its flight. */
  shared: boolean;
}

/** A call in progress; compared by identity so an older flight never removes a newer one. */
interface Flight<T> {
  readonly promise: Promise<T>;
}

/**
 * Runs at most one call per key at a time and hands its outcome to every caller that asked meanwhile.
 * Outcomes are not remembered: once a flight settles, the next caller starts a new one.
 *
 * @example
 * ```ts
 * import { Singleflight } from "./singleflight.ts";
 *
 * const flights = new Singleflight<number>();
 * let calls = 0;
 * const load = async () => ++calls;
 * const [a, b] = await Promise.all([flights.do("k", load), flights.do("k", load)]);
 * console.log(a, b, calls); // { value: 1, shared: false } { value: 1, shared: true } 1
 * ```
 */
export class Singleflight<T> {
  readonly #flights = new Map<string, Flight<T>>();

  /** The number of keys with a call in progress. */
  get inFlight(): number {
    return this.#flights.size;
  }

  /**
   * Calls `fn` unless a call for `key` is already in progress, in which case it waits for that one.
   * A rejection reaches every caller of the flight and is not remembered.
   *
   * @param key Names the work; callers with equal keys share one call.
   * @param fn The work; called at most once per flight.
   * @returns The flight's value and whether this caller shared another caller's call.
   * @example
   * ```ts
   * import { Singleflight } from "./singleflight.ts";
   *
   * const flights = new Singleflight<string>();
   * const { value, shared } = await flights.do("user:1", () => Promise.resolve("Ada"));
   * console.log(value, shared); // "Ada" false
   * ```
   */
  do(key: string, fn: () => Promise<T>): Promise<FlightResult<T>> {
    const current = this.#flights.get(key);
    if (current !== undefined) return current.promise.then((value) => ({ value, shared: true }));

    const { promise, resolve, reject } = Promise.withResolvers<T>();
    const flight: Flight<T> = { promise };
    // Registered before `fn` runs, so a call to `do` from inside `fn` joins instead of recursing.
    this.#flights.set(key, flight);
    // The flight leaves the map before its callers resume, so a call made after completion runs again.
    const land = () => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    };
    let work: Promise<T>;
    try {
      work = Promise.resolve(fn());
    } catch (error) {
      work = Promise.reject(error);
    }
    work.then(
      (value) => {
        land();
        resolve(value);
      },
      (error) => {
        land();
        reject(error);
      },
    );
    return promise.then((value) => ({ value, shared: false }));
  }

  /**
   * Detaches the flight for `key`, if any: callers already waiting still get its outcome, but the next
   * caller starts a new flight. Use it when the outcome of a running call is known to be stale.
   *
   * @param key The key whose flight to detach.
   * @returns Whether a flight was detached.
   * @example
   * ```ts
   * import { Singleflight } from "./singleflight.ts";
   *
   * const flights = new Singleflight<number>();
   * const old = flights.do("k", () => new Promise((r) => setTimeout(() => r(1), 10)));
   * flights.forget("k");
   * const fresh = await flights.do("k", () => Promise.resolve(2));
   * console.log(fresh.value, (await old).value); // 2 1
   * ```
   */
  forget(key: string): boolean {
    return this.#flights.delete(key);
  }
}
