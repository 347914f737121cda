/**
 * Counts the UTF-8 bytes of a cache key without encoding it, so byte accounting costs no allocation.
 * @module
 */

/**
 * Returns the number of bytes `key` takes when UTF-8 encoded, the same count `TextEncoder` would give
 * (a lone surrogate counts as the 3 bytes of U+FFFD).
 *
 * @param key The key to measure.
 * @returns Its UTF-8 byte length.
 * @example
 * ```ts
 * import { keyBytes } from "./_key_bytes.ts";
 * keyBytes("user:42"); // 7
 * keyBytes("né"); // 3
 * ```
 */
export function keyBytes(key: string): number {
  const n = key.length;
  // Most keys are ASCII, where the UTF-16 length is the answer; stop scanning at the first wider unit.
  for (let i = 0; i < n; i++) {
    if (key.charCodeAt(i) > 0x7f) return i + wideBytes(key, i, n);
  }
  return n;
}

/** Counts the UTF-8 bytes of `key` from index `start`, which may hold non-ASCII code units. */
function wideBytes(key: string, start: number, n: number): number {
  let bytes = 0;
  for (let i = start; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = key.charCodeAt(i + 1);
      // A high surrogate followed by a low one is one code point above U+FFFF: four bytes for the pair.
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
