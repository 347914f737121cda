import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { serviceClient } from "../../src/server/proto.ts";
import { startMariaDb } from "../_mariadb.ts";
import { startNodeProcess } from "../_node.ts";

Deno.test("with MySQL down a node answers cached keys, reports UNAVAILABLE for the rest and stays up", async () => {
  const db = await startMariaDb();
  const node = await startNodeProcess({ db: db.url });
  const Client = serviceClient("groupcache.proto", "groupcachepb.GroupCache");
  const client = new Client(node.grpc, grpc.credentials.createInsecure());
  try {
    const warm = await fetch(`${node.http}/_cache/metrics/CNF-007`);
    assert.equal(warm.status, 200);
    const cachedBody = await warm.text();
    await db.stop();

    const cached = await fetch(`${node.http}/_cache/metrics/CNF-007`);
    assert.equal(cached.status, 200);
    assert.equal(await cached.text(), cachedBody);

    const cold = await fetch(`${node.http}/_cache/metrics/CNF-008`);
    assert.equal(cold.status, 503);
    assert.match(await cold.text(), /^unavailable: /);

    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      (client as unknown as Record<string, (r: unknown, cb: (e: grpc.ServiceError | null) => void) => void>)
        .Get.call(client, { group: "metrics", key: "CNF-009" }, resolve)
    );
    assert.equal(err?.code, grpc.status.UNAVAILABLE);

    // The failure was not remembered as "not found", and the node is still healthy.
    const again = await fetch(`${node.http}/_cache/metrics/CNF-008`);
    assert.equal(again.status, 503);
    await again.body?.cancel();
    const health = await fetch(`${node.http}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    client.close();
    assert.equal(await node.stop(), 0, node.log());
    await db.stop();
  }
});
