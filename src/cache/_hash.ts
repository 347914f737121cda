/**
 * MurmurHash3 (x86, 32-bit) over the UTF-8 bytes of a string, encoded on the fly so a ring lookup
 * allocates nothing. Its final avalanche step spreads keys that differ in one character across the whole
 * 32-bit range, which crc32 does not.
 * @module
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** Mixes one little-endian 4-byte block into the running hash. */
function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The UTF-8 length of the text {@linkcode murmur3} hashed last, which it counts on the way. */
let hashedLength = 0;

/**
 * The UTF-8 byte length of the string last given to {@linkcode murmur3}: a lookup that needs both the
 * hash and the length then walks the key once.
 *
 * @returns The byte count.
 * @example
 * ```ts
 * import { lastHashedBytes, murmur3 } from "./_hash.ts";
 *
 * murmur3("né");
 * lastHashedBytes(); // 3
 * ```
 */
export function lastHashedBytes(): number {
  return hashedLength;
}

/**
 * Hashes the UTF-8 encoding of `text` with MurmurHash3 x86_32; lone surrogates count as U+FFFD, as
 * `TextEncoder` encodes them.
 *
 * @param text The string to hash.
 * @param seed A 32-bit seed.
 * @returns An unsigned 32-bit hash, equal in every process for equal input.
 * @example
 * ```ts
 * import { murmur3 } from "./_hash.ts";
 *
 * murmur3("hello").toString(16); // "248bfa47"
 * ```
 */
export function murmur3(text: string, seed = 0): number {
  const n = text.length;
  let h = seed | 0;
  // ASCII keys, the common case, are their own UTF-8 bytes: read whole blocks while that holds.
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    const c2 = text.charCodeAt(i + 2);
    const c3 = text.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) > 0x7f) break;
    h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  let block = 0;
  let filled = 0;
  let length = i;
  for (; i < n; i++) {
    let c = text.charCodeAt(i);
    let count: number;
    if (c < 0x80) {
      count = 1;
    } else if (c < 0x800) {
      c = (0xc0 | (c >> 6)) | ((0x80 | (c & 0x3f)) << 8);
      count = 2;
    } else {
      let point = c;
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < n ? text.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          point = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          i++;
        } else {
          point = 0xfffd;
        }
      }
      if (point < 0x10000) {
        c = (0xe0 | (point >> 12)) | ((0x80 | ((point >> 6) & 0x3f)) << 8) |
          ((0x80 | (point & 0x3f)) << 16);
        count = 3;
      } else {
        c = (0xf0 | (point >> 18)) | ((0x80 | ((point >> 12) & 0x3f)) << 8) |
          ((0x80 | ((point >> 6) & 0x3f)) << 16) | ((0x80 | (point & 0x3f)) << 24);
        count = 4;
      }
    }
    // `c` now holds `count` UTF-8 bytes, lowest first; feed them into 4-byte blocks.
    length += count;
    for (; count > 0; count--, c >>>= 8) {
      block |= (c & 0xff) << (filled << 3);
      if (++filled === 4) {
        h = mixBlock(h, block);
        block = 0;
        filled = 0;
      }
    }
  }
  if (filled > 0) {
    block = Math.imul(block, C1);
    block = (block << 15) | (block >>> 17);
    h ^= Math.imul(block, C2);
  }
  hashedLength = length;
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
