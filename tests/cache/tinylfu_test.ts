import assert from "node:assert/strict";
import { TinyLfuCache } from "../../src/cache/tinylfu.ts";
import { HillClimber } from "../../src/cache/_hill_climber.ts";
import { LruShadow } from "../../src/cache/_lru_shadow.ts";
import { random } from "./_random.ts";

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
  assert.ok(kept >= 45, `kept ${kept} of 50 hot keys`);
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

Deno.test("TinyLfuCache window grows on a recency-friendly workload, then shrinks on a frequency-friendly one", () => {
  const rand = random(42);
  const cache = entries(200);
  const access = (k: string) => cache.get(k) ?? cache.set(k, true);
  assert.equal(cache.windowFraction, 0.01);
  // Recency: new keys keep arriving and are reused soon after, then never again.
  for (let t = 0; t < 40_000; t++) access(`recent:${Math.max(0, (t >> 2) - Math.floor(rand() ** 3 * 400))}`);
  const afterRecency = cache.windowFraction;
  assert.ok(afterRecency > 0.3, `window after the recency phase: ${afterRecency}`);
  // Frequency: a loop over 300 keys, which LRU's 200 entries always miss; a small window keeps most.
  for (let t = 0; t < 60_000; t++) access(`loop:${t % 300}`);
  const afterFrequency = cache.windowFraction;
  assert.ok(afterFrequency < afterRecency - 0.2, `window went ${afterRecency} -> ${afterFrequency}`);
  assert.ok(cache.windowSize <= Math.round(afterFrequency * cache.size) + 1);
});

Deno.test("TinyLfuCache window jumps to plain LRU when a shadow LRU clearly beats it, and still shrinks on a loop", () => {
  const rand = random(7);
  const cache = entries(200);
  const access = (k: string) => cache.get(k) ?? cache.set(k, true);
  // Recency, which plain LRU serves best. Climbing alone, five samples of 256 gets take 1% to at most 32%.
  let jumpedAt = -1;
  for (let t = 0; t < 2_000 && jumpedAt < 0; t++) {
    access(`recent:${Math.max(0, (t >> 2) - Math.floor(rand() ** 3 * 400))}`);
    if (cache.windowFraction === 1) jumpedAt = t;
  }
  assert.ok(jumpedAt >= 0, `window after 2,000 gets: ${cache.windowFraction}`);
  // A loop over 300 keys, which LRU's 200 entries always miss: the shadow loses, and the climb goes down.
  for (let t = 0; t < 60_000; t++) access(`loop:${t % 300}`);
  assert.ok(cache.windowFraction < 0.8, `window after the loop: ${cache.windowFraction}`);
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

Deno.test("TinyLfuCache growing an entry alone in its segment evicts others, not it", () => {
  const cache = new TinyLfuCache<string>({ maxBytes: 10, sizeOf: (v) => v.length });
  for (const k of ["a", "b", "c"]) cache.set(k, "1");
  cache.set("c", "12345678"); // c is the whole window
  assert.equal(cache.get("c"), "12345678");
  assert.equal(cache.size, 1);
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

Deno.test("HillClimber steps up first, turns round when the hit ratio drops, and stays in range", () => {
  const climber = new HillClimber(0.5, 0, 1);
  const first = climber.sample(0.5);
  assert.ok(first > 0.5);
  const second = climber.sample(0.52); // better: keep going up
  assert.ok(second > first);
  const third = climber.sample(0.51); // worse: turn round
  assert.ok(third < second);
  for (let i = 0; i < 200; i++) climber.sample(0.4 - i * 0.001); // always worse: flips every time
  assert.ok(climber.fraction >= 0 && climber.fraction <= 1);
  const low = new HillClimber(0, 0, 1);
  low.sample(0.9);
  low.sample(0.1); // a large drop: back down, clamped at 0
  assert.equal(low.fraction, 0);
});

Deno.test("HillClimber jump moves straight to a fraction, clamped, and climbing goes on from there", () => {
  const climber = new HillClimber(0.01, 0, 1);
  climber.jump(1);
  assert.equal(climber.fraction, 1);
  climber.sample(0.5); // better than before: keeps pushing up, held at the top
  assert.equal(climber.fraction, 1);
  climber.sample(0.3); // worse: steps down
  assert.ok(climber.fraction < 1);
  climber.jump(2);
  assert.equal(climber.fraction, 1);
});
