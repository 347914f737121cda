import assert from "node:assert/strict";
import { LruCache } from "../../src/cache/lru.ts";
import { SieveCache } from "../../src/cache/sieve.ts";
import type { EvictionReason } from "../../src/cache/policy.ts";
import { random } from "./_random.ts";

function sieve(maxEntries: number) {
  const evicted: string[] = [];
  const cache = new SieveCache<string>({
    maxBytes: 1_000_000,
    maxEntries,
    sizeOf: (v) => v.length,
    onEvict: (key, _value, reason) => reason === "evicted" && evicted.push(key),
  });
  return { cache, evicted };
}

Deno.test("SieveCache evicts the oldest entry not visited since the hand passed", async (t) => {
  await t.step("without reads, it evicts in insertion order", () => {
    const { cache, evicted } = sieve(3);
    for (const k of ["a", "b", "c", "d", "e"]) cache.set(k, "v");
    assert.deepEqual(evicted, ["a", "b"]);
  });
  await t.step("the hand keeps its place between evictions", () => {
    const { cache, evicted } = sieve(3);
    for (const k of ["a", "b", "c"]) cache.set(k, "v");
    cache.get("a");
    cache.set("d", "v"); // clears a, evicts b; the hand rests on c
    cache.set("e", "v"); // evicts c
    cache.set("f", "v"); // evicts d, not the older a, which the hand already passed
    assert.deepEqual(evicted, ["b", "c", "d"]);
  });
  await t.step("a visited entry is passed over once, and its bit cleared", () => {
    const { cache, evicted } = sieve(2);
    cache.set("a", "v");
    cache.set("b", "v");
    cache.get("a");
    cache.set("c", "v"); // clears a, evicts b, and the hand restarts from the oldest
    cache.set("d", "v"); // a is unvisited now
    assert.deepEqual(evicted, ["b", "a"]);
  });
  await t.step("when every entry is visited, the hand goes round and evicts where it started", () => {
    const { cache, evicted } = sieve(3);
    for (const k of ["a", "b", "c"]) cache.set(k, "v");
    for (const k of ["a", "b", "c"]) cache.get(k);
    cache.set("d", "v");
    assert.deepEqual(evicted, ["a"]);
  });
  await t.step("deleting the entry under the hand moves the hand to the next newer entry", () => {
    const { cache, evicted } = sieve(4);
    for (const k of ["a", "b", "c", "d"]) cache.set(k, "v");
    cache.get("a");
    cache.set("e", "v"); // clears a, evicts b; the hand rests on c
    cache.delete("c"); // the hand moves to d
    cache.set("f", "v"); // no eviction needed: c's slot is free
    cache.set("g", "v");
    assert.deepEqual(evicted, ["b", "d"]);
  });
  await t.step("an overwrite counts as a visit", () => {
    const { cache, evicted } = sieve(2);
    cache.set("a", "v");
    cache.set("b", "v");
    cache.set("a", "w");
    cache.set("c", "v");
    assert.deepEqual(evicted, ["b"]);
  });
});

Deno.test("SieveCache keeps a reused working set through a one-off scan that flushes LRU", () => {
  const options = { maxBytes: 1_000_000, maxEntries: 10, sizeOf: (v: string) => v.length };
  const caches = { sieve: new SieveCache<string>(options), lru: new LruCache<string>(options) };
  const hot = ["h0", "h1", "h2", "h3", "h4"];
  const kept: Record<string, number> = {};
  for (const [name, cache] of Object.entries(caches)) {
    for (const k of hot) cache.set(k, "v");
    for (const k of hot) cache.get(k);
    for (let i = 0; i < 20; i++) cache.set(`scan${i}`, "v");
    kept[name] = hot.filter((k) => cache.get(k) !== undefined).length;
  }
  assert.deepEqual(kept, { sieve: 5, lru: 0 });
});

/** The obvious SIEVE: an array from oldest to newest, a set of visited keys, and a hand index. */
class ReferenceSieve {
  readonly queue: string[] = [];
  readonly values = new Map<string, string>();
  readonly visited = new Set<string>();
  readonly events: [string, EvictionReason][] = [];
  /** Index into `queue`, or -1 for "start from the oldest". */
  hand = -1;
  constructor(readonly maxEntries: number) {}

  get(key: string): string | undefined {
    const value = this.values.get(key);
    if (value !== undefined) this.visited.add(key);
    return value;
  }

  set(key: string, value: string): void {
    if (this.values.has(key)) {
      this.values.set(key, value);
      this.visited.add(key);
      return;
    }
    if (this.queue.length >= this.maxEntries) {
      let i = this.hand === -1 ? 0 : this.hand;
      while (this.visited.has(this.queue[i])) {
        this.visited.delete(this.queue[i]);
        i = (i + 1) % this.queue.length;
      }
      this.hand = i;
      this.#remove(i, "evicted");
    }
    this.queue.push(key);
    this.values.set(key, value);
  }

  delete(key: string): boolean {
    const i = this.queue.indexOf(key);
    if (i === -1) return false;
    this.#remove(i, "deleted");
    return true;
  }

  #remove(i: number, reason: EvictionReason): void {
    const key = this.queue[i];
    this.queue.splice(i, 1);
    this.values.delete(key);
    this.visited.delete(key);
    // The entries after i shift down by one; a hand on i now points at the next newer entry.
    if (this.hand > i) this.hand--;
    if (this.hand >= this.queue.length) this.hand = -1;
    this.events.push([key, reason]);
  }
}

Deno.test("SieveCache agrees with a reference SIEVE over 100k random operations", () => {
  const rand = random(7);
  const maxEntries = 50;
  const model = new ReferenceSieve(maxEntries);
  const events: [string, EvictionReason][] = [];
  const cache = new SieveCache<string>({
    maxBytes: 1_000_000,
    maxEntries,
    sizeOf: (v) => v.length,
    onEvict: (key, _value, reason) => events.push([key, reason]),
  });
  for (let op = 0; op < 100_000; op++) {
    // A skewed key choice, so some keys are visited often and others scanned once.
    const key = `k${Math.floor(rand() ** 2 * 200)}`;
    const r = rand();
    if (r < 0.6) assert.equal(cache.get(key), model.get(key), `get ${key} at op ${op}`);
    else if (r < 0.95) {
      cache.set(key, String(op));
      model.set(key, String(op));
    } else assert.equal(cache.delete(key), model.delete(key), `delete ${key} at op ${op}`);
    assert.equal(cache.size, model.queue.length, `size at op ${op}`);
  }
  assert.deepEqual(events, model.events);
  for (const [key, value] of model.values) assert.equal(cache.get(key), value);
});
