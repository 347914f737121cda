import assert from "node:assert/strict";
import { createCache, policies } from "../../src/cache/policies.ts";
import type { Cache, CacheOptions, EvictionReason } from "../../src/cache/policy.ts";

/** Values are strings sized by their length, so byte sums in these tests are easy to read. */
type Event = [key: string, value: string, reason: EvictionReason];

function setup(policy: string, options: Partial<CacheOptions<string>> = {}) {
  const events: Event[] = [];
  let clock = 1_000;
  const cache: Cache<string> & { purgeExpired?: () => number } = createCache<string>(policy, {
    maxBytes: 100,
    sizeOf: (v) => v.length,
    onEvict: (key, value, reason) => events.push([key, value, reason]),
    now: () => clock,
    ...options,
  });
  return { cache, events, advance: (ms: number) => (clock += ms), now: () => clock };
}

for (const policy of Object.keys(policies)) {
  Deno.test(`${policy}: an expired entry is never returned`, async (t) => {
    await t.step("get after the expiry misses and removes it as expired", () => {
      const { cache, events, advance, now } = setup(policy);
      cache.set("k", "v", now() + 10);
      assert.equal(cache.get("k"), "v");
      advance(9);
      assert.equal(cache.get("k"), "v");
      advance(1);
      assert.equal(cache.get("k"), undefined);
      assert.deepEqual(events, [["k", "v", "expired"]]);
      assert.equal(cache.size, 0);
      assert.equal(cache.bytes, 0);
      assert.deepEqual(cache.stats(), { bytes: 0, items: 0, gets: 3, hits: 2, evictions: 0, expirations: 1 });
    });

    await t.step("delete of an expired entry reports absent and reclaims it as expired", () => {
      const { cache, events, advance, now } = setup(policy);
      cache.set("k", "v", now() + 1);
      advance(1);
      assert.equal(cache.delete("k"), false);
      assert.deepEqual(events, [["k", "v", "expired"]]);
      assert.equal(cache.delete("k"), false);
    });

    await t.step("an overwrite replaces the expiry, and 0 means never", () => {
      const { cache, advance, now } = setup(policy);
      cache.set("k", "v", now() + 1);
      cache.set("k", "w");
      advance(1_000_000);
      assert.equal(cache.get("k"), "w");
      cache.set("k", "x", now() + 5);
      advance(5);
      assert.equal(cache.get("k"), undefined);
    });

    await t.step("purgeExpired removes only the expired entries", () => {
      const { cache, events, advance, now } = setup(policy);
      assert.equal(cache.purgeExpired!(), 0);
      cache.set("a", "1", now() + 1);
      cache.set("b", "2", now() + 100);
      cache.set("c", "3");
      advance(1);
      assert.equal(cache.purgeExpired!(), 1);
      assert.deepEqual(events, [["a", "1", "expired"]]);
      assert.equal(cache.size, 2);
      assert.equal(cache.bytes, 4);
      assert.equal(cache.stats().expirations, 1);
    });

    await t.step("inserts sweep expired entries away without anyone reading them", () => {
      const { cache, advance, now } = setup(policy, { maxBytes: 10_000 });
      for (let i = 0; i < 50; i++) cache.set(`old${i}`, "v", now() + 1);
      advance(1);
      for (let i = 0; i < 50; i++) cache.set(`new${i}`, "v");
      assert.equal(cache.size, 50);
      assert.equal(cache.stats().expirations, 50);
    });

    await t.step("an expired entry reached by eviction counts as expired, not evicted", () => {
      const { cache, events, advance, now } = setup(policy, { maxEntries: 1 });
      cache.set("a", "1", now() + 1);
      advance(1);
      cache.set("b", "2");
      assert.deepEqual(events, [["a", "1", "expired"]]);
      assert.equal(cache.stats().evictions, 0);
      assert.equal(cache.stats().expirations, 1);
    });
  });

  Deno.test(`${policy}: bytes count key UTF-8 bytes plus value size through overwrites and deletes`, () => {
    const { cache } = setup(policy);
    cache.set("ab", "xyz");
    assert.equal(cache.bytes, 5);
    cache.set("ab", "x");
    assert.equal(cache.bytes, 3);
    cache.set("ab", "wxyz");
    assert.equal(cache.bytes, 6);
    cache.set("é", "v"); // two UTF-8 bytes of key
    assert.equal(cache.bytes, 9);
    cache.set("😀", ""); // four bytes, from a surrogate pair
    assert.equal(cache.bytes, 13);
    assert.equal(cache.delete("ab"), true);
    assert.equal(cache.bytes, 7);
    assert.equal(cache.delete("ab"), false);
    cache.clear();
    assert.equal(cache.bytes, 0);
    assert.equal(cache.size, 0);
  });

  Deno.test(`${policy}: a key counts as many bytes as TextEncoder makes of it`, () => {
    const { cache } = setup(policy, { maxBytes: 1_000 });
    const encoder = new TextEncoder();
    // ASCII, two-, three- and four-byte characters, and lone surrogates (encoded as U+FFFD).
    const keys = ["plain", "é", "x€y", "😀", "a\uD800", "\uD800x", "\uDC00", "ab😀é€\uD83D"];
    for (const key of keys) {
      cache.set(key, "");
      assert.equal(cache.bytes, encoder.encode(key).byteLength, JSON.stringify(key));
      cache.delete(key);
    }
  });

  Deno.test(`${policy}: stays within maxBytes by evicting`, () => {
    const { cache, events } = setup(policy, { maxBytes: 10 });
    for (const k of ["a", "b", "c", "d", "e", "f"]) cache.set(k, "1");
    assert.equal(cache.bytes, 10);
    assert.equal(cache.size, 5);
    assert.equal(events.length, 1);
    assert.equal(events[0][2], "evicted");
    cache.set("b", "123456789"); // growing an entry in place evicts others
    assert.ok(cache.bytes <= 10);
    assert.equal(cache.get("b"), "123456789");
  });

  Deno.test(`${policy}: maxEntries bounds the number of entries`, () => {
    const { cache, events } = setup(policy, { maxEntries: 3, maxBytes: 1_000 });
    for (const k of ["a", "b", "c", "d", "e"]) cache.set(k, "v");
    assert.equal(cache.size, 3);
    assert.equal(events.length, 2);
    assert.equal(cache.stats().evictions, 2);
    cache.set("e", "w"); // overwriting does not evict
    assert.equal(cache.size, 3);
    assert.equal(events.length, 2);
  });

  Deno.test(`${policy}: an entry larger than maxBytes is not stored`, async (t) => {
    await t.step("a new key is simply not stored", () => {
      const { cache, events } = setup(policy, { maxBytes: 10 });
      cache.set("a", "1");
      cache.set("k", "1234567890");
      assert.equal(cache.get("k"), undefined);
      assert.equal(cache.get("a"), "1");
      assert.equal(events.length, 0);
    });
    await t.step("an entry of exactly maxBytes is stored", () => {
      const { cache } = setup(policy, { maxBytes: 10 });
      cache.set("a", "1");
      cache.set("k", "123456789");
      assert.equal(cache.get("k"), "123456789");
      assert.equal(cache.size, 1);
      assert.equal(cache.bytes, 10);
    });
    await t.step("the old value under the key is removed as deleted", () => {
      const { cache, events } = setup(policy, { maxBytes: 10 });
      cache.set("k", "old");
      cache.set("k", "1234567890");
      assert.equal(cache.get("k"), undefined);
      assert.deepEqual(events, [["k", "old", "deleted"]]);
      assert.equal(cache.bytes, 0);
    });
    await t.step("a size that is negative or NaN is an error naming sizeOf", () => {
      const { cache } = setup(policy, { sizeOf: () => -5 });
      assert.throws(() => cache.set("k", "v"), /sizeOf must return a byte count >= 0, got -4/);
      const nan = setup(policy, { sizeOf: () => NaN }).cache;
      assert.throws(() => nan.set("k", "v"), /sizeOf must return a byte count >= 0, got NaN/);
    });
  });

  Deno.test(`${policy}: onEvict gets the reason, and overwrite does not call it`, () => {
    const { cache, events, advance, now } = setup(policy, { maxEntries: 2 });
    cache.set("a", "1");
    cache.set("a", "2");
    assert.deepEqual(events, []);
    cache.set("b", "1", now() + 1);
    cache.delete("a");
    advance(1);
    cache.get("b");
    cache.set("c", "1");
    cache.set("d", "1");
    cache.set("e", "1");
    cache.set("f", "1");
    cache.clear();
    assert.deepEqual(events.map((e) => e[2]), [
      "deleted",
      "expired",
      "evicted",
      "evicted",
      "deleted",
      "deleted",
    ]);
    assert.deepEqual(events.slice(0, 2), [["a", "2", "deleted"], ["b", "1", "expired"]]);
    // Which two of c, d, e, f were evicted is the policy's choice; the other two are cleared.
    assert.deepEqual(events.slice(2).map((e) => e[0]).sort(), ["c", "d", "e", "f"]);
  });

  Deno.test(`${policy}: counters follow gets, hits, evictions and expirations`, () => {
    const { cache, advance, now } = setup(policy, { maxEntries: 2, onEvict: undefined });
    cache.get("x");
    cache.set("a", "1");
    cache.get("a");
    cache.set("b", "1", now() + 1);
    advance(1);
    cache.get("b");
    cache.set("c", "1");
    cache.set("d", "1");
    assert.deepEqual(cache.stats(), { bytes: 4, items: 2, gets: 3, hits: 1, evictions: 1, expirations: 1 });
    cache.clear();
    assert.deepEqual(cache.stats(), { bytes: 0, items: 0, gets: 3, hits: 1, evictions: 1, expirations: 1 });
  });

  Deno.test(`${policy}: grows past its initial slots and reuses them after clear`, () => {
    const { cache, events } = setup(policy, { maxBytes: 1_000_000 });
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 5_000; i++) cache.set(`k${i}`, `v${i}`);
      for (let i = 0; i < 5_000; i++) assert.equal(cache.get(`k${i}`), `v${i}`);
      assert.equal(cache.size, 5_000);
      cache.clear();
    }
    assert.equal(events.length, 10_000);
    cache.set("a", "1");
    assert.equal(cache.get("a"), "1");
  });

  Deno.test(`${policy}: rejects options outside their range, naming the option`, () => {
    const sizeOf = (v: string) => v.length;
    assert.throws(() => createCache(policy, { maxBytes: 0, sizeOf }), /maxBytes must be a positive number/);
    assert.throws(() => createCache(policy, { maxBytes: NaN, sizeOf }), /maxBytes must be a positive number/);
    assert.throws(
      () => createCache(policy, { maxBytes: 1, maxEntries: 1.5, sizeOf }),
      /maxEntries must be a positive integer, got 1.5/,
    );
    assert.throws(
      () => createCache(policy, { maxBytes: 1, maxEntries: 0, sizeOf }),
      /maxEntries must be a positive integer/,
    );
    assert.throws(
      () => createCache(policy, { maxBytes: 1 } as CacheOptions<string>),
      /sizeOf must be a function/,
    );
  });

  Deno.test(`${policy}: works with the default clock`, () => {
    const cache = createCache<string>(policy, { maxBytes: 100, sizeOf: (v) => v.length });
    cache.set("past", "v", Date.now() - 1);
    cache.set("future", "v", Date.now() + 60_000);
    assert.equal(cache.get("past"), undefined);
    assert.equal(cache.get("future"), "v");
  });
}

Deno.test("createCache names an unknown policy and lists the valid ones", () => {
  const sizeOf = (v: string) => v.length;
  assert.throws(
    () => createCache("arc", { maxBytes: 1, sizeOf }),
    {
      message: 'unknown cache policy "arc"; expected one of: lru, sieve, fifo, lfu, tinylfu, wtinylfu-fixed',
    },
  );
  assert.throws(() => createCache("toString", { maxBytes: 1, sizeOf }), /unknown cache policy "toString"/);
});

Deno.test("policies lists lru, sieve, fifo, lfu, tinylfu and wtinylfu-fixed", () => {
  assert.deepEqual(Object.keys(policies), ["lru", "sieve", "fifo", "lfu", "tinylfu", "wtinylfu-fixed"]);
});
