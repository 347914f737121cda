/**
 * A gRPC load generator for the grpc benchmark: one grpc-js channel, `concurrency` loops each keeping
 * one `groupcachepb.GroupCache/Get` in flight, until `seconds` pass or `maxCalls` calls were made.
 * Prints one JSON line: {calls, errors, seconds, rps, p50, p99, valueBytes} (latencies in ms).
 *
 * Run: `deno run --allow-net=127.0.0.1 --allow-read --allow-env scripts/bench/_grpc_load.ts <host:port> <group> <key> <seconds> <maxCalls> <concurrency>`
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { serviceClient } from "../../src/server/proto.ts";
import { quantile } from "./_util.ts";

const [address, group, key, secondsArg, maxArg, concurrencyArg] = Deno.args;
const seconds = Number(secondsArg);
const maxCalls = Number(maxArg);
const concurrency = Number(concurrencyArg);
if (!address || !group || !key || !(seconds > 0) || !(maxCalls > 0) || !(concurrency > 0)) {
  console.error("usage: _grpc_load.ts <host:port> <group> <key> <seconds> <maxCalls> <concurrency>");
  Deno.exit(2);
}

type Get = (
  req: { group: string; key: string },
  cb: (err: grpc.ServiceError | null, res: { value: Uint8Array }) => void,
) => void;
const Client = serviceClient("groupcache.proto", "groupcachepb.GroupCache");
const client = new Client(address, grpc.credentials.createInsecure());
const get = (client as unknown as { Get: Get }).Get.bind(client);
const request = { group, key };

function call(): Promise<Uint8Array> {
  return new Promise((resolve, reject) => get(request, (err, res) => err ? reject(err) : resolve(res.value)));
}

// Warm the channel and both ends' code paths; these calls are not counted.
let valueBytes = 0;
for (let i = 0; i < 200; i++) valueBytes = (await call()).byteLength;

const latencies = new Float64Array(maxCalls);
let issued = 0;
let done = 0;
let errors = 0;
const started = performance.now();
const deadline = started + seconds * 1000;

async function loop(): Promise<void> {
  while (issued < maxCalls && performance.now() < deadline) {
    issued++;
    const t0 = performance.now();
    try {
      await call();
      latencies[done++] = performance.now() - t0;
    } catch {
      errors++;
    }
  }
}

await Promise.all(Array.from({ length: concurrency }, loop));
const elapsed = (performance.now() - started) / 1000;
client.close();
const sorted = latencies.subarray(0, done).sort();
console.log(JSON.stringify({
  calls: done,
  errors,
  seconds: elapsed,
  rps: done / elapsed,
  p50: quantile(sorted, 0.5),
  p99: quantile(sorted, 0.99),
  valueBytes,
}));
Deno.exit(0);
