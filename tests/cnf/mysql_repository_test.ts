import assert from "node:assert/strict";
import { MysqlCnfRepository } from "../../src/cnf/mysql_repository.ts";
import { openRepository } from "../../src/cnf/repository.ts";
import { startMariaDb } from "../_mariadb.ts";
import { repositoryContract } from "./_repository_contract.ts";
import { sampleMetric } from "./_fixtures.ts";

// Resource and op sanitizers stay on: they prove the pool and the server process are closed by the end.
Deno.test("MysqlCnfRepository on a real MariaDB meets the repository contract", async (t) => {
  const db = await startMariaDb();
  try {
    const repo = await openRepository(db.url);
    try {
      assert.ok(repo instanceof MysqlCnfRepository);
      await repositoryContract(t, repo);

      await t.step("re-opening keeps the data and does not seed again", async () => {
        assert.equal(await repo.delete!("CNF-001"), true);
        const again = await openRepository(db.url);
        assert.equal(await again.get("CNF-001"), null);
        assert.deepEqual(await again.get("CNF-900"), await repo.get("CNF-900"));
        assert.equal(await again.count(), 100);
        await again.close();
        await again.close();
      });

      await t.step("concurrent reads beyond the pool's connection limit all complete", async () => {
        const ids = Array.from({ length: 200 }, (_, i) => `CNF-${String((i % 99) + 2).padStart(3, "0")}`);
        const rows = await Promise.all(ids.map((id) => repo.get(id)));
        assert.ok(rows.every((m, i) => m?.cnfId === ids[i]));
      });
    } finally {
      await repo.close();
    }

    await t.step("a wrong password is refused with the server named and the password hidden", async () => {
      const url = db.url.replace("distcache:distcache@", "distcache:wrong-pw@");
      await assert.rejects(openRepository(url), (err: Error) => {
        assert.match(err.message, /^cannot open MySQL repository at 127\.0\.0\.1:\d+\/distcache: .*denied/i);
        assert.ok(!err.message.includes("wrong-pw"));
        return true;
      });
    });

    await t.step("MysqlCnfRepository.open takes options directly", async () => {
      const repo = await MysqlCnfRepository.open({
        host: "127.0.0.1",
        port: db.port,
        user: "distcache",
        password: "distcache",
        database: "distcache",
        connectionLimit: 2,
        timeoutMs: 1000,
      });
      assert.deepEqual(
        await repo.get("CNF-900"),
        sampleMetric({
          value: 7,
          status: "Warning",
          timestamp: new Date("2026-01-02T03:04:05.006Z"),
        }),
      );
      await repo.close();
    });

    await t.step(
      "a missing database is created, then migrated and seeded; opening again is a no-op",
      async () => {
        const url = db.url.replace(/\/distcache$/, "/distcache_fresh");
        const first = await openRepository(url);
        assert.equal(await first.count(), 100);
        const again = await openRepository(url);
        assert.equal(await again.count(), 100);
        await Promise.all([first.close(), again.close()]);
        const tables = await db.rootQuery(
          "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'distcache_fresh'",
        );
        assert.deepEqual(tables.map((r) => r.t), ["cnf_metric"]);
      },
    );

    await t.step(
      "a frozen server fails an operation within the timeout, and it works once thawed",
      async () => {
        const repo = await openRepository(db.url, { timeoutMs: 300 });
        try {
          await repo.get("CNF-002");
          await db.pause(true);
          const started = performance.now();
          await assert.rejects(repo.get("CNF-003"), /did not finish within 300 ms/);
          const took = performance.now() - started;
          // At the deadline, not before; the upper bound only tells a deadline from a hang (the frozen
          // server never answers), with room for a loaded machine.
          assert.ok(took >= 300 - 10 && took < 300 + 10_000, `failed after ${took} ms`);
          await db.pause(false);
          assert.equal((await repo.get("CNF-003"))?.cnfId, "CNF-003");
        } finally {
          await db.pause(false);
          await repo.close();
        }
      },
    );
  } finally {
    await db.stop();
  }
});
