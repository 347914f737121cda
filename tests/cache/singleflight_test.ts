import assert from "node:assert/strict";
import { Singleflight } from "../../src/cache/singleflight.ts";

Deno.test("Singleflight runs one call for 1,000 concurrent callers of a key", async () => {
  const flights = new Singleflight<string>();
  const gate = Promise.withResolvers<void>();
  let calls = 0;
  const fn = async () => {
    calls++;
    await gate.promise;
    return "value";
  };
  const pending = Array.from({ length: 1000 }, () => flights.do("k", fn));
  assert.equal(flights.inFlight, 1);
  gate.resolve();
  const results = await Promise.all(pending);
  assert.equal(calls, 1);
  assert.ok(results.every((r) => r.value === "value"));
  assert.equal(results.filter((r) => !r.shared).length, 1);
  assert.equal(results.filter((r) => r.shared).length, 999);
  assert.equal(flights.inFlight, 0);
});

Deno.test("Singleflight runs different keys independently", async () => {
  const flights = new Singleflight<string>();
  const calls: string[] = [];
  const results = await Promise.all(
    ["a", "b", "a"].map((key) =>
      flights.do(key, () => {
        calls.push(key);
        return Promise.resolve(key.toUpperCase());
      })
    ),
  );
  assert.deepEqual(calls, ["a", "b"]);
  assert.deepEqual(results.map((r) => r.value), ["A", "B", "A"]);
  assert.deepEqual(results.map((r) => r.shared), [false, false, true]);
});

Deno.test("Singleflight hands an error to every waiter and does not remember it", async () => {
  const flights = new Singleflight<number>();
  const boom = new Error("source down");
  let calls = 0;
  const failing = () => {
    calls++;
    return Promise.reject(boom);
  };
  const outcomes = await Promise.allSettled([
    flights.do("k", failing),
    flights.do("k", failing),
    flights.do("k", failing),
  ]);
  assert.equal(calls, 1);
  for (const outcome of outcomes) {
    assert.equal(outcome.status, "rejected");
    assert.equal((outcome as PromiseRejectedResult).reason, boom);
  }
  assert.equal(flights.inFlight, 0);
  const next = await flights.do("k", () => Promise.resolve(7));
  assert.deepEqual(next, { value: 7, shared: false });
});

Deno.test("Singleflight turns a synchronous throw into a rejection for every waiter", async () => {
  const flights = new Singleflight<number>();
  const boom = new Error("sync");
  await assert.rejects(
    flights.do("k", () => {
      throw boom;
    }),
    boom,
  );
  assert.equal(flights.inFlight, 0);
});

Deno.test("Singleflight runs the call again after a flight completes", async () => {
  const flights = new Singleflight<number>();
  let calls = 0;
  const fn = () => Promise.resolve(++calls);
  assert.deepEqual(await flights.do("k", fn), { value: 1, shared: false });
  assert.deepEqual(await flights.do("k", fn), { value: 2, shared: false });
});

Deno.test("Singleflight lets a call made while its callers resume start a new flight", async () => {
  const flights = new Singleflight<number>();
  let calls = 0;
  const fn = () => Promise.resolve(++calls);
  const second = flights.do("k", fn).then(() => flights.do("k", fn));
  assert.deepEqual(await second, { value: 2, shared: false });
});

Deno.test("Singleflight joins a nested call for the same key instead of calling again", async () => {
  const flights = new Singleflight<number>();
  let calls = 0;
  let inner: Promise<{ value: number; shared: boolean }> | undefined;
  const outer = await flights.do("k", () => {
    calls++;
    inner = flights.do("k", () => Promise.resolve(-1));
    return Promise.resolve(1);
  });
  assert.deepEqual(outer, { value: 1, shared: false });
  assert.deepEqual(await inner, { value: 1, shared: true });
  assert.equal(calls, 1);
});

Deno.test("Singleflight forget", async (t) => {
  await t.step("makes the next caller start a new flight while old waiters keep theirs", async () => {
    const flights = new Singleflight<string>();
    const oldGate = Promise.withResolvers<string>();
    const old = flights.do("k", () => oldGate.promise);
    const oldJoiner = flights.do("k", () => Promise.resolve("unused"));
    assert.equal(flights.forget("k"), true);
    const newGate = Promise.withResolvers<string>();
    const fresh = flights.do("k", () => newGate.promise);
    oldGate.resolve("old");
    newGate.resolve("new");
    assert.deepEqual(await old, { value: "old", shared: false });
    assert.deepEqual(await oldJoiner, { value: "old", shared: true });
    assert.deepEqual(await fresh, { value: "new", shared: false });
  });

  await t.step("never lets a finished older flight remove a newer one", async () => {
    const flights = new Singleflight<string>();
    const oldGate = Promise.withResolvers<string>();
    const old = flights.do("k", () => oldGate.promise);
    flights.forget("k");
    const newGate = Promise.withResolvers<string>();
    let newCalls = 0;
    const fresh = flights.do("k", () => {
      newCalls++;
      return newGate.promise;
    });
    oldGate.resolve("old");
    await old;
    assert.equal(flights.inFlight, 1);
    const joiner = flights.do("k", () => Promise.resolve("third"));
    newGate.resolve("new");
    assert.deepEqual(await joiner, { value: "new", shared: true });
    assert.deepEqual(await fresh, { value: "new", shared: false });
    assert.equal(newCalls, 1);
    assert.equal(flights.inFlight, 0);
  });

  await t.step("returns false when no flight is in progress", () => {
    assert.equal(new Singleflight<number>().forget("k"), false);
  });
});
