import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { serviceClient } from "../../src/server/proto.ts";
import { startNodeProcess } from "../_node.ts";

type Unary = (req: unknown, md: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => void;

Deno.test("writes without the right token are refused on every protocol and change nothing", async () => {
  const node = await startNodeProcess({ args: ["--peer-token", "right-token"] });
  const Client = serviceClient("groupcache.proto", "groupcachepb.GroupCache");
  const client = new Client(node.grpc, grpc.credentials.createInsecure());
  const read = async () => {
    const res = await fetch(`${node.http}/_cache/metrics/CNF-005`);
    return { status: res.status, body: await res.text() };
  };
  const call = (method: string, req: unknown, token?: string) => {
    const md = new grpc.Metadata();
    if (token !== undefined) md.set("authorization", `Bearer ${token}`);
    return new Promise<grpc.status>((resolve) =>
      (client as unknown as Record<string, Unary>)[method].call(client, req, md, (e) => resolve(e?.code ?? 0))
    );
  };
  try {
    const before = await read();
    assert.equal(before.status, 200);
    for (const token of [undefined, "", "wrong-token", "right-token-but-longer", "Right-token"]) {
      const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
      for (const forwarded of [false, true]) {
        if (forwarded) headers["x-distcache-forwarded"] = "1";
        const put = await fetch(`${node.http}/_cache/metrics/CNF-005`, {
          method: "PUT",
          body: "poison",
          headers,
        });
        assert.equal(put.status, 401, `PUT with ${token}`);
        await put.body?.cancel();
        const del = await fetch(`${node.http}/_cache/metrics/CNF-005`, { method: "DELETE", headers });
        assert.equal(del.status, 401, `DELETE with ${token}`);
        await del.body?.cancel();
      }
      const value = new TextEncoder().encode("poison");
      assert.equal(
        await call("Set", { group: "metrics", key: "CNF-005", value }, token),
        grpc.status.UNAUTHENTICATED,
      );
      assert.equal(
        await call("Delete", { group: "metrics", key: "CNF-005" }, token),
        grpc.status.UNAUTHENTICATED,
      );
    }
    assert.deepEqual(await read(), before, "the cached value is unchanged");
    const sets = await fetch(`${node.http}/metrics`).then((r) => r.text());
    assert.match(sets, /distcache_requests_total\{protocol="http",op="put",code="401"\} 10/);
  } finally {
    client.close();
    assert.equal(await node.stop(), 0, node.log());
  }
});
