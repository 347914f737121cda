/**
 * Splicing a slot into the middle of the shared slot list, for policies that keep more order than
 * "newest first" in it (frequency groups, or segments laid end to end).
 * @module
 */

/**
 * Links `slot` in just before `node` (toward the newest end) in the circular list that `next` and
 * `prev` describe; `node` 0, the sentinel, makes `slot` the oldest entry.
 *
 * @param next Links toward older entries.
 * @param prev Links toward newer entries.
 * @param slot The unlinked slot to place.
 * @param node The slot that will follow it.
 * @example
 * ```ts
 * import { linkBefore } from "./_slot_list.ts";
 * const next = new Uint32Array(3), prev = new Uint32Array(3);
 * linkBefore(next, prev, 1, 0); // list: 1
 * linkBefore(next, prev, 2, 1); // list: 2, 1
 * next[0]; // 2
 * ```
 */
export function linkBefore(next: Uint32Array, prev: Uint32Array, slot: number, node: number): void {
  const before = prev[node];
  next[before] = slot;
  prev[slot] = before;
  next[slot] = node;
  prev[node] = slot;
}
