import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { ConsistentHash } from "../../src/cache/consistent_hash.ts";
import { serviceClient } from "../../src/server/proto.ts";
import { freePort, metricValue, type NodeProcess, startNodeProcess } from "../_node.ts";

const TOKEN = "distcache-dev-token";
const CONFIG = `peers:\n  token: ${TOKEN}\nlimits:\n  max_batch_keys: 40\n  max_batch_bytes: 20000\n`;

/** Three nodes over one SQLite file, naming each other as static peers. */
async function startCluster(dir: string, protocol: string): Promise<NodeProcess[]> {
  const config = `${dir}/config.yml`;
  await Deno.writeTextFile(config, CONFIG);
  const ports = [freePort(), freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const db = `sqlite:${dir}/cnf.db`;
  const args = ["--config", config, "--peer-protocol", protocol];
  // The first node creates and seeds the database before the others open it.
  const first = await startNodeProcess({ httpPort: ports[0], peers: urls.slice(1), db, args });
  const rest = await Promise.all(
    ports.slice(1).map((p, i) =>
      startNodeProcess({ httpPort: p, peers: urls.filter((_, j) => j !== i + 1), db, args })
    ),
  );
  return [first, ...rest];
}

interface Result {
  key: string;
  status: number;
  value_base64?: string;
  error?: string;
}

async function batch(node: NodeProcess, keys: unknown, group = "metrics") {
  const res = await fetch(`${node.http}/_cache/${group}/_batch`, {
    method: "POST",
    body: typeof keys === "string" ? keys : JSON.stringify({ keys }),
  });
  const body = await res.text();
  return {
    status: res.status,
    body,
    results: res.status === 200 ? JSON.parse(body).results as Result[] : [],
  };
}

type UnaryMethod = (
  req: unknown,
  cb: (e: grpc.ServiceError | null, res: Record<string, unknown>) => void,
) => void;

function call(client: grpc.Client, method: string, req: unknown) {
  return new Promise<{ err: grpc.ServiceError | null; res: Record<string, unknown> }>((resolve) =>
    (client as unknown as Record<string, UnaryMethod>)[method].call(
      client,
      req,
      (err, res) => resolve({ err, res }),
    )
  );
}

for (const protocol of ["http", "grpc"]) {
  Deno.test(`batch reads over three nodes with ${protocol} peers`, async (t) => {
    const dir = await Deno.makeTempDir();
    const nodes = await startCluster(dir, protocol);
    const Batch = serviceClient("distcache_batch.proto", "distcache.v1.Batch");
    const CnfBatch = serviceClient("distcache_batch.proto", "distcache.v1.CnfMetricsBatch");
    const client = new Batch(nodes[0].grpc, grpc.credentials.createInsecure());
    const cnfClient = new CnfBatch(nodes[0].grpc, grpc.credentials.createInsecure());
    try {
      const ids = Array.from({ length: 30 }, (_, i) => `CNF-${String(i + 1).padStart(3, "0")}`);

      await t.step(
        "answers every key as a single GET does, in the order asked, one peer call per owner",
        async () => {
          const singles = await Promise.all(ids.map(async (id) => {
            const res = await fetch(`${nodes[1].http}/_cache/metrics/${id}`);
            return { status: res.status, body: await res.text() };
          }));
          const before = await metricValue(nodes[0].http, "distcache_peer_request_duration_seconds_count");
          const keys = [...ids, "CNF-999", "x".repeat(300), "CNF-002"];
          const { status, results } = await batch(nodes[0], keys);
          assert.equal(status, 200);
          assert.deepEqual(results.map((r) => r.key), keys);
          ids.forEach((id, i) => {
            assert.equal(results[i].status, 200, id);
            assert.equal(Buffer.from(results[i].value_base64!, "base64").toString(), singles[i].body);
          });
          assert.equal(results[30].status, 404);
          assert.equal(results[31].status, 400);
          assert.match(results[31].error!, /key is 300 bytes; the limit is 250/);
          assert.equal(results[32].value_base64, results[1].value_base64);
          const calls = await metricValue(nodes[0].http, "distcache_peer_request_duration_seconds_count") -
            before;
          assert.ok(calls <= 2, `${calls} peer calls for keys owned by two other nodes`);
          assert.ok(calls >= 1, "some keys are owned by the other nodes");
        },
      );

      await t.step("binary values survive, and reading needs no token", async () => {
        const bytes = new Uint8Array([0, 255, 1, 128, 10, 13, 0]);
        const put = await fetch(`${nodes[1].http}/_cache/metrics/bin`, {
          method: "PUT",
          headers: { authorization: `Bearer ${TOKEN}` },
          body: bytes,
        });
        assert.equal(put.status, 204);
        const { results } = await batch(nodes[2], ["bin"]);
        assert.deepEqual(new Uint8Array(Buffer.from(results[0].value_base64!, "base64")), bytes);
        const { err, res } = await call(client, "GetMany", {
          group: "metrics",
          keys: ["bin", "CNF-001", "nope"],
        });
        assert.equal(err, null);
        const r = res.results as Record<string, unknown>[];
        assert.deepEqual(new Uint8Array(r[0].value as Uint8Array), bytes);
        assert.deepEqual(r.map((x) => x.code), [grpc.status.OK, grpc.status.OK, grpc.status.NOT_FOUND]);
        assert.ok(Number(r[1].expire_unix_ms) > Date.now());
      });

      await t.step("refuses more keys or bytes than the limits, naming the limit", async () => {
        const many = await batch(nodes[0], Array.from({ length: 41 }, (_, i) => `k${i}`));
        assert.equal(many.status, 413);
        assert.match(many.body, /41 keys; limits\.max_batch_keys allows 40/);
        const big = new Uint8Array(15_000);
        // Both keys on one owner other than the node asked, so that the owner refuses its share and the node
        // asked must say so too (keys on different owners are refused by the node that adds them up).
        const ring = new ConsistentHash();
        ring.add(...nodes.map((n) => n.http));
        const sameOwner = Array.from({ length: 200 }, (_, i) => `big${i}`)
          .filter((k) => ring.get(k) === nodes[2].http).slice(0, 2);
        for (const key of [...sameOwner, "big1", "big2"]) {
          const put = await fetch(`${nodes[0].http}/_cache/metrics/${key}`, {
            method: "PUT",
            headers: { authorization: `Bearer ${TOKEN}` },
            body: big,
          });
          assert.equal(put.status, 204);
        }
        for (const keys of [["big1", "big2"], sameOwner]) {
          const bytes = await batch(nodes[1], keys);
          assert.equal(bytes.status, 413, `${keys.join(",")}: ${JSON.stringify(bytes.body).slice(0, 600)}`);
          assert.match(bytes.body, /30000 bytes of values; limits\.max_batch_bytes allows 20000/);
        }
        const grpcMany = await call(client, "GetMany", { group: "metrics", keys: Array(41).fill("k") });
        assert.equal(grpcMany.err?.code, grpc.status.INVALID_ARGUMENT);
        assert.match(grpcMany.err!.details, /limits\.max_batch_keys/);
        const grpcBytes = await call(client, "GetMany", { group: "metrics", keys: ["big1", "big2"] });
        assert.equal(grpcBytes.err?.code, grpc.status.INVALID_ARGUMENT);
        assert.match(grpcBytes.err!.details, /limits\.max_batch_bytes/);
      });

      await t.step("refuses a malformed body or an unknown group clearly", async () => {
        for (
          const [body, why] of [["not json", /must be JSON/], [
            '{"keys": "CNF-001"}',
            /must be a JSON object/,
          ], [
            '{"keys": [1]}',
            /keys\[0\] must be a string/,
          ]] as const
        ) {
          const res = await batch(nodes[0], body);
          assert.equal(res.status, 400, body);
          assert.match(res.body, why);
        }
        const unknown = await batch(nodes[0], ["k"], "nope");
        assert.equal(unknown.status, 404);
        assert.match(unknown.body, /unknown group "nope"/);
        const grpcUnknown = await call(client, "GetMany", { group: "nope", keys: ["k"] });
        assert.equal(grpcUnknown.err?.code, grpc.status.NOT_FOUND);
      });

      await t.step("ShowCnfMetrics shows many CNFs, each as ShowCnfMetric would", async () => {
        const { err, res } = await call(cnfClient, "ShowCnfMetrics", {
          cnf_ids: ["CNF-001", "CNF-050", "CNF-404", "bad id!"],
        });
        assert.equal(err, null);
        const r = res.results as Record<string, unknown>[];
        assert.deepEqual(r.map((x) => x.cnf_id), ["CNF-001", "CNF-050", "CNF-404", "bad id!"]);
        assert.deepEqual(r.map((x) => x.code), [
          grpc.status.OK,
          grpc.status.OK,
          grpc.status.NOT_FOUND,
          grpc.status.INVALID_ARGUMENT,
        ]);
        assert.equal((r[0].metric as Record<string, unknown>).metric_type, "Ingress Latency");
        assert.equal((r[1].metric as Record<string, unknown>).cnf_id, "CNF-050");
        assert.match(String(r[3].error), /cnf_id/);
        const tooMany = await call(cnfClient, "ShowCnfMetrics", { cnf_ids: Array(41).fill("CNF-001") });
        assert.equal(tooMany.err?.code, grpc.status.INVALID_ARGUMENT);
        assert.match(tooMany.err!.details, /limits\.max_batch_keys/);
      });
    } finally {
      client.close();
      cnfClient.close();
      for (const n of nodes) assert.equal(await n.stop(), 0, n.log());
      await Deno.remove(dir, { recursive: true });
    }
  });
}
