import assert from "node:assert/strict";
import { metricValue, startNodeProcess } from "../_node.ts";

Deno.test("/metrics passes promtool and counts what the node did", async () => {
  const node = await startNodeProcess();
  try {
    const call = async (method: string, key: string) => {
      const headers = { authorization: "Bearer distcache-dev-token" };
      await (await fetch(`${node.http}/_cache/metrics/${key}`, { method, headers })).body?.cancel();
    };
    // Load, hit, hit; a key the source lacks, twice (ruled out by the key filter each time, without a source
    // read or a remembered not-found); delete the value and load it again.
    for (let i = 0; i < 3; i++) await call("GET", "CNF-005");
    for (let i = 0; i < 2; i++) await call("GET", "CNF-404");
    await call("DELETE", "CNF-005");
    await call("GET", "CNF-005");
    const res = await fetch(`${node.http}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    const text = await res.text();

    const promtool = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = promtool.stdin.getWriter();
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
    const out = await promtool.output();
    const report = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, report);

    const group = { group: "metrics" };
    const expected: [string, Record<string, string>, number][] = [
      ["distcache_group_gets_total", group, 6],
      ["distcache_group_cache_hits_total", group, 2],
      ["distcache_group_hot_hits_total", group, 0],
      ["distcache_group_negative_hits_total", group, 0],
      ["distcache_group_filter_rejections_total", group, 2],
      ["distcache_group_filter_false_positives_total", group, 0],
      ["distcache_key_filter_active", group, 1],
      // The 100 seeded ids, and CNF-005 once more: a delete adds its key (it may exist again).
      ["distcache_key_filter_keys", group, 101],
      ["distcache_group_local_loads_total", group, 2],
      ["distcache_group_local_load_errors_total", group, 0],
      ["distcache_group_local_fallbacks_total", group, 0],
      ["distcache_group_peer_loads_total", group, 0],
      ["distcache_group_peer_errors_total", group, 0],
      ["distcache_group_loads_deduped_total", group, 0],
      ["distcache_source_reads_total", {}, 2],
      ["distcache_cache_items", { ...group, cache: "main" }, 1],
      ["distcache_cache_items", { ...group, cache: "hot" }, 0],
      ["distcache_cache_evictions_total", { ...group, cache: "main", reason: "deleted" }, 1],
      ["distcache_cache_evictions_total", { ...group, cache: "main", reason: "evicted" }, 0],
      ["distcache_cache_evictions_total", { ...group, cache: "main", reason: "expired" }, 0],
      ["distcache_ring_members", {}, 1],
      ["distcache_requests_total", { protocol: "http", op: "get", code: "200" }, 4],
      ["distcache_requests_total", { protocol: "http", op: "get", code: "404" }, 2],
      ["distcache_requests_total", { protocol: "http", op: "delete", code: "204" }, 1],
      // Only the requests that waited on a load or a write are timed; hits were answered at once.
      ["distcache_request_duration_seconds_count", { op: "get", code: "200" }, 2],
      ["distcache_request_duration_seconds_count", { op: "get", code: "404" }, 2],
      ["distcache_request_duration_seconds_count", { op: "delete", code: "204" }, 1],
      ["distcache_load_duration_seconds_count", { ...group, source: "source" }, 2],
      ["distcache_load_duration_seconds_count", { ...group, source: "peer" }, 0],
    ];
    for (const [name, labels, value] of expected) {
      assert.equal(await metricValue(node.http, name, labels), value, `${name}${JSON.stringify(labels)}`);
    }
    assert.ok(await metricValue(node.http, "distcache_cache_bytes", { ...group, cache: "main" }) > 100);
    assert.doesNotMatch(text, /distcache_etcd_connected/, "a node with static peers has no etcd gauge");
  } finally {
    assert.equal(await node.stop(), 0, node.log());
  }
});
