import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { AUTHORIZATION, bearer } from "../../src/auth/bearer.ts";
import { DEV_TOKEN } from "../../src/auth/credentials.ts";
import { ConsistentHash } from "../../src/cache/consistent_hash.ts";
import { loadCnfMetricsProto } from "../../src/cnf/service.ts";
import { type MariaDb, startMariaDb } from "../_mariadb.ts";
import { freePort, metricValue, type NodeProcess, startNodeProcess } from "../_node.ts";

type Reply = { code: grpc.status; details: string; res?: Record<string, unknown> };
type Unary = (
  req: unknown,
  md: grpc.Metadata,
  cb: (e: grpc.ServiceError | null, res: Record<string, unknown>) => void,
) => void;

/**
 * Calls a unary CnfMetricsService method with the nodes' peer token (writes need one) and resolves to its
 * status and response, never rejecting.
 */
function rpc(client: grpc.Client, method: string, req: unknown): Promise<Reply> {
  const md = new grpc.Metadata();
  md.set(AUTHORIZATION, bearer(DEV_TOKEN));
  return new Promise((resolve) =>
    (client as unknown as Record<string, Unary>)[method].call(
      client,
      req,
      md,
      (e, res) =>
        resolve(e ? { code: e.code, details: e.details } : { code: grpc.status.OK, details: "", res }),
    )
  );
}

async function comSelect(db: MariaDb): Promise<number> {
  const [row] = await db.rootQuery("SHOW GLOBAL STATUS LIKE 'Com_select'");
  return Number(row.Value);
}

/** Row count and checksum of the table, read as root, to show that bad input changed nothing. */
async function tableState(db: MariaDb): Promise<string> {
  const [count] = await db.rootQuery("SELECT COUNT(*) AS n FROM distcache.cnf_metric");
  const [sum] = await db.rootQuery("CHECKSUM TABLE distcache.cnf_metric");
  return `${count.n} rows, checksum ${sum.Checksum}`;
}

Deno.test("CnfMetricsService on three nodes over MariaDB: one read per cold key, writes seen everywhere, bad input refused", async (t) => {
  const db = await startMariaDb();
  const ports = [freePort(), freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  let nodes: NodeProcess[] = [];
  const Client = grpc.makeGenericClientConstructor(loadCnfMetricsProto(), "CnfMetricsService");
  let clients: grpc.Client[] = [];
  try {
    nodes = await Promise.all(
      ports.map((p, i) =>
        startNodeProcess({ httpPort: p, peers: urls.filter((_, j) => j !== i), db: db.url })
      ),
    );
    clients = nodes.map((n) => new Client(n.grpc, grpc.credentials.createInsecure()));
    const ring = new ConsistentHash();
    ring.add(...urls);
    const ownerOf = (key: string) => urls.indexOf(ring.get(key)!);
    const reads = () => Promise.all(nodes.map((n) => metricValue(n.http, "distcache_source_reads_total")));

    await t.step(
      "500 concurrent ShowCnfMetric for one cold key over three nodes read MariaDB once",
      async () => {
        const key = "CNF-077";
        const readsBefore = await reads();
        const selectsBefore = await comSelect(db);
        assert.equal(await comSelect(db), selectsBefore, "reading the counter is not itself a SELECT");
        const replies = await Promise.all(
          Array.from({ length: 500 }, (_, i) => rpc(clients[i % 3], "ShowCnfMetric", { cnf_id: key })),
        );
        const selects = await comSelect(db) - selectsBefore;
        const readsAfter = await reads();
        assert.ok(
          replies.every((r) => r.code === grpc.status.OK),
          replies.find((r) => r.code)?.details ?? "",
        );
        assert.ok(replies.every((r) => (r.res?.metric as { cnf_id: string }).cnf_id === key));
        assert.ok(replies.every((r) => r.res?.code === 200));
        assert.deepEqual(
          readsAfter.map((n, i) => n - readsBefore[i]),
          [0, 1, 2].map((i) => i === ownerOf(key) ? 1 : 0),
        );
        assert.equal(selects, 1, "MariaDB's own count of SELECT statements agrees");
      },
    );

    await t.step(
      "after CreateCnfMetric returns, every node shows the new value, hot copies included",
      async () => {
        const key = "CNF-005";
        const owner = ownerOf(key);
        const others = [0, 1, 2].filter((i) => i !== owner);
        // A non-owner keeps a fetched value in its hot cache 1 time in 10; 100 reads make a copy all but
        // certain (0.9^100), and the hot-hit counter proves it.
        const hotBefore = await Promise.all(
          others.map((i) => metricValue(urls[i], "distcache_group_hot_hits_total")),
        );
        for (const i of others) {
          for (let n = 0; n < 100; n++) await (await fetch(`${urls[i]}/_cache/metrics/${key}`)).arrayBuffer();
        }
        const hotAfter = await Promise.all(
          others.map((i) => metricValue(urls[i], "distcache_group_hot_hits_total")),
        );
        assert.ok(
          hotAfter.every((h, j) => h > hotBefore[j]),
          "each non-owner served the old value from its hot cache",
        );
        for (const c of clients) {
          assert.equal(
            ((await rpc(c, "ShowCnfMetric", { cnf_id: key })).res?.metric as { value: number }).value,
            9.6,
          );
        }

        const metric = {
          cnf_id: key,
          timestamp: { seconds: 1767225600, nanos: 0 },
          metric_type: "User Plane Throughput",
          value: 1.5,
          unit: "Gbps",
          status: "warning",
        };
        const created = await rpc(clients[others[0]], "CreateCnfMetric", { metric });
        assert.equal(created.code, grpc.status.OK, created.details);
        assert.equal(created.res?.code, 200);
        for (const [i, c] of clients.entries()) {
          const shown = await rpc(c, "ShowCnfMetric", { cnf_id: key });
          const got = shown.res?.metric as { value: number; status: string };
          assert.equal(got.value, 1.5, `node ${i} (owner ${owner}) served the old value`);
          assert.equal(got.status, "Warning", "stored in the canonical spelling");
          const body = JSON.parse(await (await fetch(`${urls[i]}/_cache/metrics/${key}`)).text());
          assert.equal(body.value, 1.5, `node ${i} over HTTP`);
        }
        const [row] = await db.rootQuery(
          `SELECT value, status FROM distcache.cnf_metric WHERE cnf_id = '${key}'`,
        );
        assert.deepEqual({ value: row.value, status: row.status }, { value: 1.5, status: "Warning" });
      },
    );

    await t.step(
      "bad input answers INVALID_ARGUMENT or NOT_FOUND naming the problem; the table is unchanged",
      async () => {
        const before = await tableState(db);
        const good = {
          cnf_id: "CNF-950",
          timestamp: { seconds: 1767225600, nanos: 0 },
          metric_type: "Ingress Latency",
          value: 20,
          unit: "ms",
          status: "Normal",
        };
        const cases: [string, string, unknown, grpc.status, RegExp][] = [
          [
            "empty id",
            "ShowCnfMetric",
            { cnf_id: "" },
            grpc.status.INVALID_ARGUMENT,
            /^cnf_id: expected 1-64/,
          ],
          [
            "65-char id",
            "ShowCnfMetric",
            { cnf_id: "C".repeat(65) },
            grpc.status.INVALID_ARGUMENT,
            /^cnf_id: /,
          ],
          [
            "SQL in id",
            "ShowCnfMetric",
            { cnf_id: "CNF-001' OR '1'='1" },
            grpc.status.INVALID_ARGUMENT,
            /^cnf_id: /,
          ],
          [
            "unknown id",
            "ShowCnfMetric",
            { cnf_id: "CNF-999" },
            grpc.status.NOT_FOUND,
            /^cnf_id: no metric for "CNF-999"/,
          ],
          [
            "missing metric",
            "CreateCnfMetric",
            {},
            grpc.status.INVALID_ARGUMENT,
            /^metric: expected a CnfMetric/,
          ],
          [
            "SQL in id",
            "CreateCnfMetric",
            { metric: { ...good, cnf_id: "CNF-1'; DROP TABLE cnf_metric; --" } },
            grpc.status.INVALID_ARGUMENT,
            /^cnf_id: /,
          ],
          [
            "empty id",
            "CreateCnfMetric",
            { metric: { ...good, cnf_id: "" } },
            grpc.status.INVALID_ARGUMENT,
            /^cnf_id: /,
          ],
          [
            "NaN",
            "CreateCnfMetric",
            { metric: { ...good, value: NaN } },
            grpc.status.INVALID_ARGUMENT,
            /^value: expected a finite number, got NaN/,
          ],
          [
            "Infinity",
            "CreateCnfMetric",
            { metric: { ...good, value: Infinity } },
            grpc.status.INVALID_ARGUMENT,
            /^value: .*Infinity/,
          ],
          [
            "-Infinity",
            "CreateCnfMetric",
            { metric: { ...good, value: -Infinity } },
            grpc.status.INVALID_ARGUMENT,
            /^value: /,
          ],
          [
            "unknown status",
            "CreateCnfMetric",
            { metric: { ...good, status: "Degraded" } },
            grpc.status.INVALID_ARGUMENT,
            /^status: expected one of "Normal", "Warning", "Critical" \(any letter case\), got "Degraded"/,
          ],
          [
            "SQL in metric_type is data, but a newline is not",
            "CreateCnfMetric",
            {
              metric: { ...good, metric_type: "x';\nDROP TABLE cnf_metric" },
            },
            grpc.status.INVALID_ARGUMENT,
            /^metric_type: /,
          ],
          [
            "negative page size",
            "ListCnfMetrics",
            { page_size: -5 },
            grpc.status.INVALID_ARGUMENT,
            /^page_size: /,
          ],
          [
            "forged page token",
            "ListCnfMetrics",
            { page_token: btoa("' OR 1=1 --") },
            grpc.status.INVALID_ARGUMENT,
            /^page_token: /,
          ],
          [
            "delete of unknown id",
            "DeleteCnfMetric",
            { cnf_id: "CNF-998" },
            grpc.status.NOT_FOUND,
            /CNF-998/,
          ],
        ];
        for (const [i, [what, method, req, code, details]] of cases.entries()) {
          const r = await rpc(clients[i % 3], method, req);
          assert.equal(r.code, code, `${method} ${what}: ${grpc.status[r.code]} ${r.details}`);
          assert.match(r.details, details, `${method} ${what}`);
        }
        const http = await fetch(`${urls[0]}/_cache/metrics/${encodeURIComponent("CNF-001' OR '1'='1")}`);
        assert.equal(http.status, 404, await http.text());
        assert.equal(await tableState(db), before);
      },
    );

    await t.step("ListCnfMetrics pages through the shared table from any node", async () => {
      const ids: string[] = [];
      let token = "";
      for (let page = 0; page < 10; page++) {
        const r = await rpc(clients[page % 3], "ListCnfMetrics", { page_size: 40, page_token: token });
        assert.equal(r.code, grpc.status.OK, r.details);
        ids.push(...(r.res!.metrics as { cnf_id: string }[]).map((m) => m.cnf_id));
        token = r.res!.next_page_token as string;
        if (token === "") break;
      }
      assert.equal(ids.length, 100);
      assert.equal(ids[0], "CNF-001");
      assert.equal(ids[99], "CNF-100");
    });
  } finally {
    for (const c of clients) c.close();
    await Promise.all(nodes.map((n) => n.stop()));
    await db.stop();
  }
});
