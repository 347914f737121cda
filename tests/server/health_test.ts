import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { HealthService } from "../../src/server/health.ts";
import { serviceClient } from "../../src/server/proto.ts";
import { bindLoopback } from "../_grpc_server.ts";

type UnaryMethod = (req: unknown, cb: (e: grpc.ServiceError | null, res: unknown) => void) => void;

Deno.test("the health service reports each served service and tells watchers when serving stops", async (t) => {
  const health = new HealthService(["groupcachepb.GroupCache"]);
  const server = new grpc.Server();
  server.addService(health.definition(), health.handlers());
  const port = await bindLoopback(server);
  const Client = serviceClient("health.proto", "grpc.health.v1.Health");
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const check = (service: string) =>
    new Promise<{ code: grpc.status; status?: string; details?: string }>((resolve) =>
      (client as unknown as Record<string, UnaryMethod>).Check.call(client, { service }, (e, res) =>
        resolve(
          e
            ? { code: e.code, details: e.details }
            : { code: grpc.status.OK, status: (res as { status: string }).status },
        ))
    );
  try {
    await t.step("Check answers SERVING for the server and each service", async () => {
      assert.equal((await check("")).status, "SERVING");
      assert.equal((await check("groupcachepb.GroupCache")).status, "SERVING");
      assert.equal((await check("grpc.health.v1.Health")).status, "SERVING");
    });
    await t.step("Check answers NOT_FOUND for a service the node does not serve", async () => {
      const res = await check("nosuch.Service");
      assert.equal(res.code, grpc.status.NOT_FOUND);
      assert.match(res.details!, /unknown service "nosuch.Service"/);
    });
    await t.step("Watch sends the current status, then NOT_SERVING when the node stops serving", async () => {
      const stream =
        (client as unknown as Record<string, (req: unknown) => grpc.ClientReadableStream<unknown>>)
          .Watch.call(client, { service: "groupcachepb.GroupCache" });
      const seen: string[] = [];
      const twoSeen = Promise.withResolvers<void>();
      stream.on("data", (msg: { status: string }) => {
        seen.push(msg.status);
        if (seen.length === 1) health.setServing(false);
        if (seen.length === 2) twoSeen.resolve();
      });
      stream.on("error", () => {});
      await twoSeen.promise;
      assert.deepEqual(seen, ["SERVING", "NOT_SERVING"]);
      assert.equal((await check("")).status, "NOT_SERVING");
      const ended = new Promise((resolve) => stream.on("end", resolve));
      health.endWatches();
      await ended;
    });
  } finally {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }
});
