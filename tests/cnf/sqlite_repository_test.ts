import assert from "node:assert/strict";
import { join } from "node:path";
import { openRepository } from "../../src/cnf/repository.ts";
import { SqliteCnfRepository } from "../../src/cnf/sqlite_repository.ts";
import { repositoryContract } from "./_repository_contract.ts";
import { sampleMetric } from "./_fixtures.ts";

Deno.test("SqliteCnfRepository in memory meets the repository contract", async (t) => {
  const repo = await openRepository("sqlite::memory:");
  try {
    assert.ok(repo instanceof SqliteCnfRepository);
    await repositoryContract(t, repo);
  } finally {
    await repo.close();
  }
});

Deno.test("SqliteCnfRepository on a file meets the repository contract", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "distcache-sqlite-" });
  const repo = await openRepository(`sqlite:${join(dir, "cnf.db")}`);
  try {
    await repositoryContract(t, repo);
  } finally {
    await repo.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("in-memory SQLite stores are private to each open", async () => {
  const a = await openRepository("sqlite::memory:");
  const b = await openRepository("sqlite::memory:");
  await a.upsert(sampleMetric());
  assert.equal(await b.get("CNF-900"), null);
  await a.close();
  await b.close();
});

Deno.test("SqliteCnfRepository makes missing parent directories and keeps data across re-opens", async () => {
  const dir = await Deno.makeTempDir({ prefix: "distcache-sqlite-" });
  const path = join(dir, "nested", "deeper", "cnf.db");
  try {
    const first = await openRepository(`sqlite:${path}`);
    await first.upsert(sampleMetric());
    assert.equal(await first.delete!("CNF-001"), true);
    await first.close();

    const again = await openRepository(`sqlite:${path}`);
    assert.deepEqual(await again.get("CNF-900"), sampleMetric());
    assert.equal(await again.get("CNF-001"), null, "re-opening must not seed again");
    assert.equal(await again.count(), 100);
    await again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteCnfRepository.close may be called twice", async () => {
  const repo = SqliteCnfRepository.open(":memory:");
  await repo.close();
  await repo.close();
  await assert.rejects(repo.count(), "a closed store refuses work");
});

Deno.test("SqliteCnfRepository.open names the path it cannot open", async () => {
  const dir = await Deno.makeTempDir({ prefix: "distcache-sqlite-" });
  try {
    // A directory is not a database file.
    assert.throws(() => SqliteCnfRepository.open(dir), (err: Error) => {
      assert.match(err.message, /^cannot open SQLite repository ".*distcache-sqlite-/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteCnfRepository refuses a row another program corrupted instead of caching it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "distcache-sqlite-" });
  const path = join(dir, "cnf.db");
  try {
    await (await openRepository(`sqlite:${path}`)).close();
    const { DatabaseSync } = await import("node:sqlite");
    const raw = new DatabaseSync(path);
    raw.prepare("UPDATE cnf_metric SET status = 'meh' WHERE cnf_id = 'CNF-005'").run();
    raw.close();
    const repo = await openRepository(`sqlite:${path}`);
    await assert.rejects(repo.get("CNF-005"), { name: "CnfValidationError", field: "status" });
    await repo.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
