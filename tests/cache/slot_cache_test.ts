import assert from "node:assert/strict";
import { SlotCache } from "../../src/cache/_slot_cache.ts";

/** An LRU-less policy (FIFO) that keeps a word of its own per slot: the key's insertion number. */
class TaggingCache extends SlotCache<number> {
  #inserted = 0;
  constructor(maxEntries: number, words = 4) {
    super({ maxEntries, maxBytes: 1e9, sizeOf: () => 1 }, words);
  }
  /** The word this policy keeps for `key`'s slot, or -1 when the key is absent. */
  tagOf(key: string): number {
    for (let s = this.nextOf(0); s !== 0; s = this.nextOf(s)) {
      if (this.links[s * this.words + 2] === Number(key)) return this.links[s * this.words + 3];
    }
    return -1;
  }
  protected touch(_slot: number): void {}
  protected victim(): number {
    return this.prevOf(0);
  }
  protected override link(slot: number): void {
    this.links[slot * this.words + 2] = this.#inserted;
    this.links[slot * this.words + 3] = 1000 + this.#inserted++;
    super.link(slot);
  }
}

Deno.test("a policy's own words per slot live beside the links, through growth and clear", async (t) => {
  for (const bound of [10_000, Infinity]) {
    // With an entry bound the arrays are views of memory reserved once; without, they grow by copying.
    await t.step(`each entry keeps its word while the arrays grow (entry bound ${bound})`, () => {
      const cache = new TaggingCache(bound);
      for (let i = 0; i < 5_000; i++) cache.set(String(i), i);
      for (const i of [0, 63, 64, 1_000, 4_999]) assert.equal(cache.tagOf(String(i)), 1000 + i);
      assert.equal(cache.get("4999"), 4999);
    });
  }
  await t.step("eviction reuses slots and the list stays in insertion order", () => {
    const cache = new TaggingCache(100);
    for (let i = 0; i < 300; i++) cache.set(String(i), i);
    assert.equal(cache.size, 100);
    assert.equal(cache.get("199"), undefined);
    assert.equal(cache.get("200"), 200);
    assert.equal(cache.tagOf("250"), 1250);
  });
  await t.step("clear forgets every entry and its words", () => {
    const cache = new TaggingCache(1_000);
    for (let i = 0; i < 500; i++) cache.set(String(i), i);
    cache.clear();
    assert.equal(cache.size, 0);
    assert.equal(cache.tagOf("3"), -1);
    cache.set("x", 1);
    assert.equal(cache.get("x"), 1);
  });
  await t.step("fewer than the two links' words is an error", () => {
    assert.throws(() => new TaggingCache(10, 1), { name: "RangeError", message: /words must be at least 2/ });
  });
});
