import assert from "node:assert/strict";
import { freePort, spawnWatched } from "../_process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("deno task start serves the seeded metrics group with the task's own permissions", async () => {
  const [httpPort, grpcPort] = [freePort(), freePort()];
  const node = spawnWatched(Deno.execPath(), [
    "task",
    "--cwd",
    ROOT,
    "start",
    "--http-port",
    String(httpPort),
    "--grpc-port",
    String(grpcPort),
    "--db",
    "sqlite::memory:",
  ]);
  const http = `http://127.0.0.1:${httpPort}`;
  try {
    await node.waitUntil(
      async () => (await fetch(`${http}/readyz`).then((r) => r.text())) === "ready\n",
      "ready",
    );
    const res = await fetch(`${http}/_cache/metrics/CNF-003`);
    assert.equal(res.status, 200);
    const row = JSON.parse(await res.text());
    assert.equal(row.cnf_id, "CNF-003");
    assert.equal(row.metric_type, "Container CPU Utilization");
    assert.equal(row.value, 85);
    assert.equal(row.unit, "%");
    const metrics = await fetch(`${http}/metrics`);
    assert.equal(metrics.status, 200);
    await metrics.body?.cancel();
  } finally {
    assert.equal(await node.stop("SIGTERM"), 0, node.log());
  }
  assert.doesNotMatch(node.log(), /NotCapable|Requires .* access/);
  assert.match(node.log(), /"event":"node stopped"/);
});

Deno.test("deno task start cannot read a file outside the project: the node refuses it by name", async () => {
  const outside = await Deno.makeTempFile({ suffix: ".yml" });
  try {
    await Deno.writeTextFile(outside, "node:\n  http_port: 1\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--cwd", ROOT, "start", "--config", outside],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, stderr);
    assert.match(stderr, new RegExp(`--config: cannot read ${outside}: Requires read access`));
  } finally {
    await Deno.remove(outside);
  }
});

Deno.test("deno task start may use loopback 127.0.0.1 only: another address is refused by name", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "task",
      "--cwd",
      ROOT,
      "start",
      "--host",
      "127.0.0.2",
      "--http-port",
      String(freePort()),
      "--db",
      "sqlite::memory:",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.notEqual(out.code, 0);
  assert.match(stderr, /Requires net access to "127\.0\.0\.2/);
});
