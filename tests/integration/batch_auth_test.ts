import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { serviceClient } from "../../src/server/proto.ts";
import { call, tempConfig } from "../_auth.ts";
import { freePort, metricValue, startNodeProcess } from "../_node.ts";

const PEER = "peer-token-5c2e91";
const READER = "reader-token-31aa";
const WRITER = "writer-token-c0de";
const clients = [
  { name: "dashboard", scopes: ["read"], token: READER },
  { name: "ingest", scopes: ["write"], token: WRITER },
];

Deno.test("with auth.reads_require_token, batch reads need the read scope and peers' batches carry the peer token", async () => {
  const cfg = await tempConfig({ peers: { token: PEER }, auth: { reads_require_token: true, clients } });
  const ports = [freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  // One node asks its peer over HTTP, the other over gRPC, so both batch forms carry the token.
  const nodes = await Promise.all(ports.map((httpPort, i) =>
    startNodeProcess({
      httpPort,
      peers: [urls[1 - i]],
      args: ["--config", cfg.path, "--peer-protocol", i === 0 ? "http" : "grpc"],
    })
  ));
  const Batch = serviceClient("distcache_batch.proto", "distcache.v1.Batch");
  const CnfBatch = serviceClient("distcache_batch.proto", "distcache.v1.CnfMetricsBatch");
  const batch = new Batch(nodes[0].grpc, grpc.credentials.createInsecure());
  const cnfBatch = new CnfBatch(nodes[1].grpc, grpc.credentials.createInsecure());
  const keys = Array.from({ length: 30 }, (_, i) => `CNF-${String(i + 1).padStart(3, "0")}`);
  const post = (node: number, auth?: string) =>
    fetch(`${nodes[node].http}/_cache/metrics/_batch`, {
      method: "POST",
      body: JSON.stringify({ keys }),
      headers: auth ? { authorization: auth } : {},
    });
  try {
    for (const [i] of nodes.entries()) {
      const open = await post(i);
      assert.equal(open.status, 401);
      assert.match(await open.text(), /missing token/);
      const writer = await post(i, `Bearer ${WRITER}`);
      assert.equal(writer.status, 403);
      await writer.body?.cancel();
      const reader = await post(i, `Bearer ${READER}`);
      assert.equal(reader.status, 200);
      const { results } = await reader.json();
      assert.deepEqual(results.map((r: { status: number }) => r.status), keys.map(() => 200));
    }
    for (const node of nodes) {
      assert.ok(
        await metricValue(node.http, "distcache_group_peer_loads_total") > 0,
        "keys came from the peer",
      );
      assert.equal(
        await metricValue(node.http, "distcache_group_peer_errors_total"),
        0,
        "no batch was refused",
      );
    }
    assert.equal(
      (await call(batch, "GetMany", { group: "metrics", keys })).code,
      grpc.status.UNAUTHENTICATED,
    );
    const many = await call(batch, "GetMany", { group: "metrics", keys }, `Bearer ${READER}`);
    assert.equal(many.code, grpc.status.OK, many.details);
    assert.equal((many.res!.results as unknown[]).length, keys.length);
    assert.equal(
      (await call(cnfBatch, "ShowCnfMetrics", { cnf_ids: keys }, `Bearer ${WRITER}`)).code,
      grpc.status.PERMISSION_DENIED,
    );
    const shown = await call(cnfBatch, "ShowCnfMetrics", { cnf_ids: keys }, `Bearer ${READER}`);
    assert.equal(shown.code, grpc.status.OK, shown.details);
  } finally {
    batch.close();
    cnfBatch.close();
    for (const node of nodes) assert.equal(await node.stop(), 0, node.log());
    await cfg.remove();
  }
});
