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
    assert.equal(sketch.sampleSize, 4_096);
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

Deno.test("FrequencySketch.tickBy(n) halves at the same addition as n ticks", () => {
  const one = new FrequencySketch(64);
  const many = new FrequencySketch(64);
  const hot = murmur3("hot");
  for (const sketch of [one, many]) for (let n = 0; n < 15; n++) sketch.increment(hot);
  // Runs of 1 to 15 additions, crossing several halvings, some of them inside a run.
  for (let run = 0; run < 300; run++) {
    const n = (run % 15) + 1;
    for (let i = 0; i < n; i++) one.tick();
    many.tickBy(n);
    assert.equal(many.halvings, one.halvings, `after run ${run}`);
    assert.equal(many.frequency(hot), one.frequency(hot), `after run ${run}`);
  }
  assert.ok(one.halvings >= 4, `${one.halvings} halvings`);
  // The additions left over after a halving count toward the next: both halve again on the same tick.
  const halvings = one.halvings;
  for (let ticks = 1; one.halvings === halvings; ticks++) {
    assert.ok(ticks <= one.sampleSize, "no halving within a sample period");
    one.tick();
    many.tick();
    assert.equal(many.halvings, one.halvings, `after ${ticks} more ticks`);
  }
});
