import assert from "node:assert/strict";
import { startNodeProcess } from "../_node.ts";

const PYTHON = "/usr/bin/python3";
const PROTO = new URL("../../proto/", import.meta.url).pathname;
const CLIENT = new URL("./reflection_client.py", import.meta.url).pathname;
const CONFIG = new URL("../../config/config.yml", import.meta.url).pathname;

async function run(args: string[]): Promise<string> {
  const out = await new Deno.Command(PYTHON, { args, stdout: "piped", stderr: "piped" }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `${PYTHON} ${args.join(" ")} failed:\n${stderr}`);
  return new TextDecoder().decode(out.stdout);
}

/** What protoc makes of proto/, to compare the node's descriptors with. */
async function protocDescriptors(dir: string): Promise<string> {
  const set = `${dir}/protoc.binpb`;
  await run([
    "-m",
    "grpc_tools.protoc",
    `-I${PROTO}`,
    "--include_imports",
    `--descriptor_set_out=${set}`,
    ...[...Deno.readDirSync(PROTO)].map((e) => e.name).filter((n) => n.endsWith(".proto")),
  ]);
  return set;
}

Deno.test("a Python client with no .proto lists the services by reflection and calls them", async () => {
  const dir = await Deno.makeTempDir();
  const node = await startNodeProcess();
  try {
    const result = JSON.parse(await run([CLIENT, node.grpc, await protocDescriptors(dir)]));
    const served = [
      "cnfmetricspb.CnfMetricsService",
      "distcache.v1.Batch",
      "distcache.v1.CnfMetricsBatch",
      "groupcachepb.GroupCache",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ];
    assert.deepEqual(result.v1_services, served);
    assert.deepEqual(result.v1alpha_services, served);
    // The file asked for first, then its imports; an import already sent on the stream is not sent again.
    assert.deepEqual(result.by_symbol, ["cnfmetrics.proto", "google/protobuf/timestamp.proto"]);
    assert.deepEqual(result.by_filename, ["groupcache.proto"]);
    assert.deepEqual(result.by_field, ["groupcache.proto"]);
    assert.deepEqual(result.timestamp_again, ["google/protobuf/timestamp.proto"]);
    assert.deepEqual(result.health, ["health.proto"]);
    assert.deepEqual(result.dependencies["cnfmetrics.proto"], ["google/protobuf/timestamp.proto"]);
    assert.deepEqual(result.unknown_symbol, { error: 5 });
    assert.deepEqual(result.unknown_file, { error: 5 });
    // INVALID_ARGUMENT for a request that asks nothing or does not decode; the stream goes on.
    assert.deepEqual(result.asks_nothing, { error: 3 });
    assert.deepEqual(result.undecodable, { error: 3 });
    assert.equal(result.listed_after_errors, served.length);
    // Byte for byte what protoc writes for the same files (source comments aside).
    assert.deepEqual(result.compared, [
      "cnfmetrics.proto",
      "distcache_batch.proto",
      "google/protobuf/timestamp.proto",
      "groupcache.proto",
      "health.proto",
      "reflection.proto",
      "reflection_v1alpha.proto",
    ]);
    assert.deepEqual(result.differs_from_protoc, []);
    assert.equal(result.get.cnf_id, "CNF-001");
    assert.equal(result.get.metric_type, "Ingress Latency");
    assert.equal(result.show.cnf_id, "CNF-003");
    assert.equal(result.show.metric_type, "Container CPU Utilization");
    assert.ok(result.show.timestamp_seconds > 0, JSON.stringify(result.show));
  } finally {
    assert.equal(await node.stop(), 0, node.log());
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with grpc.reflection false the node answers reflection UNIMPLEMENTED", async () => {
  const dir = await Deno.makeTempDir();
  const config = `${dir}/config.yml`;
  const text = await Deno.readTextFile(CONFIG);
  assert.match(text, /reflection: true/);
  await Deno.writeTextFile(config, text.replace("reflection: true", "reflection: false"));
  const node = await startNodeProcess({ args: ["--config", config] });
  try {
    const result = JSON.parse(await run([CLIENT, node.grpc, "unused"]));
    assert.deepEqual(result, { error: "UNIMPLEMENTED" });
  } finally {
    assert.equal(await node.stop(), 0, node.log());
    await Deno.remove(dir, { recursive: true });
  }
});
