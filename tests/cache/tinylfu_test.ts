import assert from "node:assert/strict";
import { TinyLfuCache } from "../../src/cache/tinylfu.ts";
import { FixedTinyLfuCache } from "../../src/cache/tinylfu.ts";
import { GhostList } from "../../src/cache/_ghost_list.ts";
import { WTinyLfuShadow } from "../../src/cache/_wtinylfu_shadow.ts";
import { LruShadow } from "../../src/cache/_lru_shadow.ts";
import { random } from "./_random.ts";
import { FrequencySketch } from "../../src/cache/_frequency_sketch.ts";
import { murmur3 } from "../../src/cache/_hash.ts";

function entries(maxEntries: number, onEvict?: (key: string) => void) {
  return new TinyLfuCache<true>({ maxEntries, maxBytes: 1e9, sizeOf: () => 1, onEvict });
}

Deno.test("TinyLfuCache keeps frequently used entries through a scan that flushes LRU", () => {
  const cache = entries(100);
  const access = (k: string) => cache.get(k) ?? cache.set(k, true);
  for (let round = 0; round < 5; round++) for (let i = 0; i < 50; i++) access(`hot:${i}`);
  for (let i = 0; i < 1_000; i++) access(`scan:${i}`);
  let kept = 0;
  for (let i = 0; i < 50; i++) if (cache.get(`hot:${i}`) !== undefined) kept++;
  // LRU keeps none. A sketch of 128 counters a row after 1,000 distinct scan keys overestimates some of
  // them (its counts halve every 1,000 additions), so a few hot keys may lose their duel.
  assert.ok(kept >= 35, `kept ${kept} of 50 hot keys`);
});

Deno.test("TinyLfuCache admits a newcomer only when it is used more than main's victim", () => {
  const evicted: string[] = [];
  const cache = entries(3, (k) => evicted.push(k));
  for (const key of ["a", "b", "c", "a", "b", "a", "b"]) cache.get(key) ?? cache.set(key, true);
  cache.set("x", true); // x pushes c (used once) out of the window; c loses to main's a or b
  assert.deepEqual(evicted, ["c"]);
  cache.set("y", true); // x, used once, loses
  assert.deepEqual(evicted, ["c", "x"]);
  for (let i = 0; i < 5; i++) cache.get("y");
  cache.set("z", true); // y, now used six times, beats a or b, used three times
  assert.equal(evicted.length, 3);
  assert.ok(evicted[2] === "a" || evicted[2] === "b", evicted.join());
  assert.equal(cache.get("y"), true);
});

Deno.test("TinyLfuCache counts hits in a row on one key as it counts the same hits spread out", () => {
  const run = (reads: string[]) => {
    const evicted: string[] = [];
    const cache = entries(4, (k) => evicted.push(k));
    for (const key of ["a", "b", "c", "d", "a", "b", "c", "a", "b", "c"]) {
      cache.get(key) ?? cache.set(key, true);
    }
    cache.set("y", true); // d, used once, loses its duel
    for (const key of reads) assert.equal(cache.get(key), key === "y" ? true : undefined);
    cache.set("z", true); // y, now used 201 times, beats a, b or c; z then waits in the window
    cache.set("w", true); // z, used once, loses
    return { evicted, y: cache.get("y") };
  };
  const inRow = run(Array(200).fill("y"));
  // Between the hits, reads of keys the cache does not hold.
  const spread = run(Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? "y" : `absent:${i}`)));
  assert.equal(inRow.y, true);
  assert.equal(spread.y, true);
  assert.equal(inRow.evicted.length, 3, inRow.evicted.join());
  assert.deepEqual([inRow.evicted[0], inRow.evicted[2]], ["d", "z"]);
  assert.deepEqual(spread.evicted, inRow.evicted);
  // A run longer than one queue place holds (65,535 repeats) is applied in parts and still keeps y.
  assert.equal(run(Array(70_000).fill("y")).y, true);
});

Deno.test("TinyLfuCache keeps entries hit while protected when protected must give up its oldest", async (t) => {
  // 1,024 entries: a window of 10, main 1,014, protected at most 811. Every key k0..k1023 is set once,
  // k0..k799 are hit once (promoted to protected, oldest first), then `hot` are hit while protected.
  // Promoting 150 more makes protected give up 139 entries: the ones hit since are not among them. Newcomers
  // used eight times then win every duel against probation, whose entries go oldest first: the given-up
  // ones after the unhit ones, while protected (and so the hot keys) is never reached.
  const setup = (hot: number[]) => {
    const evicted: string[] = [];
    const cache = entries(1024, (k) => evicted.push(k));
    for (let i = 0; i < 1024; i++) cache.set(`k${i}`, true);
    for (let i = 0; i < 800; i++) assert.equal(cache.get(`k${i}`), true);
    for (const i of hot) assert.equal(cache.get(`k${i}`), true);
    for (let i = 800; i < 950; i++) assert.equal(cache.get(`k${i}`), true);
    for (let n = 0; n < 250; n++) {
      cache.set(`new${n}`, true);
      for (let r = 0; r < 7; r++) cache.get(`new${n}`);
    }
    const gone = new Set(evicted);
    return (i: number) => gone.has(`k${i}`);
  };

  await t.step("the hot keys, protected's oldest, all stay; older unhit entries behind them go", () => {
    const hot = Array.from({ length: 100 }, (_, i) => i);
    const evicted = setup(hot);
    assert.deepEqual(hot.filter(evicted), []);
    // Given up in their stead: protected's next oldest, unhit since promoted.
    assert.ok(evicted(100) && evicted(200), "k100 and k200 were given up and evicted");
    assert.ok(!evicted(300) && !evicted(799), "the rest of protected stays");
  });

  await t.step(
    "when every protected entry was hit, one pass clears them all and protected still gives up 139",
    () => {
      const hot = Array.from({ length: 800 }, (_, i) => i);
      const evicted = setup(hot);
      assert.equal(hot.filter(evicted).length, 139);
      // The last promoted, at protected's front and not hit since, are not among them.
      assert.deepEqual(Array.from({ length: 150 }, (_, i) => 800 + i).filter(evicted), []);
    },
  );
});

Deno.test("LruShadow hits like an LRU of the capacity given, which may shrink", () => {
  const shadow = new LruShadow();
  assert.equal(shadow.access(1, 2), false);
  assert.equal(shadow.access(2, 2), false);
  assert.equal(shadow.access(1, 2), true);
  assert.equal(shadow.access(3, 2), false); // 2 leaves
  assert.equal(shadow.access(2, 2), false); // 1 leaves
  assert.equal(shadow.access(3, 1), true); // capacity down to 1: 2, now the oldest, leaves
  assert.equal(shadow.access(2, 1), false);
  shadow.clear();
  assert.equal(shadow.access(3, 1), false);
});

Deno.test("LruShadow answers as a plain LRU list does over many keys and a capacity that moves", () => {
  const rand = random(3);
  const shadow = new LruShadow();
  const order: number[] = []; // newest last
  for (let t = 0; t < 20_000; t++) {
    const capacity = 50 + Math.floor(rand() * 100);
    const key = Math.floor(rand() ** 2 * 400);
    const at = order.indexOf(key);
    if (at !== -1) order.splice(at, 1);
    order.push(key);
    while (order.length > capacity) order.shift();
    assert.equal(shadow.access(key, capacity), at !== -1, `request ${t} for ${key}`);
  }
});

Deno.test("TinyLfuCache growing an entry alone in its segment evicts others, not it", () => {
  const cache = new TinyLfuCache<string>({ maxBytes: 10, sizeOf: (v) => v.length });
  for (const k of ["a", "b", "c"]) cache.set(k, "1");
  cache.set("c", "12345678"); // c is the whole window
  assert.equal(cache.get("c"), "12345678");
  assert.equal(cache.size, 1);
});

Deno.test("TinyLfuCache growing an entry that loses every duel keeps it through all the evictions it needs", () => {
  const cache = new TinyLfuCache<string>({ maxBytes: 20, sizeOf: (v) => v.length });
  for (const k of ["a", "b", "c", "d", "e"]) cache.set(k, "123");
  // Used more than e, the four others win every duel against it, so only its pin keeps it.
  for (let i = 0; i < 3; i++) for (const k of ["a", "b", "c", "d"]) cache.get(k);
  cache.set("e", "1234567890123"); // 14 bytes: three of the others, 4 bytes each, must go
  assert.equal(cache.get("e"), "1234567890123");
  assert.equal(cache.size, 2);
});

Deno.test("TinyLfuCache byte-bounded: grows its sketch with its slots, and clear starts afresh", () => {
  const cache = new TinyLfuCache<string>({ maxBytes: 50_000, sizeOf: (v) => v.length });
  for (let i = 0; i < 20_000; i++) {
    const key = `k${i % 3_000}`;
    if (cache.get(key) === undefined) cache.set(key, "value");
  }
  assert.ok(cache.bytes <= 50_000);
  cache.clear();
  assert.equal(cache.size, 0);
  assert.equal(cache.windowSize, 0);
  cache.set("a", "1");
  assert.equal(cache.get("a"), "1");
});

Deno.test("TinyLfuCache window grows when the window's losers come back soon, and shrinks when main's do", () => {
  const rand = random(42);
  const cache = entries(200);
  const access = (k: string) => cache.get(k) ?? cache.set(k, true);
  assert.equal(cache.windowFraction, 0.01);
  // Recency: new keys keep arriving and are reused soon after, then never again.
  for (let t = 0; t < 20_000; t++) access(`recent:${Math.max(0, (t >> 2) - Math.floor(rand() ** 3 * 400))}`);
  const afterRecency = cache.windowFraction;
  assert.ok(afterRecency > 0.3, `window after the recency phase: ${afterRecency}`);
  // Frequency: 150 hot keys used over and over among one-off keys, which a large window lets flush them.
  for (let t = 0; t < 60_000; t++) access(t % 2 === 0 ? `hot:${Math.floor(rand() * 150)}` : `once:${t}`);
  const afterFrequency = cache.windowFraction;
  assert.ok(afterFrequency < afterRecency - 0.2, `window went ${afterRecency} -> ${afterFrequency}`);
  assert.ok(cache.windowSize <= Math.round(afterFrequency * cache.size) + 1);
});

Deno.test("TinyLfuCache window stays small on a loop larger than the cache, which only frequency serves", () => {
  const cache = entries(200);
  let hits = 0;
  for (let t = 0; t < 30_000; t++) {
    const key = `loop:${t % 260}`;
    if (cache.get(key) !== undefined) hits++;
    else cache.set(key, true);
  }
  assert.ok(cache.windowFraction < 0.1, `window after the loop: ${cache.windowFraction}`);
  // LRU scores 0 here; keeping most of main fixed scores about 200 / 260 of the requests.
  assert.ok(hits / 30_000 > 0.6, `hit ratio ${hits / 30_000}`);
});

Deno.test("FixedTinyLfuCache keeps its window at the share given", () => {
  const rand = random(5);
  const cache = new FixedTinyLfuCache<true>({ maxEntries: 200, maxBytes: 1e9, sizeOf: () => 1 }, 0.2);
  for (let t = 0; t < 20_000; t++) {
    const key = `recent:${Math.max(0, (t >> 2) - Math.floor(rand() ** 3 * 400))}`;
    cache.get(key) ?? cache.set(key, true);
  }
  assert.equal(cache.windowFraction, 0.2);
  assert.equal(cache.windowSize, 40);
  assert.throws(() => new FixedTinyLfuCache<true>({ maxBytes: 10, sizeOf: () => 1 }, 1.5), /fixedWindow/);
});

Deno.test("FixedTinyLfuCache with an entry bound fills its whole window before main, as it will be when full", () => {
  const cache = new FixedTinyLfuCache<true>({ maxEntries: 1000, maxBytes: 1e9, sizeOf: () => 1 }, 0.1);
  for (let i = 0; i < 50; i++) cache.set(`k${i}`, true);
  // A tenth of the bound, not of the 50 held: all 50 are still in the window.
  assert.equal(cache.windowSize, 50);
  for (let i = 50; i < 300; i++) cache.set(`k${i}`, true);
  assert.equal(cache.windowSize, 100);
  // Byte-bounded, the cache cannot know its capacity ahead, and the window is a share of what it holds.
  const bytes = new FixedTinyLfuCache<true>({ maxBytes: 1e9, sizeOf: () => 1 }, 0.1);
  for (let i = 0; i < 50; i++) bytes.set(`k${i}`, true);
  assert.equal(bytes.windowSize, 5);
});

Deno.test("GhostList holds the newest hashes up to its capacity, each once", () => {
  const ghosts = new GhostList();
  ghosts.add(1, 2);
  ghosts.add(2, 2);
  ghosts.add(1, 2); // 1 becomes the newest again
  ghosts.add(3, 2); // 2, now the oldest, leaves
  assert.equal(ghosts.take(2), false);
  assert.equal(ghosts.take(1), true);
  assert.equal(ghosts.take(1), false);
  ghosts.add(4, 1); // capacity down to 1: 3 leaves
  assert.equal(ghosts.take(3), false);
  assert.equal(ghosts.take(4), true);
});

Deno.test("TinyLfuCache turns into plain LRU when a shadow LRU clearly does better, and back on a loop", () => {
  const rand = random(9);
  const cache = entries(256);
  const access = (k: string) => cache.get(k) ?? cache.set(k, true);
  // Recency: each key is reused a few times soon after it first appears. A frequency duel turns most
  // newcomers away, LRU keeps them.
  let lruAt = -1;
  for (let t = 0; t < 40_000 && lruAt < 0; t++) {
    access(`recent:${Math.max(0, (t >> 2) - Math.floor(rand() ** 3 * 600))}`);
    if (cache.windowFraction === 1) lruAt = t;
  }
  assert.ok(lruAt >= 0, `window after the recency phase: ${cache.windowFraction}`);
  // A loop over 300 keys, which LRU's 256 entries always miss: the shadow W-TinyLFU wins, and the
  // cache goes back to a small window.
  for (let t = 0; t < 200_000 && cache.windowFraction === 1; t++) access(`loop:${t % 300}`);
  assert.ok(cache.windowFraction < 0.5, `window after the loop: ${cache.windowFraction}`);
});

Deno.test("WTinyLfuShadow admits a newcomer to a full main only when the sketch says it is used more", () => {
  const counts = new Map<number, number>([[1, 5], [2, 5], [3, 1], [4, 9]]);
  const shadow = new WTinyLfuShadow({ frequency: (hash) => counts.get(hash) ?? 0 });
  // Capacity 3 with a window of one: 1 and 2 overflow into main.
  for (const key of [1, 2, 3]) assert.equal(shadow.access(key, 3, 0.3), false);
  assert.equal(shadow.access(1, 3, 0.3), true);
  // 3 leaves the window for 4 and duels main's oldest: used once against five times, it is dropped.
  assert.equal(shadow.access(4, 3, 0.3), false);
  // 3 is back, and pushes 4 out of the window: used nine times, 4 replaces main's oldest, 2.
  assert.equal(shadow.access(3, 3, 0.3), false);
  assert.equal(shadow.access(4, 3, 0.3), true);
  assert.equal(shadow.access(1, 3, 0.3), true);
  assert.equal(shadow.access(2, 3, 0.3), false);
  shadow.clear();
  assert.equal(shadow.access(1, 3, 0.3), false);
});

Deno.test("TinyLfuCache turns into LRU within the first period on alternating sweeps, then hits as LRU does", () => {
  // Sweeps up and down over 4 x 512 keys: each reversal hits the last 512 keys swept, exactly as many
  // as plain LRU keeps, and no policy does better. The evidence is overwhelming after the first
  // reversal, so the sequential test acts well before the first period (10 x 512 requests) ends.
  const capacity = 512;
  const cache = entries(capacity);
  const lru = new LruShadow();
  const keys = 4 * capacity;
  let lruAt = -1;
  let hits = 0;
  let lruHits = 0;
  for (let t = 0; t < 60 * keys; t++) {
    const sweep = Math.floor(t / keys);
    const i = t % keys;
    const key = sweep % 2 === 0 ? i : keys - 1 - i;
    const hit = cache.get(`${key}`) !== undefined;
    if (!hit) cache.set(`${key}`, true);
    const lruHit = lru.access(key, capacity);
    if (lruAt < 0 && cache.windowFraction === 1) lruAt = t;
    if (lruAt >= 0 && t >= lruAt + keys) {
      // Once turned over (a sweep after the switch), it is plain LRU: request for request the same.
      if (hit) hits++;
      if (lruHit) lruHits++;
    }
  }
  assert.ok(lruAt >= 0 && lruAt < 10 * capacity, `switched to LRU at request ${lruAt}`);
  assert.equal(cache.windowFraction, 1, "stays LRU: the shadow W-TinyLFU never wins on these sweeps");
  assert.equal(hits, lruHits);
});

Deno.test("TinyLfuCache switched to LRU keeps the entries used last, even those W-TinyLFU had placed in main", () => {
  const capacity = 512;
  const cache = entries(capacity);
  const keys = 4 * capacity;
  // Alternating sweeps until the cache switches to LRU, as in the test above.
  for (let t = 0; t < 10 * capacity && cache.windowFraction !== 1; t++) {
    const i = t % keys;
    const key = `${Math.floor(t / keys) % 2 === 0 ? i : keys - 1 - i}`;
    cache.get(key) ?? cache.set(key, true);
  }
  assert.equal(cache.windowFraction, 1);
  // Right after the switch nearly every entry still sits where W-TinyLFU put it, in main.
  const resident = [];
  for (let i = 0; i < keys; i++) if (cache.get(`${i}`) !== undefined) resident.push(`${i}`);
  assert.equal(resident.length, capacity);
  for (let i = 0; i < 100; i++) cache.set(`a:${i}`, true);
  const survivors = resident.filter((key) => cache.get(key) !== undefined);
  assert.equal(survivors.length, capacity - 100);
  // The survivors were used after the "a:" keys, so LRU gives up the "a:" keys for the next 100.
  for (let i = 0; i < 100; i++) cache.set(`b:${i}`, true);
  assert.deepEqual(survivors.filter((key) => cache.get(key) === undefined), []);
  for (let i = 0; i < 100; i++) assert.equal(cache.get(`a:${i}`), undefined, `a:${i}`);
});

/**
 * W-TinyLFU 1% as ../shared/traces/README.md describes its reference, written as plainly as possible over
 * arrays (index 0 the newest), on the same sketch and key hash as the cache.
 */
function referenceWTinyLfu(capacity: number): (key: string) => boolean {
  const sketch = new FrequencySketch(capacity);
  const hash = (key: string) => murmur3(key) & (-1 << 6);
  const window: string[] = [], probation: string[] = [], prot: string[] = [];
  const windowMax = Math.max(1, Math.round(0.01 * capacity));
  const protectedMax = 0.8 * (capacity - windowMax);
  const toFront = (list: string[], key: string) => list.unshift(...list.splice(list.indexOf(key), 1));
  return (key) => {
    sketch.increment(hash(key)); // every request, hit or miss, is counted first
    if (window.includes(key)) return toFront(window, key), true;
    if (prot.includes(key)) return toFront(prot, key), true;
    if (probation.includes(key)) {
      probation.splice(probation.indexOf(key), 1);
      prot.unshift(key);
      if (prot.length > protectedMax) probation.unshift(prot.pop()!);
      return true;
    }
    window.unshift(key);
    if (window.length <= windowMax) return false;
    const candidate = window.pop()!;
    if (probation.length + prot.length < capacity - windowMax) probation.unshift(candidate);
    else {
      const rivals = probation.length !== 0 ? probation : prot;
      if (sketch.frequency(hash(candidate)) > sketch.frequency(hash(rivals.at(-1)!))) {
        rivals.pop();
        probation.unshift(candidate);
      }
    }
    return false;
  };
}

Deno.test("FixedTinyLfuCache hits and misses exactly as the README's reference W-TinyLFU 1% on random requests", () => {
  for (const capacity of [20, 150]) {
    const rand = random(capacity);
    const cache = new FixedTinyLfuCache<true>({ maxEntries: capacity, maxBytes: 1e9, sizeOf: () => 1 });
    const reference = referenceWTinyLfu(capacity);
    for (let i = 0; i < 20_000; i++) {
      // Skewed popularity over four times the capacity, so duels are won and lost and the sketch halves.
      const key = `k${Math.floor(4 * capacity * rand() ** 2)}`;
      const hit = cache.get(key) !== undefined;
      if (!hit) cache.set(key, true);
      assert.equal(hit, reference(key), `request ${i} (${key}) at capacity ${capacity}`);
    }
  }
});
