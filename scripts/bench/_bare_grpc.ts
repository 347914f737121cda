/**
 * The baseline of the grpc benchmark: a bare grpc-js server of `groupcachepb.GroupCache` (the same proto,
 * loaded the same way) whose Get answers fixed bytes, as a node answers a cache hit, with nothing else on
 * the path.
 *
 * Run: `deno run --allow-net=127.0.0.1 --allow-read --allow-env scripts/bench/_bare_grpc.ts <port> <value as base64> <expire_unix_ms>`
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { serviceClient } from "../../src/server/proto.ts";

const [port, value64, expire] = Deno.args;
if (!port || value64 === undefined || expire === undefined) {
  console.error("usage: _bare_grpc.ts <port> <value as base64> <expire_unix_ms>");
  Deno.exit(2);
}
const reply = {
  value: Uint8Array.from(atob(value64), (c) => c.charCodeAt(0)),
  minute_qps: 0,
  expire_unix_ms: Number(expire),
};

const server = new grpc.Server();
server.addService(serviceClient("groupcache.proto", "groupcachepb.GroupCache").service, {
  Get: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, reply),
});
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error(`cannot listen on 127.0.0.1:${port}: ${err.message}`);
    Deno.exit(1);
  }
});
Deno.addSignalListener("SIGTERM", () => server.tryShutdown(() => Deno.exit(0)));
