import assert from "node:assert/strict";
import { metricValue, startNodeProcess } from "../_node.ts";
import { EXPIRE_HEADER } from "../../src/protocol.ts";

const TOKEN = "hit-path-token";

Deno.test("a cached value is answered alike whatever the spelling of its URL, and every hit is counted", async () => {
  const node = await startNodeProcess({ env: { DISTCACHE_PEER_TOKEN: TOKEN } });
  try {
    const put = await fetch(`${node.http}/_cache/metrics/a%20b%2Fc`, {
      method: "PUT",
      headers: { authorization: `Bearer ${TOKEN}`, "x-distcache-ttl-ms": "600000" },
      body: "spaced value",
    });
    assert.equal(put.status, 204, await put.text());
    const urls = [
      `${node.http}/_cache/metrics/a%20b%2Fc`,
      `${node.http}/_cache/metrics/a%20b%2Fc?x=1`,
      `${node.http}/_cache/metrics/CNF-001`,
      `${node.http}/_cache/metrics/CNF-001?fresh=no`,
      `${node.http}/_cache/metrics/CNF-001`,
    ];
    const answers = [];
    for (const url of urls) {
      const res = await fetch(url);
      answers.push({
        status: res.status,
        type: res.headers.get("content-type"),
        expiry: res.headers.get(EXPIRE_HEADER),
        body: await res.text(),
      });
    }
    assert.deepEqual(answers[0], answers[1]);
    assert.equal(answers[0].body, "spaced value");
    assert.deepEqual(answers[2], answers[3]);
    assert.deepEqual(answers[3], answers[4]);
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.equal(a.type, "application/octet-stream");
      assert.match(a.expiry ?? "", /^\d{13}$/);
    }
    assert.match(answers[2].body, /"cnf_id":"CNF-001"/);
    // Five GETs: the first of CNF-001 loaded it, the other four were hits.
    assert.equal(await metricValue(node.http, "distcache_group_gets_total", { group: "metrics" }), 5);
    assert.equal(await metricValue(node.http, "distcache_group_cache_hits_total", { group: "metrics" }), 4);
    assert.equal(
      await metricValue(node.http, "distcache_requests_total", { protocol: "http", op: "get", code: "200" }),
      5,
    );
    const missing = await fetch(`${node.http}/_cache/metrics/CNF-999`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const again = await fetch(`${node.http}/_cache/metrics/CNF-999`);
    assert.equal(again.status, 404, "a remembered not-found is answered as such");
    await again.body?.cancel();
    assert.equal(
      await metricValue(node.http, "distcache_requests_total", { protocol: "http", op: "get", code: "404" }),
      2,
    );
  } finally {
    assert.equal(await node.stop(), 0, node.log());
  }
});
