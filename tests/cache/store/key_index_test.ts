import assert from "node:assert/strict";
import { KeyIndex } from "../../../src/cache/store/_key_index.ts";
import { random } from "../_random.ts";

/** The slots whose place matches `hash` in its hash bits, in probe order, as a lookup sees them. */
function candidates(index: KeyIndex, hash: number): number[] {
  const found: number[] = [];
  for (let i = hash & index.mask;; i = (i + 1) & index.mask) {
    const place = index.table[i];
    if (place === 0) return found;
    if (((place ^ hash) & ~index.slotMask) === 0) found.push(place & index.slotMask);
  }
}

Deno.test("KeyIndex finds every slot by its hash through growth of slots and table, and removals", () => {
  const rand = random(3);
  const slots = 5_000;
  const hashes = new Uint32Array(slots);
  for (let s = 1; s < slots; s++) {
    // A few hashes repeat exactly, some differ only above the slot bits, the rest are random.
    hashes[s] = s % 7 === 0
      ? 0xdeadbeef
      : s % 5 === 0
      ? (0x1234 | ((s & 0xff) << 24)) >>> 0
      : rand() * 2 ** 32 >>> 0;
  }
  const index = new KeyIndex();
  const live = new Set<number>();
  for (let s = 1; s < slots; s++) {
    index.insert(s, hashes);
    live.add(s);
    if (rand() < 0.3) {
      const gone = [...live][Math.floor(rand() * live.size)];
      index.remove(gone, hashes);
      live.delete(gone);
    }
  }
  assert.equal(index.count, live.size);
  for (let s = 1; s < slots; s++) {
    const seen = candidates(index, hashes[s]);
    assert.equal(seen.includes(s), live.has(s), `slot ${s}`);
    // Every candidate shares the hash bits above the slot bits; none is a stranger.
    for (const c of seen) assert.equal((hashes[c] ^ hashes[s]) & ~index.slotMask, 0);
  }
  for (const s of live) index.remove(s, hashes);
  assert.equal(index.count, 0);
  assert.ok(index.table.every((place) => place === 0));
});
