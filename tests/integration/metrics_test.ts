import assert from "node:assert/strict";
import { metricValue, startNodeProcess } from "../_node.ts";

Deno.test("/metrics passes promtool and counts what the node did", async () => {
  const node = await startNodeProcess();
  try {
    for (let i = 0; i < 3; i++) await (await fetch(`${node.http}/_cache/metrics/CNF-005`)).body?.cancel();
    await (await fetch(`${node.http}/_cache/metrics/CNF-404`)).body?.cancel();
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
    assert.equal(await metricValue(node.http, "distcache_group_gets_total", group), 4);
    assert.equal(await metricValue(node.http, "distcache_group_cache_hits_total", group), 2);
    assert.equal(await metricValue(node.http, "distcache_group_local_loads_total", group), 2);
    assert.equal(await metricValue(node.http, "distcache_source_reads_total"), 2);
    assert.equal(await metricValue(node.http, "distcache_cache_items", { ...group, cache: "main" }), 2);
    assert.ok(await metricValue(node.http, "distcache_cache_bytes", { ...group, cache: "main" }) > 100);
    assert.equal(await metricValue(node.http, "distcache_requests_total", { op: "get", code: "200" }), 3);
    assert.equal(await metricValue(node.http, "distcache_requests_total", { op: "get", code: "404" }), 1);
    // Only the requests that waited on a load are timed; the two hits were answered at once.
    assert.equal(
      await metricValue(node.http, "distcache_request_duration_seconds_count", { op: "get", code: "200" }),
      1,
    );
    assert.equal(
      await metricValue(node.http, "distcache_request_duration_seconds_count", { op: "get", code: "404" }),
      1,
    );
  } finally {
    assert.equal(await node.stop(), 0, node.log());
  }
});
