import assert from "node:assert/strict";
import { LoadLimit } from "../src/load_limit.ts";
import { NodeMetrics } from "../src/metrics.ts";

Deno.test("LoadLimit runs at most max loads at once and the rest in arrival order", async () => {
  const limit = new LoadLimit(2, 5_000);
  const gates = Array.from({ length: 5 }, () => Promise.withResolvers<void>());
  const started: number[] = [];
  const runs = gates.map((g, i) =>
    limit.run(async () => {
      started.push(i);
      await g.promise;
      return i;
    })
  );
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(started, [0, 1]);
  assert.equal(limit.running, 2);
  assert.equal(limit.waiting, 3);
  gates[1].resolve();
  await runs[1];
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(started, [0, 1, 2]);
  for (const g of gates) g.resolve();
  assert.deepEqual(await Promise.all(runs), [0, 1, 2, 3, 4]);
  assert.equal(limit.running, 0);
});

Deno.test("LoadLimit fails a load that waited too long, naming the limit, and frees its place", async () => {
  const limit = new LoadLimit(1, 20);
  const gate = Promise.withResolvers<void>();
  const first = limit.run(() => gate.promise);
  assert.equal(limit.refused, 0);
  await assert.rejects(
    limit.run(() => Promise.resolve()),
    /1 loads already in flight and none finished within 20 ms/,
  );
  assert.equal(limit.waiting, 0);
  assert.equal(limit.refused, 1);
  gate.resolve();
  await first;
  assert.equal(await limit.run(() => Promise.resolve("after")), "after");
});

Deno.test("LoadLimit passes a failing load's error on and still frees its place", async () => {
  const limit = new LoadLimit(1, 1_000);
  await assert.rejects(limit.run(() => Promise.reject(new Error("db down"))), /db down/);
  assert.equal(limit.running, 0);
  assert.equal(await limit.run(() => Promise.resolve(1)), 1);
});

Deno.test("the load limit's state is exported as metrics at scrape time", async () => {
  const limit = new LoadLimit(1, 20);
  const metrics = new NodeMetrics(() => []);
  metrics.watchLoadLimit(limit);
  const gate = Promise.withResolvers<void>();
  const first = limit.run(() => gate.promise);
  await assert.rejects(limit.run(() => Promise.resolve()), /already in flight/);
  const waiting = limit.run(() => Promise.resolve());
  const text = await metrics.text();
  for (
    const line of [
      "distcache_source_loads_running 1",
      "distcache_source_loads_waiting 1",
      "distcache_source_load_limit 1",
      "distcache_source_loads_refused_total 1",
    ]
  ) assert.ok(text.split("\n").includes(line), `${line} missing from:\n${text}`);
  gate.resolve();
  await Promise.all([first, waiting]);
  assert.ok((await metrics.text()).includes("distcache_source_loads_running 0"));
});
