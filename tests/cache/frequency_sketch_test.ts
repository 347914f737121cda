import assert from "node:assert/strict";
import { FrequencySketch } from "../../src/cache/_frequency_sketch.ts";
import { murmur3 } from "../../src/cache/_hash.ts";

Deno.test("FrequencySketch counts each key and saturates at 15", () => {
  const sketch = new FrequencySketch(1_000);
  const hashes = Array.from({ length: 200 }, (_, i) => murmur3(`key:${i}`));
  hashes.forEach((h, i) => {
    for (let n = 0; n < i % 20; n++) sketch.increment(h);
  });
  let over = 0;
  hashes.forEach((h, i) => {
    const estimate = sketch.frequency(h);
    // Count-min never underestimates; collisions may add a little.
    assert.ok(estimate >= Math.min(15, i % 20), `key ${i}: ${estimate}`);
    over += estimate - Math.min(15, i % 20);
  });
  assert.ok(over / hashes.length < 0.5, `mean overestimate ${over / hashes.length}`);
  assert.equal(sketch.frequency(hashes[19]), 15);
});

Deno.test("FrequencySketch halves every counter on demand and after sampleSize additions", async (t) => {
  await t.step("halve() rounds each count down to half", () => {
    const sketch = new FrequencySketch(64);
    for (let n = 0; n < 9; n++) sketch.increment(1234567);
    for (let n = 0; n < 4; n++) sketch.increment(7654321);
    sketch.halve();
    assert.equal(sketch.frequency(1234567), 4);
    assert.equal(sketch.frequency(7654321), 2);
  });

  await t.step("the sample period triggers it on its own", () => {
    const sketch = new FrequencySketch(1_024);
    assert.equal(sketch.sampleSize, 10_240);
    const hot = murmur3("hot");
    for (let n = 0; n < 8; n++) sketch.increment(hot);
    // Distinct keys until just before the period ends: no halving yet.
    let i = 0;
    for (; i < sketch.sampleSize - 8 - 1; i++) sketch.increment(murmur3(`cold:${i}`));
    const before = sketch.frequency(hot);
    assert.ok(before >= 8);
    sketch.increment(murmur3(`cold:${i}`));
    const after = sketch.frequency(hot);
    assert.ok(after === before >> 1 || after === (before + 1) >> 1, `${before} halved to ${after}`);
  });
});

Deno.test("FrequencySketch counts toward halving only increments that raised a counter", () => {
  const sketch = new FrequencySketch(64);
  assert.equal(sketch.sampleSize, 640);
  const hot = murmur3("hot");
  for (let n = 0; n < 15; n++) assert.equal(sketch.increment(hot), true);
  // Saturated: 1,000 more increments of it raise nothing and so never halve it.
  for (let n = 0; n < 1_000; n++) assert.equal(sketch.increment(hot), false);
  assert.equal(sketch.frequency(hot), 15);
  // Distinct keys do count: after a sample period of them the hot key is halved.
  for (let i = 0; i < sketch.sampleSize; i++) sketch.increment(murmur3(`cold:${i}`));
  assert.ok(sketch.frequency(hot) <= 8, `after the period: ${sketch.frequency(hot)}`);
});

Deno.test("FrequencySketch for a tiny cache keeps rows of 16 counters and still counts each key", () => {
  const sketch = new FrequencySketch(3);
  assert.equal(sketch.sampleSize, 30);
  const [a, b, c] = ["a", "b", "c"].map((k) => murmur3(k));
  for (let n = 0; n < 5; n++) sketch.increment(a);
  sketch.increment(b);
  assert.ok(sketch.frequency(a) >= 5 && sketch.frequency(b) >= 1);
  // 16 counters a row, four rows indexed apart: an unseen key reads 0 unless all four collide.
  assert.ok(sketch.frequency(c) <= 1, `unseen key: ${sketch.frequency(c)}`);
});
