import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { serviceClient } from "../../src/server/proto.ts";
import { type NodeProcess, startNodeProcess } from "../_node.ts";

type UnaryMethod = (req: unknown, cb: (e: grpc.ServiceError | null, res: unknown) => void) => void;

/** The node's health answer for `service`: its status, or the gRPC code it refused with. */
function check(node: NodeProcess, service: string): Promise<string> {
  const Client = serviceClient("health.proto", "grpc.health.v1.Health");
  const client = new Client(node.grpc, grpc.credentials.createInsecure());
  return new Promise<string>((resolve) =>
    (client as unknown as Record<string, UnaryMethod>).Check.call(client, { service }, (e, res) => {
      client.close();
      resolve(e ? grpc.status[e.code] : (res as { status: string }).status);
    })
  ).finally(() => client.close());
}

Deno.test("a node's gRPC health lists the services it registered, and no others", async (t) => {
  const dir = await Deno.makeTempDir();
  const nodes: NodeProcess[] = [];
  try {
    await t.step("with the default metrics group, the CNF services are served", async () => {
      const node = await startNodeProcess();
      nodes.push(node);
      for (
        const service of [
          "",
          "groupcachepb.GroupCache",
          "distcache.v1.Batch",
          "cnfmetricspb.CnfMetricsService",
        ]
      ) {
        assert.equal(await check(node, service), "SERVING", service);
      }
    });
    await t.step("without a metrics group, the CNF services are unknown, not reported serving", async () => {
      const config = `${dir}/config.yml`;
      await Deno.writeTextFile(config, "groups:\n  sessions:\n    cache_bytes: 1048576\n");
      const node = await startNodeProcess({ args: ["--config", config] });
      nodes.push(node);
      assert.equal(await check(node, "groupcachepb.GroupCache"), "SERVING");
      assert.equal(await check(node, "cnfmetricspb.CnfMetricsService"), "NOT_FOUND");
      assert.equal(await check(node, "distcache.v1.CnfMetricsBatch"), "NOT_FOUND");
    });
  } finally {
    for (const node of nodes) await node.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
