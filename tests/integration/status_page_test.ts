import assert from "node:assert/strict";
import { freePort, metricValue, type NodeProcess, startNodeProcess } from "../_node.ts";

const BROWSER = new URL("./_status_browser.ts", import.meta.url).pathname;

/**
 * Starts three nodes that list each other as static peers, with config/config.yml but for the metrics
 * group's key filter, which would answer an unknown key before the cache could remember it as missing.
 */
async function startRing(dir: string): Promise<NodeProcess[]> {
  const yaml = await Deno.readTextFile(new URL("../../config/config.yml", import.meta.url));
  const unfiltered = yaml.replace(/^( {4}key_filter:\n {6}enabled:) true$/m, "$1 false");
  assert.notEqual(unfiltered, yaml, "config/config.yml has groups.metrics.key_filter.enabled: true");
  await Deno.writeTextFile(`${dir}/config.yml`, unfiltered);
  const ports = [freePort(), freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  return await Promise.all(
    ports.map((httpPort, i) =>
      startNodeProcess({
        httpPort,
        peers: urls.filter((_, j) => j !== i),
        args: ["--config", `${dir}/config.yml`],
      })
    ),
  );
}

Deno.test("status page shows the ring of three and answers an owner lookup, in headless Chromium", async (t) => {
  const dir = await Deno.makeTempDir();
  const nodes = await startRing(dir);
  const urls = nodes.map((n) => n.http).sort();
  try {
    for (const key of ["CNF-001", "CNF-002", "CNF-003"]) {
      await (await fetch(`${nodes[0].http}/_cache/metrics/${key}`)).body?.cancel();
    }

    await t.step("/_status: three members whose shares add up to one, and this node's counters", async () => {
      const status = await (await fetch(`${nodes[0].http}/_status`)).json();
      assert.equal(status.node, nodes[0].http);
      assert.deepEqual(status.ring.members.map((m: { id: string }) => m.id), urls);
      const shares = status.ring.members.map((m: { share: number }) => m.share);
      assert.ok(Math.abs(shares.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-9, String(shares));
      for (const share of shares) assert.ok(share > 0.25 && share < 0.42, `share ${share} of three members`);
      assert.deepEqual(
        status.ring.members.filter((m: { self: boolean }) => m.self).map((m: { id: string }) => m.id),
        [
          nodes[0].http,
        ],
      );
      const metrics = status.groups.find((g: { name: string }) => g.name === "metrics");
      assert.equal(metrics.stats.gets, 3);
      assert.equal(metrics.hitRatio, 0);
    });

    await t.step(
      "/_status hitRatio counts main, hot and negative hits over gets, as the alert formula",
      async () => {
        // A key of each kind this node owns: read twice, the second read is a hit or a remembered not-found.
        const owned = async (make: (i: number) => string) => {
          for (let i = 0; i < 100; i++) {
            const res = await (await fetch(`${nodes[0].http}/_status/owner?key=${make(i)}`)).json();
            if (res.self) return make(i);
          }
          throw new Error("this node owns none of 100 keys");
        };
        const found = await owned((i) => `CNF-${String(i + 1).padStart(3, "0")}`);
        const missing = await owned((i) => `NOPE-${i}`);
        for (const key of [found, found, missing, missing]) {
          await (await fetch(`${nodes[0].http}/_cache/metrics/${key}`)).body?.cancel();
        }
        const status = await (await fetch(`${nodes[0].http}/_status`)).json();
        const metrics = status.groups.find((g: { name: string }) => g.name === "metrics");
        const g = { group: "metrics" };
        const [hits, hot, negative, gets] = await Promise.all(
          ["cache_hits", "hot_hits", "negative_hits", "gets"].map((c) =>
            metricValue(nodes[0].http, `distcache_group_${c}_total`, g)
          ),
        );
        assert.equal(gets, 7);
        assert.ok(hits >= 1 && negative >= 1, `hits ${hits}, hot ${hot}, negative ${negative}`);
        assert.equal(metrics.hitRatio, (hits + hot + negative) / gets);
      },
    );

    await t.step("/_status/owner: every node names the same owner; a missing key is a 400", async () => {
      const owners = await Promise.all(
        nodes.map(async (n) => (await (await fetch(`${n.http}/_status/owner?key=CNF-042`)).json()).owner),
      );
      assert.equal(new Set(owners).size, 1, String(owners));
      assert.ok(urls.includes(owners[0]));
      const res = await fetch(`${nodes[0].http}/_status/owner`);
      assert.equal(res.status, 400);
      assert.match((await res.json()).error, /key=<key>/);
    });

    await t.step("the page in Chromium lists the members and finds the owner", async () => {
      const expectedOwner = (await (await fetch(`${nodes[1].http}/_status/owner?key=CNF-042`)).json()).owner;
      const dir = await Deno.makeTempDir({ prefix: "distcache-status-page-" });
      const screenshot = `${dir}/status_page.png`;
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", BROWSER, `${nodes[1].http}/`, "CNF-042", screenshot],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      const shown = JSON.parse(new TextDecoder().decode(out.stdout));
      assert.deepEqual(shown.members.map((m: { id: string }) => m.id), urls);
      const selfRow = shown.members.find((m: { id: string }) => m.id === nodes[1].http);
      assert.match(selfRow.text, /\(this node\)/);
      assert.match(selfRow.text, /\d+\.\d %/);
      assert.deepEqual(shown.groups, ["metrics"]);
      assert.equal(shown.owner.id, expectedOwner);
      assert.ok(shown.owner.text.startsWith(expectedOwner), shown.owner.text);
      const png = await Deno.readFile(screenshot);
      assert.deepEqual([...png.subarray(1, 4)], [...new TextEncoder().encode("PNG")]);
      console.log(`status page screenshot: ${screenshot} (${png.byteLength} bytes)`);
    });
  } finally {
    for (const n of nodes) assert.equal(await n.stop(), 0, n.log());
    await Deno.remove(dir, { recursive: true });
  }
});
