import assert from "node:assert/strict";
import { startNodeProcess } from "../_node.ts";

const PYTHON = "/usr/bin/python3";
const PROTO = new URL("../../proto/", import.meta.url).pathname;
const CLIENT = new URL("./python_client.py", import.meta.url).pathname;

async function run(args: string[]): Promise<string> {
  const out = await new Deno.Command(PYTHON, { args, stdout: "piped", stderr: "piped" }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `${PYTHON} ${args.join(" ")} failed:\n${stderr}`);
  return new TextDecoder().decode(out.stdout);
}

Deno.test("a Python grpcio client calls Get, Set, Delete and the health check", async () => {
  const stubs = await Deno.makeTempDir();
  const node = await startNodeProcess({ args: ["--peer-token", "py-token"] });
  try {
    await run([
      "-m",
      "grpc_tools.protoc",
      `-I${PROTO}`,
      `--python_out=${stubs}`,
      `--grpc_python_out=${stubs}`,
      `${PROTO}groupcache.proto`,
      `${PROTO}health.proto`,
    ]);
    const result = JSON.parse(await run([CLIENT, stubs, node.grpc, "py-token"]));
    assert.equal(result.get.cnf_id, "CNF-001");
    assert.equal(result.get.metric_type, "Ingress Latency");
    assert.deepEqual(result.set_then_get, [0, 1, 112, 121]);
    assert.ok(result.expire_unix_ms > Date.now(), String(result.expire_unix_ms));
    assert.equal(result.after_delete, "NOT_FOUND");
    assert.equal(result.set_without_token, "UNAUTHENTICATED");
    assert.equal(result.health, "SERVING");
    assert.equal(result.health_groupcache, "SERVING");
  } finally {
    assert.equal(await node.stop(), 0, node.log());
    await Deno.remove(stubs, { recursive: true });
  }
});
