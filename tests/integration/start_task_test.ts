import assert from "node:assert/strict";
import { ip, Network } from "../../scripts/_hosts.ts";
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

Deno.test("deno task start writes nothing outside data/: a database file elsewhere is refused by name", async () => {
  const outside = `${await Deno.makeTempDir()}/cnf.db`;
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--cwd", ROOT, "start", "--http-port", String(freePort()), "--db", `sqlite:${outside}`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.notEqual(out.code, 0);
    assert.match(stderr, /Requires write access to/);
    await assert.rejects(Deno.stat(outside), Deno.errors.NotFound);
  } finally {
    await Deno.remove(outside.replace(/\/cnf\.db$/, ""), { recursive: true });
  }
});

Deno.test("deno task start on a host address cannot reach the cloud metadata address, by number or by name", async () => {
  const net = await Network.create();
  try {
    // The metadata address exists on this host and answers, so only the permission can keep the node out.
    const host = await net.addHost("node", "169.254.169.254 metadata.test\n");
    await ip("-n", host.namespace, "addr", "add", "169.254.169.254/32", "dev", "lo");
    const listener = host.spawn([
      "/usr/bin/python3",
      "-c",
      "import socket\ns = socket.create_server(('169.254.169.254', 3306))\nprint('listening', flush=True)\n" +
      "while True:\n    c, _ = s.accept()\n    print('connection', flush=True)\n    c.close()",
    ]);
    for (let i = 0; i < 100 && !listener.log().includes("listening"); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(listener.log(), /listening/);
    for (const db of ["169.254.169.254", "metadata.test"]) {
      const node = host.spawn([
        "deno",
        "task",
        "start",
        "--host",
        host.address,
        "--db",
        `mysql://u:p@${db}:3306/distcache`,
      ], { cwd: ROOT, env: { DISTCACHE_PEER_TOKEN: "a-token-for-this-test-only", NO_COLOR: "1" } });
      const status = await node.status;
      assert.notEqual(status.code, 0, node.log());
      assert.match(node.log(), /Requires net access to "169\.254\.169\.254:3306"/);
    }
    assert.doesNotMatch(listener.log(), /connection/);
  } finally {
    await net.close();
  }
});
