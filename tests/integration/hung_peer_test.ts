import assert from "node:assert/strict";
import { ConsistentHash } from "../../src/cache/consistent_hash.ts";
import { freePort, metricValue, startNodeProcess } from "../_node.ts";

const TIMEOUT_MS = 300;
/** Room past a deadline on a loaded machine: it tells a deadline from a hang, not how fast the node is. */
const SLACK_MS = 10_000;
/** The breaker's defaults (src/peers/breaker.ts): failures in a row that open it, then its first back-off. */
const BREAKER_FAILURES = 3;
const BREAKER_BACKOFF_MS = 1000;

/** Trial calls a breaker may let through in `ms`: one after each back-off, which doubles each time. */
function trialsWithin(ms: number): number {
  let trials = 0;
  for (let spent = 0, backoff = BREAKER_BACKOFF_MS; spent + backoff <= ms; spent += backoff, backoff *= 2) {
    trials++;
  }
  return trials;
}

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
    const started = performance.now();
    for (const key of hungKeys.slice(0, 12)) answers.push(await get(key));
    const elapsed = performance.now() - started;
    for (const [i, a] of answers.entries()) {
      assert.equal(a.status, 200, a.body);
      assert.equal(JSON.parse(a.body).cnf_id, hungKeys[i]);
      // A hang check, not a speed target: no request waits on the hung peer past one peer deadline.
      assert.ok(a.ms < TIMEOUT_MS + SLACK_MS, `request ${i} took ${a.ms} ms`);
    }
    // Calls that reached the peer (each waited out the deadline): the first failures, then one trial per
    // back-off that fit in the run; every other request skipped the peer at once.
    const calls = await metricValue(urls[1], "distcache_peer_request_duration_seconds_count", {
      peer: urls[0],
      result: "error",
    });
    const most = BREAKER_FAILURES + trialsWithin(elapsed);
    assert.ok(
      calls >= BREAKER_FAILURES && calls <= most,
      `${calls} calls reached the hung peer (at most ${most})`,
    );
    assert.equal(await metricValue(urls[1], "distcache_group_peer_errors_total", { group: "metrics" }), 12);

    Deno.kill(nodes[0].pid, "SIGCONT");
    stopped = false;
    const before = await metricValue(urls[1], "distcache_group_peer_loads_total", { group: "metrics" });
    // After the back-off (doubling from 1 s on each failed trial, at most 30 s) a trial call reaches the
    // peer again. Fresh keys it owns, so that no answer comes from this node's caches.
    const probes = Array.from({ length: 10_000 }, (_, i) => `probe-${i}`).filter((k) =>
      ring.get(k) === urls[0]
    );
    const deadline = performance.now() + 30_000 + SLACK_MS;
    let after = before;
    for (const key of probes) {
      const a = await get(key);
      assert.equal(a.status, 404, a.body);
      after = await metricValue(urls[1], "distcache_group_peer_loads_total", { group: "metrics" });
      if (after > before || performance.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(after > before, "the peer never served again after SIGCONT");
  } finally {
    if (stopped) Deno.kill(nodes[0].pid, "SIGCONT");
    await Promise.all(nodes.map((n) => n.stop()));
    await Deno.remove(dir, { recursive: true });
  }
});
