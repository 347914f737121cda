import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { loadCnfMetricsProto } from "../../src/cnf/service.ts";
import { startMariaDb } from "../_mariadb.ts";
import { freePort, metricValue, type NodeProcess, startNodeProcess } from "../_node.ts";

const TOKEN = "penetration-test-token";
const REFRESH_MS = 1000;

type Unary = (
  req: unknown,
  md: grpc.Metadata,
  cb: (e: grpc.ServiceError | null, res: Record<string, unknown>) => void,
) => void;

function create(client: grpc.Client, cnfId: string): Promise<grpc.ServiceError | null> {
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${TOKEN}`);
  const metric = {
    cnf_id: cnfId,
    timestamp: { seconds: 1_767_225_600, nanos: 0 },
    metric_type: "Written Through The Cache",
    value: 1,
    unit: "ms",
    status: "Normal",
  };
  return new Promise((resolve) =>
    (client as unknown as Record<string, Unary>).CreateCnfMetric.call(
      client,
      { metric },
      md,
      (e) => resolve(e),
    )
  );
}

async function status(node: NodeProcess, key: string): Promise<number> {
  const res = await fetch(`${node.http}/_cache/metrics/${key}`);
  await res.body?.cancel();
  return res.status;
}

Deno.test("the key filter keeps unknown CNF ids away from MariaDB and never hides a real one", async (t) => {
  const db = await startMariaDb();
  const dir = await Deno.makeTempDir({ prefix: "distcache-penetration-" });
  const config = (await Deno.readTextFile(new URL("../../config/config.yml", import.meta.url)))
    .replace(/^(\s*refresh_ms:\s*)\d+/m, `$1${REFRESH_MS}`);
  assert.match(config, new RegExp(`refresh_ms: ${REFRESH_MS}`));
  await Deno.writeTextFile(`${dir}/config.yml`, config);
  const ports = [freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  let nodes: NodeProcess[] = [];
  let client: grpc.Client | undefined;
  const selects = async () => Number((await db.rootQuery("SHOW GLOBAL STATUS LIKE 'Com_select'"))[0].Value);
  try {
    nodes = await Promise.all(ports.map((p, i) =>
      startNodeProcess({
        httpPort: p,
        peers: urls.filter((_, j) => j !== i),
        db: db.url,
        args: ["--config", `${dir}/config.yml`],
        env: { DISTCACHE_PEER_TOKEN: TOKEN },
      })
    ));

    await t.step("899 distinct unknown ids cost at most a few SELECTs, not 899", async () => {
      const before = await selects();
      for (let i = 101; i <= 999; i++) {
        assert.equal(await status(nodes[i % 2], `CNF-${i}`), 404);
      }
      const reached = (await selects()) - before;
      // The filter lets about 1% of unknown keys through (false_positive_rate 0.01); the rebuild every
      // second lists the table in one SELECT each, which this window may include a few of.
      assert.ok(reached <= 30, `${reached} SELECTs for 899 unknown ids`);
      let rejected = 0;
      for (const n of nodes) rejected += await metricValue(n.http, "distcache_group_filter_rejections_total");
      assert.ok(rejected >= 850, `${rejected} of 899 ruled out by the filter`);
      for (const n of nodes) {
        assert.equal(await metricValue(n.http, "distcache_key_filter_active", { group: "metrics" }), 1);
        assert.ok(await metricValue(n.http, "distcache_key_filter_keys", { group: "metrics" }) >= 100);
      }
    });

    await t.step("every seeded id is still found", async () => {
      for (let i = 1; i <= 100; i++) {
        assert.equal(await status(nodes[i % 2], `CNF-${String(i).padStart(3, "0")}`), 200);
      }
    });

    await t.step("a CNF created through one node is found at once on every node", async () => {
      client = new (grpc.makeGenericClientConstructor(loadCnfMetricsProto(), "CnfMetricsService"))(
        nodes[0].grpc,
        grpc.credentials.createInsecure(),
      );
      for (const id of ["CNF-501", "CNF-502", "CNF-503", "CNF-504"]) {
        assert.equal(await create(client, id), null);
        for (const n of nodes) assert.equal(await status(n, id), 200, `${id} on ${n.http}`);
      }
    });

    await t.step("a row written behind the cache's back is found after the next rebuild", async () => {
      await db.rootQuery(
        "INSERT INTO distcache.cnf_metric (cnf_id, `timestamp`, metric_type, value, unit, status) " +
          "VALUES ('CNF-777', '2026-01-01 00:00:00', 'Direct', 1, 'ms', 'Normal')",
      );
      const deadline = Date.now() + REFRESH_MS * 5 + 5000;
      const pending = new Set(nodes);
      while (pending.size > 0) {
        for (const n of [...pending]) if (await status(n, "CNF-777") === 200) pending.delete(n);
        if (Date.now() > deadline) assert.fail(`CNF-777 not found within a few rebuilds of ${REFRESH_MS} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    });
  } finally {
    client?.close();
    await Promise.all(nodes.map((n) => n.stop()));
    await db.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
