/**
 * The behaviour every CnfRepository must show, run as test steps against each implementation so SQLite
 * and MySQL cannot drift apart.
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import assert from "node:assert/strict";
import { CnfValidationError } from "../../src/cnf/cnf_metric.ts";
import type { CnfRepository } from "../../src/cnf/repository.ts";
import { seedMetrics } from "../../src/cnf/seed.ts";
import { HOSTILE_IDS, sampleMetric } from "./_fixtures.ts";

/** Runs the contract as steps of `t` against `repo`, which must be freshly opened and seeded. */
export async function repositoryContract(t: Deno.TestContext, repo: CnfRepository): Promise<void> {
  await t.step("a new store is seeded with CNF-001..CNF-100", async () => {
    assert.equal(await repo.count(), 100);
    assert.deepEqual(await repo.get("CNF-001"), seedMetrics()[0]);
    assert.deepEqual(await repo.get("CNF-100"), seedMetrics()[99]);
  });

  await t.step("get returns null for an unknown id and compares ids case-sensitively", async () => {
    assert.equal(await repo.get("CNF-999"), null);
    assert.equal(await repo.get("cnf-001"), null);
  });

  await t.step("reads counts every get that queried the store, and nothing else", async () => {
    const before = repo.reads;
    await repo.get("CNF-002");
    await repo.get("CNF-998");
    await repo.count();
    await assert.rejects(repo.get("bad id"), CnfValidationError);
    assert.equal(repo.reads, before + 2);
  });

  await t.step("upsert stores a new metric that get returns exactly", async () => {
    const m = sampleMetric({ metricType: "Débit 📈", value: 0.1 + 0.2, unit: "µs", status: "Critical" });
    await repo.upsert(m);
    assert.deepEqual(await repo.get(m.cnfId), m);
    assert.equal(await repo.count(), 101);
    const tiny = sampleMetric({ cnfId: "CNF-901", value: -1e-300, timestamp: new Date(0), unit: "" });
    await repo.upsert(tiny);
    assert.deepEqual(await repo.get("CNF-901"), tiny);
  });

  await t.step("upsert of an existing id replaces every column and adds no row", async () => {
    const replaced = sampleMetric({
      metricType: "Ingress Latency",
      value: 99,
      unit: "s",
      status: "Warning",
      timestamp: new Date("2025-07-01T00:00:00.001Z"),
    });
    await repo.upsert(replaced);
    assert.deepEqual(await repo.get("CNF-900"), replaced);
    await repo.upsert(replaced);
    assert.equal(await repo.count(), 102, "an identical upsert is not an error and adds nothing");
    const original = sampleMetric({
      metricType: "Débit 📈",
      value: 0.1 + 0.2,
      unit: "µs",
      status: "Critical",
    });
    await repo.upsert(original);
    assert.deepEqual(await repo.get("CNF-900"), original);
  });

  await t.step("concurrent upserts of one id leave exactly one of the written rows", async () => {
    // Every column differs between writes, so a row mixing two writes would match none of them.
    const writes = Array.from({ length: 20 }, (_, i) =>
      sampleMetric({
        cnfId: "CNF-904",
        timestamp: new Date(Date.UTC(2025, 0, 1 + i)),
        metricType: `Type ${i}`,
        value: i,
        unit: `u${i}`,
        status: (["Normal", "Warning", "Critical"] as const)[i % 3],
      }));
    const before = await repo.count();
    await Promise.all(writes.map((m) => repo.upsert(m)));
    assert.equal(await repo.count(), before + 1, "one row for the id");
    const stored = await repo.get("CNF-904");
    assert.ok(
      writes.some((m) => isDeepStrictEqual(m, stored)),
      `the stored row is one of the written rows: ${JSON.stringify(stored)}`,
    );
    assert.equal(await repo.delete!("CNF-904"), true);
  });

  await t.step("upsert rejects an invalid metric before it is written", async () => {
    const bad = { ...sampleMetric({ cnfId: "CNF-902" }), status: "fine" } as unknown as ReturnType<
      typeof sampleMetric
    >;
    await assert.rejects(repo.upsert(bad), { name: "CnfValidationError", field: "status" });
    await assert.rejects(repo.upsert(sampleMetric({ cnfId: "CNF-902", value: NaN })), { field: "value" });
    assert.equal(await repo.get("CNF-902"), null);
  });

  await t.step("list pages through every row in cnf_id order without gaps or repeats", async () => {
    const seen: string[] = [];
    let after = "";
    for (let page = 0; page < 20; page++) {
      const rows = await repo.list(after, 7);
      assert.ok(rows.length <= 7);
      seen.push(...rows.map((m) => m.cnfId));
      if (rows.length < 7) break;
      after = rows[rows.length - 1].cnfId;
    }
    assert.equal(seen.length, 102);
    assert.deepEqual(seen, [...seen].sort());
    assert.equal(new Set(seen).size, seen.length);
    assert.deepEqual((await repo.list("", 1))[0], seedMetrics()[0]);
    assert.deepEqual(await repo.list("CNF-901", 5), [], "nothing sorts after the last id");
    assert.deepEqual(
      (await repo.list("CNF-0995", 1)).map((m) => m.cnfId),
      ["CNF-100"],
      "after need not exist",
    );
    await assert.rejects(repo.list("x' OR 1=1 --", 5), { field: "cnf_id" });
    await assert.rejects(repo.list("", 0), RangeError);
  });

  await t.step("injection-shaped ids are rejected before the store and leave it intact", async () => {
    const before = repo.reads;
    for (const id of HOSTILE_IDS) {
      await assert.rejects(repo.get(id), { name: "CnfValidationError", field: "cnf_id" });
      await assert.rejects(repo.delete!(id), { name: "CnfValidationError", field: "cnf_id" });
      await assert.rejects(repo.upsert(sampleMetric({ cnfId: id })), { field: "cnf_id" });
    }
    assert.equal(repo.reads, before, "no hostile id reached a query");
    assert.equal(await repo.count(), 102);
  });

  await t.step("update replaces an existing row and reports a missing one without inserting", async () => {
    const changed = sampleMetric({
      value: 7,
      status: "Warning",
      timestamp: new Date("2026-01-02T03:04:05.006Z"),
    });
    assert.equal(await repo.update!(changed), true);
    assert.deepEqual(await repo.get("CNF-900"), changed);
    assert.equal(await repo.update!(changed), true, "an unchanged row still counts as present");
    assert.equal(await repo.update!(sampleMetric({ cnfId: "CNF-903" })), false);
    assert.equal(await repo.get("CNF-903"), null);
    await assert.rejects(repo.update!(sampleMetric({ value: NaN })), { field: "value" });
  });

  await t.step("delete removes a row once", async () => {
    assert.equal(await repo.delete!("CNF-901"), true);
    assert.equal(await repo.get("CNF-901"), null);
    assert.equal(await repo.delete!("CNF-901"), false);
    assert.equal(await repo.count(), 101);
  });
}
