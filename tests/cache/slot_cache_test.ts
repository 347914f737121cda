import assert from "node:assert/strict";
import { SlotCache } from "../../src/cache/_slot_cache.ts";

/**
 * A FIFO policy that keeps state of its own per slot, in arrays it sizes: the entry's insertion number
 * (the tests insert key i as the i-th), and a tag derived from it.
 */
class TaggingCache extends SlotCache<number> {
  #inserted = 0;
  #ids = new Uint32Array(this.slots);
  #tags = new Uint32Array(this.slots);
  constructor(maxEntries: number) {
    super({ maxEntries, maxBytes: 1e9, sizeOf: () => 1 });
  }
  /** The tag this policy keeps for `key`'s slot, or -1 when the key is absent. */
  tagOf(key: string): number {
    for (let s = this.nextOf(0); s !== 0; s = this.nextOf(s)) {
      if (this.#ids[s] === Number(key)) return this.#tags[s];
    }
    return -1;
  }
  protected touch(_slot: number): void {}
  protected victim(): number {
    return this.prevOf(0);
  }
  protected override link(slot: number): void {
    this.#ids[slot] = this.#inserted;
    this.#tags[slot] = 1000 + this.#inserted++;
    super.link(slot);
  }
  protected override resized(slots: number, cleared: boolean): void {
    const ids = new Uint32Array(slots);
    const tags = new Uint32Array(slots);
    if (!cleared) {
      ids.set(this.#ids);
      tags.set(this.#tags);
    }
    this.#ids = ids;
    this.#tags = tags;
  }
}

Deno.test("a policy's own per-slot array keeps its contents through growth and is reset by clear", async (t) => {
  for (const bound of [10_000, Infinity]) {
    // With an entry bound the links are views of memory reserved once; without, they grow by copying.
    await t.step(`each entry keeps its state while the arrays grow (entry bound ${bound})`, () => {
      const cache = new TaggingCache(bound);
      for (let i = 0; i < 3_000; i++) cache.set(String(i), i);
      for (const i of [0, 63, 64, 1_000, 2_999]) assert.equal(cache.tagOf(String(i)), 1000 + i);
      assert.equal(cache.get("2999"), 2999);
      assert.equal(cache.get("0"), 0);
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
  await t.step("clear forgets every entry and its state", () => {
    const cache = new TaggingCache(1_000);
    for (let i = 0; i < 500; i++) cache.set(String(i), i);
    cache.clear();
    assert.equal(cache.size, 0);
    assert.equal(cache.tagOf("3"), -1);
    cache.set("x", 1);
    assert.equal(cache.get("x"), 1);
  });
});
