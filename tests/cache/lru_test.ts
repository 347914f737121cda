import assert from "node:assert/strict";
import { LruCache } from "../../src/cache/lru.ts";
import type { EvictionReason } from "../../src/cache/policy.ts";
import { random } from "./_random.ts";

function lru(maxBytes: number, maxEntries?: number) {
  const evicted: string[] = [];
  const cache = new LruCache<string>({
    maxBytes,
    maxEntries,
    sizeOf: (v) => v.length,
    onEvict: (key, _value, reason) => reason === "evicted" && evicted.push(key),
  });
  return { cache, evicted };
}

Deno.test("LruCache evicts the least recently used entry", async (t) => {
  await t.step("without reads, the oldest insert goes first", () => {
    const { cache, evicted } = lru(1_000, 3);
    for (const k of ["a", "b", "c", "d", "e"]) cache.set(k, "v");
    assert.deepEqual(evicted, ["a", "b"]);
  });
  await t.step("a get makes an entry the most recently used", () => {
    const { cache, evicted } = lru(1_000, 3);
    for (const k of ["a", "b", "c"]) cache.set(k, "v");
    cache.get("a");
    cache.get("c");
    cache.set("d", "v");
    cache.set("e", "v");
    assert.deepEqual(evicted, ["b", "a"]);
  });
  await t.step("an overwrite makes an entry the most recently used", () => {
    const { cache, evicted } = lru(1_000, 3);
    for (const k of ["a", "b", "c"]) cache.set(k, "v");
    cache.set("a", "w");
    cache.set("d", "v");
    assert.deepEqual(evicted, ["b"]);
  });
  await t.step("a miss and a delete leave the order alone", () => {
    const { cache, evicted } = lru(1_000, 3);
    for (const k of ["a", "b", "c"]) cache.set(k, "v");
    cache.get("zz");
    cache.delete("b");
    cache.set("d", "v");
    cache.set("e", "v");
    assert.deepEqual(evicted, ["a"]);
  });
  await t.step("byte pressure evicts as many old entries as the new one needs", () => {
    const { cache, evicted } = lru(12);
    for (const k of ["a", "b", "c", "d"]) cache.set(k, "xx"); // 3 bytes each
    cache.get("a");
    cache.set("e", "xxxxx"); // 6 bytes: b and c must go
    assert.deepEqual(evicted, ["b", "c"]);
    assert.equal(cache.bytes, 12);
  });
});

/** The obvious LRU: a Map kept in recency order by delete and re-insert. */
class ReferenceLru {
  readonly map = new Map<string, string>();
  bytes = 0;
  readonly events: [string, EvictionReason][] = [];
  constructor(readonly maxBytes: number, readonly maxEntries: number) {}

  get(key: string): string | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  set(key: string, value: string): void {
    const size = key.length + value.length;
    const old = this.map.get(key);
    if (size > this.maxBytes) {
      if (old !== undefined) this.#remove(key, "deleted");
      return;
    }
    if (old !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
      this.bytes += size - (key.length + old.length);
      while (this.bytes > this.maxBytes) this.#remove(this.map.keys().next().value!, "evicted");
      return;
    }
    while (this.map.size >= this.maxEntries || this.bytes + size > this.maxBytes) {
      this.#remove(this.map.keys().next().value!, "evicted");
    }
    this.map.set(key, value);
    this.bytes += size;
  }

  delete(key: string): boolean {
    if (!this.map.has(key)) return false;
    this.#remove(key, "deleted");
    return true;
  }

  #remove(key: string, reason: EvictionReason): void {
    this.bytes -= key.length + this.map.get(key)!.length;
    this.map.delete(key);
    this.events.push([key, reason]);
  }
}

Deno.test("LruCache agrees with a reference LRU over 100k random operations", () => {
  const rand = random(42);
  const maxBytes = 1_200;
  const maxEntries = 100;
  const model = new ReferenceLru(maxBytes, maxEntries);
  const events: [string, EvictionReason][] = [];
  const cache = new LruCache<string>({
    maxBytes,
    maxEntries,
    sizeOf: (v) => v.length,
    onEvict: (key, _value, reason) => events.push([key, reason]),
  });
  for (let op = 0; op < 100_000; op++) {
    const key = `k${Math.floor(rand() * 300)}`;
    const r = rand();
    if (r < 0.5) {
      assert.equal(cache.get(key), model.get(key), `get ${key} at op ${op}`);
    } else if (r < 0.9) {
      // Mostly small values, now and then one too large to store at all.
      const length = rand() < 0.01 ? maxBytes : Math.floor(rand() * 30);
      const value = String(op).padEnd(length, "x").slice(0, length);
      cache.set(key, value);
      model.set(key, value);
    } else {
      assert.equal(cache.delete(key), model.delete(key), `delete ${key} at op ${op}`);
    }
    assert.equal(cache.size, model.map.size, `size at op ${op}`);
    assert.equal(cache.bytes, model.bytes, `bytes at op ${op}`);
  }
  assert.deepEqual(events, model.events);
  const stats = cache.stats();
  assert.equal(stats.evictions, model.events.filter((e) => e[1] === "evicted").length);
  for (const [key, value] of model.map) assert.equal(cache.get(key), value);
});
