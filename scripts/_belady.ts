/**
 * Belady's optimal replacement (OPT, also MIN): with the whole trace known, evict the entry whose next
 * use lies farthest in the future. No online policy can beat it, so it is the ceiling the hit-ratio
 * tables measure policies against.
 * @module
 */

/**
 * Counts the hits OPT scores on `keys` with room for `capacity` entries, every miss inserted (evicting,
 * when full, the resident next used farthest ahead, never-again first). O(n log n): the next use of
 * each request comes from one backward pass, and residents sit in a max-heap by next use, where an
 * entry made stale by a later use is skipped when it surfaces.
 *
 * @param keys The requests, in order.
 * @param capacity Cache capacity in entries, at least 1.
 * @returns The number of requests that hit.
 * @example
 * ```ts
 * import { beladyHits } from "./_belady.ts";
 * beladyHits(["a", "b", "c", "a", "b"], 2); // 1: keep "a", give up "b" or "c"
 * ```
 */
export function beladyHits(keys: readonly string[], capacity: number): number {
  const n = keys.length;
  const ids = new Int32Array(n);
  const idOf = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    let id = idOf.get(keys[i]);
    if (id === undefined) idOf.set(keys[i], id = idOf.size);
    ids[i] = id;
  }
  // nextUse[i]: the index where ids[i] is requested again, n when never.
  const nextUse = new Int32Array(n);
  const seen = new Int32Array(idOf.size).fill(n);
  for (let i = n - 1; i >= 0; i--) {
    nextUse[i] = seen[ids[i]];
    seen[ids[i]] = i;
  }
  // A resident's current next use, -1 when not resident.
  const residentUntil = new Int32Array(idOf.size).fill(-1);
  const heap = new MaxHeap(n);
  let resident = 0;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    if (residentUntil[id] !== -1) hits++;
    else if (resident === capacity) {
      // Surface the farthest next use that is still some resident's current one.
      for (;;) {
        const [at, victim] = heap.pop();
        if (residentUntil[victim] === at) {
          residentUntil[victim] = -1;
          break;
        }
      }
    } else resident++;
    residentUntil[id] = nextUse[i];
    heap.push(nextUse[i], id);
  }
  return hits;
}

/** A binary max-heap of (priority, id) pairs in typed arrays, for at most `capacity` pushes alive. */
class MaxHeap {
  readonly #keys: Int32Array;
  readonly #ids: Int32Array;
  #size = 0;

  constructor(capacity: number) {
    this.#keys = new Int32Array(capacity + 1);
    this.#ids = new Int32Array(capacity + 1);
  }

  push(key: number, id: number): void {
    const keys = this.#keys, ids = this.#ids;
    let i = this.#size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent] >= key) break;
      keys[i] = keys[parent];
      ids[i] = ids[parent];
      i = parent;
    }
    keys[i] = key;
    ids[i] = id;
  }

  /** Removes and returns the pair with the largest priority; the heap must not be empty. */
  pop(): [number, number] {
    const keys = this.#keys, ids = this.#ids;
    const top: [number, number] = [keys[0], ids[0]];
    const size = --this.#size;
    const key = keys[size], id = ids[size];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && keys[child + 1] > keys[child]) child++;
      if (keys[child] <= key) break;
      keys[i] = keys[child];
      ids[i] = ids[child];
      i = child;
    }
    keys[i] = key;
    ids[i] = id;
    return top;
  }
}
