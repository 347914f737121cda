import assert from "node:assert/strict";
import { createCache, policies } from "../../src/cache/policies.ts";
import type { EvictionReason } from "../../src/cache/policy.ts";
import { random } from "./_random.ts";

/** What the test believes the cache holds: value, size and expiry per key. */
interface Entry {
  value: string;
  size: number;
  expiresAt: number;
}

/**
 * Runs `steps` random gets, sets (new keys, overwrites that grow and shrink, some expiring, some too big),
 * deletes, clock ticks and the odd clear against `policy`, checking after every step that the cache
 * agrees with a model kept only from its own onEvict reports.
 */
function fuzz(policy: string, seed: number, steps: number, maxEntries?: number) {
  const rand = random(seed);
  const maxBytes = 200;
  let clock = 1_000;
  const model = new Map<string, Entry>();
  const reported: Record<EvictionReason, number> = { evicted: 0, expired: 0, deleted: 0 };
  let gets = 0;
  let hits = 0;
  const cache = createCache<string>(policy, {
    maxBytes,
    maxEntries,
    sizeOf: (v) => v.length,
    now: () => clock,
    onEvict: (key, value, reason) => {
      const entry = model.get(key);
      // Reported exactly once, for an entry that was there, with the value it held.
      assert.ok(entry !== undefined, `${policy}: ${key} reported ${reason} but was not cached`);
      assert.equal(value, entry.value);
      if (reason === "expired") assert.ok(entry.expiresAt !== 0 && entry.expiresAt <= clock);
      model.delete(key);
      reported[reason]++;
    },
  });
  let key = "k0";
  for (let step = 0; step < steps; step++) {
    // Runs on one key (a hot key read again and again) as well as scattered keys.
    if (rand() >= 0.3) key = `k${Math.floor(rand() * 60)}`;
    const op = rand();
    if (op < 0.5) {
      gets++;
      const entry = model.get(key);
      const value = cache.get(key);
      const live = entry !== undefined && (entry.expiresAt === 0 || entry.expiresAt > clock);
      if (live) {
        assert.equal(value, entry.value, `${policy}: a live entry must be returned`);
        hits++;
      } else assert.equal(value, undefined, `${policy}: an absent or expired entry must not be returned`);
    } else if (op < 0.85) {
      const value = "v".repeat(rand() < 0.02 ? maxBytes : Math.floor(rand() * 20));
      const expiresAt = rand() < 0.3 ? clock + 1 + Math.floor(rand() * 50) : 0;
      const size = key.length + value.length;
      // Not stored when too big (the old value leaves as "deleted"); otherwise the model holds it.
      cache.set(key, value, expiresAt);
      if (size <= maxBytes) model.set(key, { value, size, expiresAt });
      else assert.equal(model.has(key), false);
    } else if (op < 0.95) {
      const entry = model.get(key);
      const live = entry !== undefined && (entry.expiresAt === 0 || entry.expiresAt > clock);
      assert.equal(cache.delete(key), live);
    } else if (op < 0.999) {
      clock += Math.floor(rand() * 20);
    } else {
      cache.clear();
      assert.equal(model.size, 0);
    }
    let bytes = 0;
    for (const entry of model.values()) bytes += entry.size;
    assert.ok(cache.bytes <= maxBytes, `${policy}: over the byte budget`);
    if (maxEntries !== undefined) assert.ok(cache.size <= maxEntries, `${policy}: over the entry bound`);
    assert.equal(cache.size, model.size, `${policy}: an entry left without being reported`);
    assert.equal(cache.bytes, bytes);
    assert.deepEqual(cache.stats(), {
      bytes,
      items: model.size,
      gets,
      hits,
      evictions: reported.evicted,
      expirations: reported.expired,
    });
  }
  return reported;
}

for (const policy of Object.keys(policies)) {
  Deno.test(`${policy}: random operations keep every invariant`, async (t) => {
    await t.step("bounded by bytes", () => {
      const reported = fuzz(policy, 7, 4_000);
      // The run must have exercised every way out.
      assert.ok(reported.evicted > 0 && reported.expired > 0 && reported.deleted > 0);
    });
    await t.step("bounded by entries as well", () => {
      const reported = fuzz(policy, 11, 4_000, 8);
      assert.ok(reported.evicted > 0);
    });
  });
}
