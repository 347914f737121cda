import assert from "node:assert/strict";
import { around, lengthen, peakReloads, shorten } from "../../scripts/bench/_expiry_model.ts";

const setUp = { keys: 2000, ttlMs: 5000, loadMs: 1000, untilMs: 13_000 };

Deno.test("expiry model: without jitter every key loaded within a second reloads within one second", () => {
  assert.equal(peakReloads({ ...setUp, jitter: 0, rule: shorten }), setUp.keys);
});

Deno.test("expiry model: no rule brings the busiest second below keys / ttl", () => {
  const floor = setUp.keys * 1000 / setUp.ttlMs;
  for (const rule of [shorten, around, lengthen]) {
    for (const jitter of [0.1, 0.5, 0.9, 1]) {
      const peak = peakReloads({ ...setUp, jitter, rule });
      assert.ok(peak >= floor, `peak ${peak} below ${floor}`);
      assert.ok(peak < setUp.keys, `jitter ${jitter} should spread the burst, peak ${peak}`);
    }
  }
});

Deno.test("expiry model: the shipped rule never lengthens a lifetime", () => {
  for (const u of [0, 0.25, 0.999]) assert.ok(shorten(5000, 0.9, u) <= 5000);
  assert.ok(lengthen(5000, 0.5, 0.5) > 5000);
});
