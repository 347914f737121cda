import assert from "node:assert/strict";
import { FifoCache } from "../../src/cache/fifo.ts";
import { LfuCache } from "../../src/cache/lfu.ts";

function recorder<C>(make: (onEvict: (key: string) => void) => C): { cache: C; evicted: string[] } {
  const evicted: string[] = [];
  return { cache: make((key) => evicted.push(key)), evicted };
}

Deno.test("FifoCache evicts in insertion order, whatever is read", () => {
  const { cache, evicted } = recorder((onEvict) =>
    new FifoCache<string>({ maxEntries: 3, maxBytes: 1_000, sizeOf: (v) => v.length, onEvict })
  );
  for (const k of ["a", "b", "c"]) cache.set(k, k);
  cache.get("a");
  cache.get("a");
  cache.set("b", "overwritten keeps its place");
  for (const k of ["d", "e", "f"]) cache.set(k, k);
  assert.deepEqual(evicted, ["a", "b", "c"]);
});

Deno.test("FifoCache growing the oldest entry in place evicts others, not it", () => {
  const cache = new FifoCache<string>({ maxBytes: 10, sizeOf: (v) => v.length });
  for (const k of ["a", "b", "c"]) cache.set(k, "1");
  cache.set("a", "12345678");
  assert.equal(cache.get("a"), "12345678");
  assert.equal(cache.size, 1);
});

Deno.test("LfuCache evicts the least used, least recently used among ties", () => {
  const { cache, evicted } = recorder((onEvict) =>
    new LfuCache<string>({ maxEntries: 3, maxBytes: 1_000, sizeOf: (v) => v.length, onEvict })
  );
  for (const k of ["a", "b", "c"]) cache.set(k, k); // one use each
  cache.get("a");
  cache.get("a"); // a: 3 uses
  cache.get("c"); // c: 2 uses
  cache.set("d", "d"); // b is the only single-use entry
  cache.set("e", "e"); // now d is
  cache.get("e");
  cache.get("e"); // e: 3 uses
  cache.set("f", "f"); // c, with 2 uses, is the least used
  cache.set("g", "g"); // f
  assert.deepEqual(evicted, ["b", "d", "c", "f"]);
  cache.get("g");
  cache.get("g");
  cache.get("g"); // g: 4 uses
  cache.set("h", "h"); // a and e tie at 3 uses; a was used less recently
  cache.set("i", "i"); // h
  assert.deepEqual(evicted, ["b", "d", "c", "f", "a", "h"]);
  assert.deepEqual(["e", "g", "i"].map((k) => cache.get(k)), ["e", "g", "i"]);
});

Deno.test("LfuCache growing its least used entry in place evicts others, not it", () => {
  const cache = new LfuCache<string>({ maxBytes: 10, sizeOf: (v) => v.length });
  for (const k of ["a", "b", "c"]) cache.set(k, "1");
  cache.get("b");
  cache.get("c");
  cache.set("a", "12345678");
  assert.equal(cache.get("a"), "12345678");
  assert.equal(cache.size, 1);
});
