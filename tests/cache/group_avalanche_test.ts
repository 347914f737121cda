import assert from "node:assert/strict";
import { Group } from "../../src/cache/group.ts";
import { SourceKeyFilter } from "../../src/cache/key_filter.ts";
import { random } from "./_random.ts";

Deno.test("ttlJitter spreads the expiries of values loaded together, never past ttlMs", async () => {
  const now = 1_000_000;
  const group = new Group({
    name: "g",
    cacheBytes: 1 << 20,
    ttlMs: 10_000,
    ttlJitter: 0.2,
    getter: (k) => Promise.resolve(`v-${k}`),
    now: () => now,
    random: random(7),
  });
  const expiries: number[] = [];
  for (let i = 0; i < 500; i++) expiries.push((await group.get(`k${i}`))!.expiresAt);
  for (const e of expiries) assert.ok(e >= now + 8_000 && e <= now + 10_000, `expiry ${e - now} ms`);
  // Spread across the window rather than piled at its ends: each fifth of it holds a fair share.
  const buckets = [0, 0, 0, 0, 0];
  for (const e of expiries) buckets[Math.min(4, Math.floor((e - now - 8_000) / 400))]++;
  for (const b of buckets) assert.ok(b > 60 && b < 140, `buckets ${buckets}`);
  // A TTL given with a write is kept exactly; the group's default is jittered.
  await group.set("exact", "v", { ttlMs: 5_000 });
  assert.equal((await group.get("exact"))!.expiresAt, now + 5_000);
});

Deno.test("without jitter, values loaded together expire together", async () => {
  const group = new Group({
    name: "g",
    cacheBytes: 1 << 20,
    ttlMs: 10_000,
    getter: (k) => Promise.resolve(k),
    now: () => 5,
  });
  for (let i = 0; i < 20; i++) assert.equal((await group.get(`k${i}`))!.expiresAt, 10_005);
  assert.throws(
    () => new Group({ name: "g", cacheBytes: 1024, getter: () => Promise.resolve(null), ttlJitter: 1 }),
    /ttlJitter must be a number from 0 up to \(not including\) 1, got 1/,
  );
});

Deno.test("a key filter answers ruled-out keys without the source, the peers or the negative cache", async () => {
  const filter = new SourceKeyFilter(0.01);
  async function* existing() {
    yield* ["CNF-001", "CNF-002"];
  }
  await filter.rebuild(existing);
  const asked: string[] = [];
  const group = new Group({
    name: "metrics",
    cacheBytes: 1 << 20,
    keyFilter: filter,
    getter: (k) => {
      asked.push(k);
      return Promise.resolve(k === "CNF-001" || k === "CNF-003" ? `row ${k}` : null);
    },
  });
  for (let i = 100; i < 1100; i++) assert.equal(await group.get(`CNF-${i}`), null);
  const { filterRejections, filterFalsePositives, localLoads } = group.stats();
  assert.equal(filterRejections + filterFalsePositives, 1000);
  assert.equal(localLoads, asked.length);
  assert.equal(filterFalsePositives, asked.length, "each key let through and not found is a false positive");
  assert.ok(asked.length <= 30, `${asked.length} of 1000 unknown keys reached the source`);
  // Ruled-out keys took no room: the negative cache holds only the false positives.
  assert.equal(group.cacheStats("main").items, asked.length);
  assert.equal((await group.get("CNF-001"))?.toString(), "row CNF-001");

  // A row the cache is told about (a write, or a delete broadcast after CreateCnfMetric) is found at once.
  assert.equal(filter.mightContain("CNF-003"), false);
  await group.delete("CNF-003");
  assert.equal((await group.get("CNF-003"))?.toString(), "row CNF-003");
  await group.set("CNF-004", "set through the cache");
  assert.ok(filter.mightContain("CNF-004"));
});
