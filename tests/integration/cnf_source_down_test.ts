import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { loadCnfMetricsProto } from "../../src/cnf/service.ts";
import { startMariaDb } from "../_mariadb.ts";
import { startNodeProcess } from "../_node.ts";

const TIMEOUT_MS = 500;
/**
 * Time beyond database.timeout_ms a request may take (process, gRPC, scheduling on a loaded machine).
 * Generous: it tells a deadline from a hang (a frozen database never answers), not how fast the node is.
 */
const SLACK_MS = 10_000;

type Unary = (
  req: unknown,
  cb: (e: grpc.ServiceError | null, res: { metric: { cnf_id: string } }) => void,
) => void;

/** ShowCnfMetric, resolving to the status, the CNF shown and how long the call took. */
function show(client: grpc.Client, cnfId: string) {
  const started = performance.now();
  return new Promise<{ code: grpc.status; details: string; cnfId?: string; ms: number }>((resolve) =>
    (client as unknown as Record<string, Unary>).ShowCnfMetric.call(
      client,
      { cnf_id: cnfId },
      (e, res) =>
        resolve({
          code: e?.code ?? grpc.status.OK,
          details: e?.details ?? "",
          cnfId: res?.metric.cnf_id,
          ms: performance.now() - started,
        }),
    )
  );
}

Deno.test("with MariaDB killed, frozen and restarted, a node serves hits, fails misses within database.timeout_ms and recovers by itself", async (t) => {
  const db = await startMariaDb();
  const dir = await Deno.makeTempDir({ prefix: "distcache-down-" });
  const config = `${dir}/config.yml`;
  const yaml = await Deno.readTextFile(new URL("../../config/config.yml", import.meta.url));
  assert.match(yaml, /^ {2}timeout_ms: 2000$/m);
  await Deno.writeTextFile(config, yaml.replace(/^ {2}timeout_ms: 2000$/m, `  timeout_ms: ${TIMEOUT_MS}`));
  const node = await startNodeProcess({ db: db.url, args: ["--config", config] });
  const Client = grpc.makeGenericClientConstructor(loadCnfMetricsProto(), "CnfMetricsService");
  const client = new Client(node.grpc, grpc.credentials.createInsecure());
  try {
    assert.equal((await show(client, "CNF-001")).code, grpc.status.OK);

    await t.step("killed: the cached key answers, misses answer UNAVAILABLE at once", async () => {
      await db.kill();
      const hit = await show(client, "CNF-001");
      assert.equal(hit.code, grpc.status.OK);
      assert.equal(hit.cnfId, "CNF-001");
      const miss = await show(client, "CNF-002");
      assert.equal(miss.code, grpc.status.UNAVAILABLE, miss.details);
      assert.match(miss.details, /metrics source unavailable for CNF-002/);
      assert.ok(miss.ms < TIMEOUT_MS + SLACK_MS, `took ${miss.ms} ms`);
      const http = await fetch(`${node.http}/_cache/metrics/CNF-003`);
      assert.equal(http.status, 503);
      await http.body?.cancel();
    });

    await t.step(
      "restarted on the same data and port: misses load again without restarting the node",
      async () => {
        await db.restart();
        const miss = await show(client, "CNF-002");
        assert.equal(miss.code, grpc.status.OK, miss.details);
        assert.equal(miss.cnfId, "CNF-002");
      },
    );

    await t.step("frozen (connections open, nothing answers): misses fail within the timeout", async () => {
      await db.pause(true);
      try {
        const hit = await show(client, "CNF-002");
        assert.equal(hit.code, grpc.status.OK);
        const misses = await Promise.all(["CNF-004", "CNF-005", "CNF-006"].map((id) => show(client, id)));
        for (const miss of misses) {
          assert.equal(miss.code, grpc.status.UNAVAILABLE, miss.details);
          // Our deadline or mysql2's connectTimeout (set to the same value) fires, whichever is first.
          assert.match(miss.details, new RegExp(`did not finish within ${TIMEOUT_MS} ms|connect ETIMEDOUT`));
          // Not before the deadline (the client's clock starts before the node's), and not a hang.
          assert.ok(miss.ms >= TIMEOUT_MS - 10 && miss.ms < TIMEOUT_MS + SLACK_MS, `took ${miss.ms} ms`);
        }
      } finally {
        await db.pause(false);
      }
    });

    await t.step("thawed: misses load again", async () => {
      const miss = await show(client, "CNF-004");
      assert.equal(miss.code, grpc.status.OK, miss.details);
      assert.equal(miss.cnfId, "CNF-004");
    });
  } finally {
    client.close();
    assert.equal(await node.stop(), 0, node.log());
    await db.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
