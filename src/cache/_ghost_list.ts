/**
 * The keys (as hashes) a cache recently gave up from one of its parts, so it can tell, when one of them
 * is requested again, that a little more room in that part would have turned the miss into a hit.
 * @module
 */

/**
 * A bounded first-in first-out set of key hashes: the newest `capacity` added, each at most once. A
 * `Map` keeps insertion order, so the oldest leaves first.
 *
 * @example
 * ```ts
 * import { GhostList } from "./_ghost_list.ts";
 * const ghosts = new GhostList();
 * ghosts.add(1, 2);
 * ghosts.add(2, 2);
 * ghosts.add(3, 2); // 1, the oldest, leaves
 * ghosts.take(1); // false
 * ghosts.take(3); // true, and 3 leaves
 * ghosts.take(3); // false
 * ```
 */
export class GhostList {
  readonly #hashes = new Map<number, true>();

  /**
   * Adds `hash` as the newest, dropping the oldest beyond `capacity`.
   *
   * @param hash A key hash (a small integer keys a `Map` without allocating).
   * @param capacity How many the list holds now; the caller may change it as the cache changes.
   */
  add(hash: number, capacity: number): void {
    const hashes = this.#hashes;
    hashes.delete(hash);
    hashes.set(hash, true);
    if (hashes.size > capacity) {
      const oldest = hashes.keys();
      while (hashes.size > capacity) hashes.delete(oldest.next().value!);
    }
  }

  /**
   * Removes `hash` if present.
   *
   * @param hash A key hash.
   * @returns Whether it was in the list.
   */
  take(hash: number): boolean {
    return this.#hashes.delete(hash);
  }

  /** Forgets every hash. */
  clear(): void {
    this.#hashes.clear();
  }
}
