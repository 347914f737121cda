import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { AUTHORIZATION, bearer } from "../../src/auth/bearer.ts";
import { DEV_TOKEN } from "../../src/auth/credentials.ts";
import { ConsistentHash } from "../../src/cache/consistent_hash.ts";
import { loadCnfMetricsProto } from "../../src/cnf/service.ts";
import { serviceClient } from "../../src/server/proto.ts";
import { startMariaDb } from "../_mariadb.ts";
import { freePort, metricValue, type NodeProcess, startNodeProcess } from "../_node.ts";

/** Starts three nodes that name each other as static peers. */
async function startCluster(db: string, extraArgs: string[]): Promise<NodeProcess[]> {
  const ports = [freePort(), freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  return await Promise.all(
    ports.map((p, i) =>
      startNodeProcess({ httpPort: p, peers: urls.filter((_, j) => j !== i), db, args: extraArgs })
    ),
  );
}

/** The node that owns `key`, computed the way every node computes it. */
function ownerOf(nodes: NodeProcess[], key: string): NodeProcess {
  const ring = new ConsistentHash();
  ring.add(...nodes.map((n) => n.http));
  const owner = ring.get(key);
  return nodes.find((n) => n.http === owner)!;
}

type SetMethod = (req: unknown, md: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => void;
type UnaryMethod = (
  req: unknown,
  md: grpc.Metadata,
  cb: (e: grpc.ServiceError | null, res: unknown) => void,
) => void;

/** Calls a unary method with the nodes' peer token (writes need one) and resolves to its status and response. */
function unary(client: grpc.Client, method: string, req: unknown) {
  const md = new grpc.Metadata();
  md.set(AUTHORIZATION, bearer(DEV_TOKEN));
  return new Promise<{ code: grpc.status; details: string; res?: unknown }>((resolve) =>
    (client as unknown as Record<string, UnaryMethod>)[method].call(
      client,
      req,
      md,
      (e, res) =>
        resolve(e ? { code: e.code, details: e.details } : { code: grpc.status.OK, details: "", res }),
    )
  );
}

/** Each node's count of reads from its data source. */
function sourceReads(nodes: NodeProcess[]): Promise<number[]> {
  return Promise.all(nodes.map((n) => metricValue(n.http, "distcache_source_reads_total")));
}

// The nodes share one database, as in production: MariaDB for one peer protocol, a SQLite file for the other.
for (const [protocol, database] of [["http", "mariadb"], ["grpc", "sqlite"]]) {
  Deno.test(`three nodes over ${protocol} in front of ${database} answer as one cache`, async (t) => {
    const dir = await Deno.makeTempDir();
    const mariadb = database === "mariadb" ? await startMariaDb() : undefined;
    const nodes = await startCluster(mariadb?.url ?? `sqlite:${dir}/cnf.db`, ["--peer-protocol", protocol]);
    try {
      await t.step("every node returns the same bytes for the same key", async () => {
        const bodies = await Promise.all(
          nodes.map(async (n) => {
            const res = await fetch(`${n.http}/_cache/metrics/CNF-001`);
            assert.equal(res.status, 200);
            return await res.text();
          }),
        );
        assert.equal(bodies[1], bodies[0]);
        assert.equal(bodies[2], bodies[0]);
        const row = JSON.parse(bodies[0]);
        assert.equal(row.cnf_id, "CNF-001");
        assert.equal(row.metric_type, "Ingress Latency");
      });

      await t.step(
        "300 concurrent requests for one cold key read the source once, on the owner",
        async () => {
          const before = await sourceReads(nodes);
          const key = "CNF-042";
          const responses = await Promise.all(
            Array.from({ length: 300 }, async (_, i) => {
              const res = await fetch(`${nodes[i % 3].http}/_cache/metrics/${key}`);
              return { status: res.status, body: await res.text() };
            }),
          );
          assert.ok(responses.every((r) => r.status === 200 && r.body === responses[0].body));
          const after = await sourceReads(nodes);
          const owner = nodes.indexOf(ownerOf(nodes, key));
          assert.deepEqual(after.map((n, i) => n - before[i]), nodes.map((_, i) => i === owner ? 1 : 0));
        },
      );

      await t.step("a CNF metric created through one node is read through every node", async () => {
        const Client = grpc.makeGenericClientConstructor(loadCnfMetricsProto(), "CnfMetricsService");
        const clients = nodes.map((n) => new Client(n.grpc, grpc.credentials.createInsecure()));
        try {
          const rpc = (i: number, method: string, req: unknown) => unary(clients[i], method, req);
          assert.equal((await rpc(1, "ShowCnfMetric", { cnf_id: "CNF-101" })).code, grpc.status.NOT_FOUND);
          const metric = {
            cnf_id: "CNF-101",
            timestamp: { seconds: 1764115200, nanos: 0 },
            metric_type: "Egress Latency",
            value: 12.5,
            unit: "ms",
            status: "ok",
          };
          assert.equal((await rpc(0, "CreateCnfMetric", { metric })).code, grpc.status.OK);
          for (const i of [0, 1, 2]) {
            const shown = await rpc(i, "ShowCnfMetric", { cnf_id: "CNF-101" });
            assert.equal(shown.code, grpc.status.OK, `node ${i}: ${shown.details}`);
            const got = (shown.res as { metric: Record<string, unknown> }).metric;
            assert.equal(got.metric_type, "Egress Latency");
            assert.equal(got.value, 12.5);
          }
          const bad = await rpc(2, "ShowCnfMetric", { cnf_id: "x'; DROP TABLE cnf_metric; --" });
          assert.equal(bad.code, grpc.status.INVALID_ARGUMENT);
          assert.match(bad.details, /cnf_id/);
        } finally {
          for (const c of clients) c.close();
        }
      });

      await t.step(
        `a Set through a node that does not own the key is forwarded over ${protocol} to the owner`,
        async () => {
          const key = Array.from({ length: 100 }, (_, i) => `set-${i}`).find((k) =>
            ownerOf(nodes, k) === nodes[2]
          )!;
          const Client = serviceClient("groupcache.proto", "groupcachepb.GroupCache");
          const client = new Client(nodes[1].grpc, grpc.credentials.createInsecure());
          try {
            const md = new grpc.Metadata();
            md.set(AUTHORIZATION, bearer(DEV_TOKEN));
            const set = await new Promise<grpc.ServiceError | null>((resolve) =>
              (client as unknown as Record<string, SetMethod>).Set.call(
                client,
                { group: "metrics", key, value: new TextEncoder().encode("forwarded") },
                md,
                (e) => resolve(e),
              )
            );
            assert.equal(set, null, set?.details ?? "");
          } finally {
            client.close();
          }
          const held = await fetch(`${nodes[2].http}/_cache/metrics/${key}`, {
            headers: { "x-distcache-forwarded": "1" },
          });
          assert.equal(held.status, 200, "the owner holds the value itself");
          assert.equal(await held.text(), "forwarded");
          const calls = await metricValue(nodes[1].http, "distcache_peer_request_duration_seconds_count", {
            peer: nodes[2].http, // a peer is named by its HTTP URL whatever the protocol
            op: "set",
            result: "ok",
          });
          assert.equal(calls, 1, "one set call to the owner");
        },
      );

      await t.step("with the owner stopped, the others load locally and clients see no error", async () => {
        const key = Array.from({ length: 100 }, (_, i) => `CNF-${String(i + 1).padStart(3, "0")}`)
          .find((k) => k !== "CNF-001" && k !== "CNF-042" && ownerOf(nodes, k) === nodes[0])!;
        assert.equal(await nodes[0].stop(), 0);
        for (const n of nodes.slice(1)) {
          const res = await fetch(`${n.http}/_cache/metrics/${key}`);
          assert.equal(res.status, 200, await res.clone().text());
          assert.equal(JSON.parse(await res.text()).cnf_id, key);
          assert.ok(
            await metricValue(n.http, "distcache_group_peer_errors_total", { group: "metrics" }) >= 1,
          );
          assert.match(
            n.log(),
            new RegExp(`"level":"warn",.*"event":"peer call failed","fields":\\{"peer":"${nodes[0].http}"`),
          );
        }
      });

      await t.step(
        "a DELETE with one peer dead answers 503 naming it; the live owner dropped the key",
        async () => {
          const key = Array.from({ length: 100 }, (_, i) => `del-${i}`).find((k) =>
            ownerOf(nodes, k) === nodes[2]
          )!;
          const auth = { [AUTHORIZATION]: bearer(DEV_TOKEN) };
          const put = await fetch(`${nodes[1].http}/_cache/metrics/${key}`, {
            method: "PUT",
            body: "v",
            headers: auth,
          });
          assert.equal(put.status, 204, await put.text());
          const del = await fetch(`${nodes[1].http}/_cache/metrics/${key}`, {
            method: "DELETE",
            headers: auth,
          });
          assert.equal(del.status, 503);
          assert.match(
            await del.text(),
            new RegExp(`failed on 1 of 2 peers.*${nodes[0].http.replace(/\./g, "\\.")}`),
          );
          for (const n of nodes.slice(1)) {
            const res = await fetch(`${n.http}/_cache/metrics/${key}`);
            assert.equal(res.status, 404, `${n.http} no longer serves the key`);
            await res.body?.cancel();
          }
        },
      );

      await t.step(
        "CreateCnfMetric with the key's owner dead: the row is written, the answer says invalidation failed",
        async () => {
          const id = Array.from({ length: 100 }, (_, i) => `CNF-${200 + i}`).find((k) =>
            ownerOf(nodes, k) === nodes[0]
          )!;
          const Client = grpc.makeGenericClientConstructor(loadCnfMetricsProto(), "CnfMetricsService");
          const client = new Client(nodes[1].grpc, grpc.credentials.createInsecure());
          try {
            const metric = {
              cnf_id: id,
              timestamp: { seconds: 1764115200, nanos: 0 },
              metric_type: "Egress Latency",
              value: 7,
              unit: "ms",
              status: "Normal",
            };
            const created = await unary(client, "CreateCnfMetric", { metric });
            assert.equal(created.code, grpc.status.UNAVAILABLE, created.details);
            assert.match(
              created.details,
              new RegExp(`metric for ${id} was written but its cache entry could not be invalidated`),
            );
            // The owner being down, the node reads the row from the database itself: it is there.
            const shown = await unary(client, "ShowCnfMetric", { cnf_id: id });
            assert.equal(shown.code, grpc.status.OK, shown.details);
            assert.equal((shown.res as { metric: { value: number } }).metric.value, 7);
          } finally {
            client.close();
          }
        },
      );
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
      await mariadb?.stop();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
