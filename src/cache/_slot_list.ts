/**
 * The layout of the slot list that every slot cache keeps, and splicing a slot into its middle, for
 * policies that keep more order than "newest first" in it (frequency groups, or segments laid end to end).
 * @module
 */

/** Offset, within a slot's words, of its link toward older entries. */
export const NEXT = 0;
/** Offset, within a slot's words, of its link toward newer entries. */
export const PREV = 1;
/** Words per slot: its two links. */
export const WORDS = 2;

/**
 * Links `slot` in just before `node` (toward the newest end) in the circular list that `links`
 * describes, {@linkcode WORDS} words per slot; `node` 0, the sentinel, makes `slot` the oldest entry.
 *
 * @param links Per slot, its {@linkcode NEXT} and {@linkcode PREV} links.
 * @param slot The unlinked slot to place.
 * @param node The slot that will follow it.
 * @example
 * ```ts
 * import { linkBefore, NEXT } from "./_slot_list.ts";
 * const links = new Uint32Array(3 * 2);
 * linkBefore(links, 1, 0); // list: 1
 * linkBefore(links, 2, 1); // list: 2, 1
 * links[0 * 2 + NEXT]; // 2
 * ```
 */
export function linkBefore(links: Uint32Array, slot: number, node: number): void {
  const before = links[node * WORDS + PREV];
  links[before * WORDS + NEXT] = slot;
  links[slot * WORDS + PREV] = before;
  links[slot * WORDS + NEXT] = node;
  links[node * WORDS + PREV] = slot;
}
