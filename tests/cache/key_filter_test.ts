import assert from "node:assert/strict";
import { BloomFilter } from "../../src/cache/bloom_filter.ts";
import { SourceKeyFilter } from "../../src/cache/key_filter.ts";
import { random } from "./_random.ts";

Deno.test("BloomFilter never forgets a key and lets through about the rate it was sized for", async (t) => {
  for (const rate of [0.01, 0.001]) {
    await t.step(`rate ${rate}`, () => {
      const filter = BloomFilter.forKeys(20_000, rate);
      for (let i = 0; i < 20_000; i++) filter.add(`CNF-${i}`);
      for (let i = 0; i < 20_000; i++) assert.ok(filter.mightContain(`CNF-${i}`), `CNF-${i} was added`);
      let passed = 0;
      const absent = 200_000;
      for (let i = 0; i < absent; i++) if (filter.mightContain(`absent-${i}`)) passed++;
      // Sized for the rate and rounded up to a power of two of bits, so at most the rate (with slack for
      // chance), and far from letting everything through.
      assert.ok(passed / absent <= rate * 1.5, `${passed} of ${absent} absent keys passed at rate ${rate}`);
      assert.ok(filter.byteLength <= 20_000 * -Math.log(rate) / Math.LN2 ** 2 / 8 * 2 + 8);
    });
  }
});

Deno.test("BloomFilter refuses sizes it cannot honour, naming them", () => {
  assert.throws(() => BloomFilter.forKeys(10, 0), /rate must be above 0 and below 1/);
  assert.throws(() => BloomFilter.forKeys(10, 1), /rate must be above 0 and below 1/);
  assert.throws(() => new BloomFilter(0, 3), /bits must be a positive integer/);
  assert.throws(() => new BloomFilter(1024, 0), /hashes must be an integer from 1 to 16/);
});

/** A listing that yields between keys, so writes can land while it runs (as a database listing does). */
async function* slowly(keys: string[]): AsyncGenerator<string> {
  for (const key of keys) {
    await Promise.resolve();
    yield key;
  }
}

Deno.test("SourceKeyFilter rules nothing out until its first rebuild, then only absent keys", async () => {
  const filter = new SourceKeyFilter(0.01);
  assert.ok(filter.mightContain("anything"), "before any rebuild every key may exist");
  assert.deepEqual(filter.stats(), { keys: 0, bytes: 0, rebuilds: 0, active: false });
  await filter.rebuild(() => slowly(["a", "b", "c"]));
  assert.ok(filter.mightContain("a") && filter.mightContain("b") && filter.mightContain("c"));
  let passed = 0;
  for (let i = 0; i < 1000; i++) if (filter.mightContain(`zz-${i}`)) passed++;
  assert.ok(passed < 50, `${passed} of 1000 absent keys passed`);
  assert.equal(filter.stats().active, true);
});

Deno.test("SourceKeyFilter keeps a key written while a rebuild lists the source", async () => {
  const filter = new SourceKeyFilter(0.01);
  await filter.rebuild(() => slowly(["old"]));
  // The listing was taken before "new" existed; "new" is written while the listing runs.
  const rebuilding = filter.rebuild(() => slowly(["old", "x", "y"]));
  await Promise.resolve();
  filter.add("new");
  await rebuilding;
  assert.ok(filter.mightContain("new"), "a write during a rebuild survives the swap");
  await assert.rejects(
    Promise.all([filter.rebuild(() => slowly(["a"])), filter.rebuild(() => slowly(["b"]))]),
    /a rebuild is already running/,
  );
});

Deno.test("SourceKeyFilter keeps the last filter when a rebuild fails", async () => {
  const filter = new SourceKeyFilter(0.01);
  await filter.rebuild(() => slowly(["a"]));
  async function* failing(): AsyncGenerator<string> {
    yield "b";
    throw new Error("database down");
  }
  await assert.rejects(filter.rebuild(failing), /database down/);
  assert.ok(filter.mightContain("a"));
  assert.equal(filter.stats().rebuilds, 1);
});

Deno.test("SourceKeyFilter never hides a key that exists, under random writes, deletes and rebuilds", async () => {
  const rand = random(21);
  const filter = new SourceKeyFilter(0.05);
  const source = new Set<string>();
  for (let step = 0; step < 4000; step++) {
    const key = `k${Math.floor(rand() * 500)}`;
    const r = rand();
    if (r < 0.45) {
      // A write through the cache: the row lands, then the cache is told.
      source.add(key);
      filter.add(key);
    } else if (r < 0.75) {
      // A delete: the row goes; the filter may keep the key (a false positive) until a rebuild.
      source.delete(key);
      filter.add(key);
    } else if (r < 0.8) {
      // A rebuild whose listing runs while writes land.
      const snapshot = [...source];
      const rebuilding = filter.rebuild(() => slowly(snapshot));
      for (let i = 0; i < 3; i++) {
        const k = `k${Math.floor(rand() * 500)}`;
        source.add(k);
        filter.add(k);
        await Promise.resolve();
      }
      await rebuilding;
    }
    if (step % 100 === 0) {
      for (const k of source) {
        assert.ok(filter.mightContain(k), `step ${step}: ${k} exists but was ruled out`);
      }
    }
  }
  for (const k of source) assert.ok(filter.mightContain(k), `${k} exists but was ruled out`);
});
