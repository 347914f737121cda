/**
 * The layout of the slot list that every slot cache keeps, and splicing a slot into its middle, for
 * policies that keep more order than "newest first" in it (frequency groups, or segments laid end to end).
 * @module
 */

/** Offset, within a slot's words, of its link toward older entries. */
export const NEXT = 0;
/** Offset, within a slot's words, of its link toward newer entries. */
export const PREV = 1;

/**
 * Links `slot` in just before `node` (toward the newest end) in the circular list that `links`
 * describes, `words` words per slot; `node` 0, the sentinel, makes `slot` the oldest entry.
 *
 * @param links Per slot, `words` words, its {@linkcode NEXT} and {@linkcode PREV} links among them.
 * @param words Words per slot.
 * @param slot The unlinked slot to place.
 * @param node The slot that will follow it.
 * @example
 * ```ts
 * import { linkBefore, NEXT } from "./_slot_list.ts";
 * const links = new Uint32Array(3 * 2);
 * linkBefore(links, 2, 1, 0); // list: 1
 * linkBefore(links, 2, 2, 1); // list: 2, 1
 * links[0 * 2 + NEXT]; // 2
 * ```
 */
export function linkBefore(links: Uint32Array, words: number, slot: number, node: number): void {
  const before = links[node * words + PREV];
  links[before * words + NEXT] = slot;
  links[slot * words + PREV] = before;
  links[slot * words + NEXT] = node;
  links[node * words + PREV] = slot;
}
