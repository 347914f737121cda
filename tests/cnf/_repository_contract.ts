/**
 * The behaviour every CnfRepository must show, run as test steps against each implementation so SQLite
 * and MySQL cannot drift apart.
 * @module
 */
import assert from "node:assert/strict";
import { CnfExistsError } from "../../src/cnf/cnf_exists_error.ts";
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

  await t.step("create stores a metric that get returns exactly", async () => {
    const m = sampleMetric({ metricType: "Débit 📈", value: 0.1 + 0.2, unit: "µs", status: "critical" });
    await repo.create(m);
    assert.deepEqual(await repo.get(m.cnfId), m);
    assert.equal(await repo.count(), 101);
    const tiny = sampleMetric({ cnfId: "CNF-901", value: -1e-300, timestamp: new Date(0), unit: "" });
    await repo.create(tiny);
    assert.deepEqual(await repo.get("CNF-901"), tiny);
  });

  await t.step("create of an existing id rejects with CnfExistsError and changes nothing", async () => {
    await assert.rejects(repo.create(sampleMetric({ value: 99 })), (err: unknown) => {
      assert.ok(err instanceof CnfExistsError);
      assert.equal(err.cnfId, "CNF-900");
      assert.match(err.message, /^cnf_id: .*already exists/);
      return true;
    });
    assert.equal((await repo.get("CNF-900"))?.value, 0.1 + 0.2);
  });

  await t.step("create rejects an invalid metric before it is written", async () => {
    const bad = { ...sampleMetric({ cnfId: "CNF-902" }), status: "fine" } as unknown as ReturnType<
      typeof sampleMetric
    >;
    await assert.rejects(repo.create(bad), { name: "CnfValidationError", field: "status" });
    assert.equal(await repo.get("CNF-902"), null);
  });

  await t.step("injection-shaped ids are rejected before the store and leave it intact", async () => {
    const before = repo.reads;
    for (const id of HOSTILE_IDS) {
      await assert.rejects(repo.get(id), { name: "CnfValidationError", field: "cnf_id" });
      await assert.rejects(repo.delete!(id), { name: "CnfValidationError", field: "cnf_id" });
      await assert.rejects(repo.create(sampleMetric({ cnfId: id })), { field: "cnf_id" });
    }
    assert.equal(repo.reads, before, "no hostile id reached a query");
    assert.equal(await repo.count(), 102);
  });

  await t.step("update replaces an existing row and reports a missing one without inserting", async () => {
    const changed = sampleMetric({
      value: 7,
      status: "warning",
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
