import assert from "node:assert/strict";
import { fromJson } from "../../src/cnf/cnf_metric.ts";
import { freePort, type NodeProcess, startNodeProcess } from "../_node.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TOKEN = "node-client-token";

/** The script Node runs: the bundled client against the nodes, printing what it saw as JSON. */
const SCRIPT = `
import { connect } from "./client.mjs";
const [seed, token] = process.argv.slice(2);
const client = await connect({ seeds: [seed], token });
const out = { members: client.members() };
const hex = (b) => b === null ? null : Buffer.from(b).toString("hex");
out.one = hex(await client.get("metrics", "CNF-001"));
out.missing = await client.get("metrics", "CNF-999");
out.many = (await client.getMany("metrics", ["CNF-003", "CNF-998", "CNF-004"])).map(hex);
await client.set("metrics", "from-node", new Uint8Array([1, 2, 3, 0, 255]), { ttlMs: 30000 });
out.written = hex(await client.get("metrics", "from-node"));
const created = await client.createCnfMetric({
  cnfId: "CNF-042", timestamp: new Date("2026-01-02T03:04:05Z"), metricType: "Node Written",
  value: 12.5, unit: "ms", status: "Warning",
});
out.created = created.metricType;
out.shown = (await client.showCnfMetric("CNF-042"))?.metricType;
try {
  await (await connect({ seeds: [seed] })).set("metrics", "x", "y");
  out.refused = "no";
} catch (e) {
  out.refused = e.code;
}
await client.close();
console.log(JSON.stringify(out));
process.exit(0);
`;

async function run(cmd: string, args: string[], cwd?: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

Deno.test("the client library runs under Node against real nodes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "distcache-node-client-" });
  const ports = [freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  let nodes: NodeProcess[] = [];
  try {
    // The bundle Node loads is made by the same command as `deno task build:client`.
    await run(Deno.execPath(), [
      "bundle",
      "--quiet",
      "--external",
      "@grpc/grpc-js",
      "-o",
      `${dir}/client.mjs`,
      `${ROOT}src/client/mod.ts`,
    ]);
    await Deno.symlink(`${ROOT}node_modules`, `${dir}/node_modules`);
    await Deno.writeTextFile(`${dir}/script.mjs`, SCRIPT);
    nodes = await Promise.all(ports.map((p, i) =>
      startNodeProcess({
        httpPort: p,
        peers: urls.filter((_, j) => j !== i),
        db: `sqlite:${dir}/cnf.db`,
        env: { DISTCACHE_PEER_TOKEN: TOKEN },
      })
    ));
    const out = JSON.parse(await run("node", [`${dir}/script.mjs`, urls[1], TOKEN], dir));
    assert.deepEqual(out.members, [...urls].sort());
    const direct = new Uint8Array(await (await fetch(`${urls[0]}/_cache/metrics/CNF-001`)).arrayBuffer());
    assert.equal(out.one, Array.from(direct, (b) => b.toString(16).padStart(2, "0")).join(""));
    assert.equal(fromJson(direct).cnfId, "CNF-001");
    assert.equal(out.missing, null);
    assert.equal(out.many.length, 3);
    assert.equal(out.many[1], null);
    assert.ok(out.many[0] && out.many[2]);
    assert.equal(out.written, "01020300ff");
    assert.equal(out.created, "Node Written");
    assert.equal(out.shown, "Node Written");
    assert.equal(out.refused, "unauthenticated");
  } finally {
    await Promise.all(nodes.map((n) => n.stop().catch(() => 0)));
    await Deno.remove(dir, { recursive: true });
  }
});
