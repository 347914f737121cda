/**
 * Gives back the memory of arrays a store has just replaced by larger ones. Old typed arrays live
 * outside the JavaScript heap, and V8 frees them only at its next full collection, which a cache that
 * is filling may not reach for a while: the old slot arrays and index of a cache of a million entries
 * (about 60 MiB) then stay resident beside the new ones. Replacing happens a few dozen times in a
 * cache's life (each time it doubles), so a full collection then costs little. It needs the runtime's
 * `gc` (`deno task start` passes `--v8-flags=--expose-gc`); without it this does nothing.
 * @module
 */

/** Replaced bytes from which a collection is worth its pause (a few milliseconds). */
const WORTH_COLLECTING = 4 * 1024 * 1024;

const gc = (globalThis as { gc?: () => void }).gc;

/**
 * Tells that arrays of `bytes` bytes were just replaced, collecting them when they are large.
 *
 * @param bytes The bytes the replaced arrays held.
 * @example
 * ```ts
 * import { arraysReplaced } from "./_collect.ts";
 * arraysReplaced(1024); // too few to collect for
 * ```
 */
export function arraysReplaced(bytes: number): void {
  if (gc !== undefined && bytes >= WORTH_COLLECTING) gc();
}
