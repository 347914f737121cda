import assert from "node:assert/strict";
import { ByteView } from "../../../src/cache/byte_view.ts";
import { createCache, policies } from "../../../src/cache/policies.ts";
import type { Cache } from "../../../src/cache/policy.ts";
import { ByteStore, ENTRY_OVERHEAD, segmentBytesFor } from "../../../src/cache/store/byte_store.ts";
import { random } from "../_random.ts";

const MAX_BYTES = 64 * 1024;
const SEGMENT = segmentBytesFor(MAX_BYTES);

/** A value's bytes, derived from its key and version, so a value under the wrong key or a torn one shows. */
function valueBytes(key: string, version: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let h = version * 2654435761;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  for (let i = 0; i < length; i++) out[i] = (h >>> (i % 24)) + i;
  return out;
}

interface Model {
  bytes: Uint8Array | null;
  /** The entry's expiry in the cache, and the expiry the value carries (may differ, as hot copies do). */
  expiresAt: number;
  valueExpiresAt: number;
}

function makeCache(policy: string, store: ByteStore, model: Map<string, Model>, clock: () => number) {
  return createCache<ByteView | null>(policy, {
    maxBytes: MAX_BYTES,
    store,
    now: clock,
    onEvict: (key, value, reason) => {
      const entry = model.get(key);
      assert.ok(entry !== undefined, `${policy}: ${key} reported ${reason} but was not cached`);
      // The value handed to onEvict outlives the entry and holds the bytes it held.
      if (entry.bytes === null) assert.equal(value, null);
      else assert.deepEqual(value!.toBytes(), entry.bytes);
      if (reason === "expired") assert.ok(entry.expiresAt !== 0 && entry.expiresAt <= clock());
      model.delete(key);
    },
  });
}

function expectEntry(
  cache: Cache<ByteView | null>,
  key: string,
  entry: Model | undefined,
  now: number,
): void {
  const got = cache.get(key);
  if (entry === undefined || (entry.expiresAt !== 0 && entry.expiresAt <= now)) {
    assert.equal(got, undefined, `${key}: expected nothing`);
    return;
  }
  if (entry.bytes === null) {
    assert.equal(got, null, `${key}: expected the negative entry`);
    return;
  }
  assert.ok(got instanceof ByteView, `${key}: lost`);
  assert.deepEqual(got.toBytes(), entry.bytes, `${key}: corrupted`);
  assert.equal(got.expiresAt, entry.valueExpiresAt, `${key}: wrong value expiry`);
}

for (const policy of Object.keys(policies)) {
  Deno.test(`ByteStore under ${policy}: random set/delete/expire/evict keep every value byte for byte`, () => {
    for (const seed of [7, 8]) {
      const rand = random(seed);
      let clock = 1_000_000;
      const model = new Map<string, Model>();
      const store = new ByteStore(MAX_BYTES);
      const cache = makeCache(policy, store, model, () => clock);
      const keys: string[] = [];
      for (let i = 0; i < 400; i++) keys.push(i % 17 === 0 ? `clé-${i}-€` : `k${i}`);
      let version = 0;
      let peakSegments = 0;
      let peakOver = -Infinity;
      for (let step = 0; step < 6_000; step++) {
        const key = keys[Math.floor(rand() * keys.length)];
        const r = rand();
        if (r < 0.45) {
          const length = rand() < 0.03 ? 1100 + Math.floor(rand() * 2000) : Math.floor(rand() * 200);
          const bytes = rand() < 0.1 ? null : valueBytes(key, ++version, length);
          const expiresAt = rand() < 0.3 ? clock + 1 + Math.floor(rand() * 50) : 0;
          const valueExpiresAt = bytes === null ? 0 : rand() < 0.3 ? clock + 1000 : expiresAt;
          const value = bytes === null ? null : ByteView.of(bytes, valueExpiresAt);
          // An overwrite is not reported: the model's entry is replaced.
          model.delete(key);
          cache.set(key, value, expiresAt);
          if (cache.get(key) !== undefined || expiresAt === 0) {
            model.set(key, { bytes, expiresAt, valueExpiresAt });
          }
          expectEntry(cache, key, model.get(key), clock);
        } else if (r < 0.55) {
          const had = model.get(key);
          const live = had !== undefined && !(had.expiresAt !== 0 && had.expiresAt <= clock);
          assert.equal(cache.delete(key), live);
          model.delete(key);
        } else if (r < 0.95) {
          expectEntry(cache, key, model.get(key), clock);
        } else {
          clock += Math.floor(rand() * 20);
        }
        assert.ok(cache.bytes <= MAX_BYTES, `accounted ${cache.bytes} over the bound`);
        // The store's garbage counts too: over the bound by at most the end of a segment a set closed.
        peakOver = Math.max(peakOver, cache.bytes + store.garbageBytes - MAX_BYTES);
        assert.equal(cache.size, model.size);
        const memory = store.memory();
        peakSegments = Math.max(peakSegments, memory.segments);
        // Segments never hold more than the bound plus the working, cleaning and spare segments.
        assert.ok(memory.segments + memory.spare <= MAX_BYTES + 5 * SEGMENT, `segments ${memory.segments}`);
        if (step % 200 === 0) { for (const k of keys) expectEntry(cache, k, model.get(k), clock); }
      }
      for (const k of keys) expectEntry(cache, k, model.get(k), clock);
      assert.ok(peakOver <= SEGMENT / 4, `accounted and garbage ${peakOver} bytes over the bound`);
      assert.ok(peakOver > -SEGMENT, `the bound was never reached (${peakOver})`);
      assert.ok(store.memory().cleanings > 0, `${policy} seed ${seed}: no segment was ever cleaned`);
      cache.clear();
      assert.equal(model.size, 0);
      assert.equal(cache.bytes, 0);
      assert.equal(store.memory().records, 0);
    }
  });
}

Deno.test("ByteStore: an entry costs its record and the per-entry overhead", () => {
  const store = new ByteStore(MAX_BYTES);
  // 8 header + 2 key + 100 value = 110, rounded up to 4: 112.
  assert.equal(store.cost("k1", ByteView.of(new Uint8Array(100)), 0), 112 + ENTRY_OVERHEAD);
  // A value whose own expiry differs from the entry's keeps it in the record: 8 more.
  assert.equal(store.cost("k1", ByteView.of(new Uint8Array(100), 5), 0), 120 + ENTRY_OVERHEAD);
  assert.equal(store.cost("k1", null, 0), 12 + ENTRY_OVERHEAD);
  assert.equal(store.cost("k1", ByteView.of(new Uint8Array(3)), 0), 16 + ENTRY_OVERHEAD);
  assert.equal(store.leastCost, store.cost("", null, 0));
});

Deno.test("ByteStore: a hit borrows the bytes, which follow the entry until it changes", async (t) => {
  const clock = () => 1;
  const store = new ByteStore(MAX_BYTES);
  const cache = createCache<ByteView | null>("lru", { maxBytes: MAX_BYTES, store, now: clock });
  cache.set("a", ByteView.of("first"));
  await t.step(
    "reading a borrowed view after its entry is replaced throws, never returns other bytes",
    () => {
      const view = cache.get("a")!;
      assert.equal(view.borrowed, true);
      assert.equal(view.toString(), "first");
      cache.set("a", ByteView.of("again"));
      assert.throws(() => view.toString(), /replaced, evicted or deleted/);
      assert.equal(cache.get("a")!.toString(), "again");
    },
  );
  await t.step("a detached copy outlives the entry", () => {
    const copy = cache.get("a")!.detach();
    assert.equal(copy.borrowed, false);
    cache.delete("a");
    assert.equal(copy.toString(), "again");
  });
  await t.step("setting a key to its own borrowed value keeps the bytes", () => {
    cache.set("b", ByteView.of("self"));
    cache.set("b", cache.get("b")!);
    assert.equal(cache.get("b")!.toString(), "self");
  });
  await t.step("a view still reads its value after cleaning moved it", () => {
    cache.set("kept", ByteView.of(valueBytes("kept", 1, 300)));
    const view = cache.get("kept")!;
    const before = store.memory().cleanings;
    // Churn other keys until segments have been cleaned, keeping "kept" the most recently used.
    for (let i = 0; store.memory().cleanings < before + 20 && i < 100_000; i++) {
      cache.set(`churn${i}`, ByteView.of(valueBytes(`churn${i}`, i, 150)));
      if (i % 50 === 0) cache.get("kept");
      if (i % 3 !== 0) cache.delete(`churn${i - 1}`);
    }
    assert.ok(store.memory().cleanings >= before + 20, "the churn cleaned no segment");
    assert.deepEqual(view.toBytes(), valueBytes("kept", 1, 300));
  });
  await t.step("clear invalidates every borrowed view", () => {
    const view = cache.get("kept")!;
    cache.clear();
    cache.set("kept", ByteView.of("other"));
    assert.throws(() => view.toBytes(), /replaced, evicted or deleted/);
  });
});

Deno.test("ByteStore: a cache cleared and filled again in its reserved arrays keeps nothing of the old entries", () => {
  let clock = 1_000;
  const store = new ByteStore(MAX_BYTES);
  const cache = createCache<ByteView | null>("tinylfu", { maxBytes: MAX_BYTES, store, now: () => clock });
  // Enough entries to grow the arrays several times within the reservation, each expiring soon.
  for (let i = 0; i < 500; i++) cache.set(`old${i}`, ByteView.of(valueBytes(`old${i}`, 1, 20)), clock + 10);
  assert.ok(cache.size > 256, `only ${cache.size} entries fit`);
  cache.clear();
  for (let i = 0; i < 500; i++) cache.set(`new${i}`, ByteView.of(valueBytes(`new${i}`, 2, 20)));
  clock += 1_000;
  const expiredBefore = cache.stats().expirations;
  const held = cache.size;
  assert.ok(held > 256, `only ${held} entries fit again`);
  // The old expiries lie in the same memory: none may make a new entry expire.
  for (let i = 0; i < 500; i++) {
    const got = cache.get(`new${i}`);
    if (got !== undefined) assert.deepEqual(got!.toBytes(), valueBytes(`new${i}`, 2, 20));
    assert.equal(cache.get(`old${i}`), undefined);
  }
  assert.equal(cache.stats().expirations, expiredBefore);
  assert.equal(cache.size, held);
});

Deno.test("ByteStore: churn after the first full fill evicts entries instead of growing the log", () => {
  // Large enough for the log's garbage share (a sixteenth of the records) to be several segments.
  const maxBytes = 4 << 20;
  const segment = segmentBytesFor(maxBytes);
  for (const policy of ["tinylfu", "lru"]) {
    const rand = random(3);
    const store = new ByteStore(maxBytes);
    let evicted = 0;
    const cache = createCache<ByteView | null>(policy, {
      maxBytes,
      store,
      onEvict: () => evicted++,
    });
    const value = (i: number) => ByteView.of(valueBytes(`k${i}`, i, 100));
    let i = 0;
    let filled = 0;
    while (evicted === 0) {
      filled = cache.bytes;
      cache.set(`k${i}`, value(i++));
    }
    // The first fill holds as many entries as their records and overhead fit in the bound (but for the
    // ends of closed segments): none of it is set aside for garbage the log holds only once entries die.
    assert.ok(filled > 0.99 * maxBytes, `${policy}: the fill held entries of ${filled} bytes`);
    const full = store.memory();
    const atFull = full.segments + full.spare;
    const entriesAtFull = cache.size;
    let peak = atFull;
    for (let turn = 0; turn < 4 * entriesAtFull; turn++) {
      cache.set(`c${turn}`, value(turn));
      // Hits on keys picked at random keep some entries of every age, so deaths leave scattered garbage.
      cache.get(`c${Math.floor(rand() * turn)}`);
      cache.get(`k${Math.floor(rand() * i)}`);
      const memory = store.memory();
      peak = Math.max(peak, memory.segments + memory.spare);
    }
    assert.ok(store.memory().cleanings > 0, `${policy}: the churn cleaned nothing`);
    // The segment being filled and one a cleaning opens may come on top; the garbage share may not.
    assert.ok(
      peak <= atFull + 2 * segment,
      `${policy}: segments grew from ${atFull} to ${peak} (${segment}-byte segments)`,
    );
    // The entries made room for the garbage instead.
    assert.ok(cache.size < entriesAtFull, `${policy}: ${cache.size} entries, ${entriesAtFull} at the fill`);
    assert.ok(cache.bytes + store.garbageBytes <= maxBytes);
  }
});

Deno.test("ByteStore: deleted entries make room for new ones, evicting no others but for segments' ends", () => {
  for (const policy of Object.keys(policies)) {
    const store = new ByteStore(MAX_BYTES);
    let evicted = 0;
    const cache = createCache<ByteView | null>(policy, {
      maxBytes: MAX_BYTES,
      store,
      onEvict: (_key, _value, reason) => {
        if (reason === "evicted") evicted++;
      },
    });
    const value = (key: string) => ByteView.of(valueBytes(key, 1, 100));
    let n = 0;
    for (; evicted === 0; n++) cache.set(`k${n}`, value(`k${n}`));
    const kept: string[] = [];
    const deleted: string[] = [];
    for (let i = 0; i < n; i++) {
      if (cache.get(`k${i}`) === undefined) continue;
      if (i % 2 === 0) cache.delete(`k${i}`), deleted.push(`k${i}`);
      else kept.push(`k${i}`);
    }
    evicted = 0;
    // As many new entries as were deleted, of the same sizes: the deleted ones' room is theirs.
    for (const key of deleted) cache.set(`n${key.slice(1)}`, value(`n${key}`));
    // Give or take the ends of segments (no record fits there): at most about one entry a segment.
    assert.ok(
      evicted <= MAX_BYTES / SEGMENT,
      `${policy}: ${evicted} entries evicted of ${kept.length} while ${deleted.length} deleted ones' room was free`,
    );
    for (const key of kept) {
      const got = cache.get(key);
      if (got !== undefined) assert.deepEqual(got!.toBytes(), valueBytes(key, 1, 100), key);
    }
  }
});
