import assert from "node:assert/strict";
import { ConsistentHash } from "../../src/cache/consistent_hash.ts";
import { freePort, metricValue, startNodeProcess } from "../_node.ts";

const TIMEOUT_MS = 300;

Deno.test("a hung peer (SIGSTOP) costs a few deadlines, then is skipped; after SIGCONT it serves again", async () => {
  const dir = await Deno.makeTempDir();
  const config = `${dir}/config.yml`;
  await Deno.writeTextFile(config, `peers:\n  timeout_ms: ${TIMEOUT_MS}\n`);
  const ports = [freePort(), freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const db = `sqlite:${dir}/cnf.db`;
  const nodes = await Promise.all(
    ports.map((p, i) =>
      startNodeProcess({ httpPort: p, db, peers: urls.filter((_, j) => j !== i), args: ["--config", config] })
    ),
  );
  const ring = new ConsistentHash();
  ring.add(...urls);
  const hungKeys = Array.from({ length: 100 }, (_, i) => `CNF-${String(i + 1).padStart(3, "0")}`)
    .filter((k) => ring.get(k) === urls[0]);
  const get = async (key: string) => {
    const started = performance.now();
    const res = await fetch(`${urls[1]}/_cache/metrics/${key}`, { signal: AbortSignal.timeout(30_000) });
    const body = await res.text();
    return { status: res.status, body, ms: performance.now() - started };
  };
  let stopped = false;
  try {
    Deno.kill(nodes[0].pid, "SIGSTOP");
    stopped = true;
    const answers = [];
    for (const key of hungKeys.slice(0, 12)) answers.push(await get(key));
    for (const [i, a] of answers.entries()) {
      assert.equal(a.status, 200, a.body);
      assert.equal(JSON.parse(a.body).cnf_id, hungKeys[i]);
      // A hang check, not a speed target: no request waits much longer than one peer deadline.
      assert.ok(a.ms < TIMEOUT_MS + 2_000, `request ${i} took ${a.ms} ms`);
    }
    const waited = answers.filter((a) => a.ms >= TIMEOUT_MS).length;
    assert.ok(waited <= 4, `${waited} requests waited out the deadline; the breaker should open after 3`);
    assert.equal(await metricValue(urls[1], "distcache_group_peer_errors_total", { group: "metrics" }), 12);

    Deno.kill(nodes[0].pid, "SIGCONT");
    stopped = false;
    const before = await metricValue(urls[1], "distcache_group_peer_loads_total", { group: "metrics" });
    // After the back-off (1 s, or 2 s after a failed trial) a trial call reaches the peer again.
    let after = before;
    for (const key of hungKeys.slice(12)) {
      const a = await get(key);
      assert.equal(a.status, 200, a.body);
      after = await metricValue(urls[1], "distcache_group_peer_loads_total", { group: "metrics" });
      if (after > before) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(after > before, "the peer never served again after SIGCONT");
  } finally {
    if (stopped) Deno.kill(nodes[0].pid, "SIGCONT");
    await Promise.all(nodes.map((n) => n.stop()));
    await Deno.remove(dir, { recursive: true });
  }
});
