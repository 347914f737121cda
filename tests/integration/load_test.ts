import assert from "node:assert/strict";
import { Etcd3 } from "etcd3";
import { type LoadSummary, nodesFromEtcd } from "../../scripts/load.ts";
import { freePort, metricValue, type NodeProcess, startNodeProcess } from "../_node.ts";
import { spawnWatched } from "../_process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Runs `deno task load` with `args`, as an operator would. */
async function load(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "load", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

async function counters(nodes: NodeProcess[]) {
  const sum = async (name: string, labels: Record<string, string> = { group: "metrics" }) =>
    (await Promise.all(nodes.map((n) => metricValue(n.http, name, labels)))).reduce((a, b) => a + b, 0);
  return {
    gets: await sum("distcache_group_gets_total"),
    hits: await sum("distcache_group_cache_hits_total"),
    hotHits: await sum("distcache_group_hot_hits_total"),
    sourceReads: await sum("distcache_source_reads_total", {}),
  };
}

Deno.test("deno task load reports figures that agree with the cluster's own counters", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "distcache-load-" });
  const ports = [freePort(), freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const nodes = await Promise.all(
    ports.map((p, i) =>
      startNodeProcess({ httpPort: p, peers: urls.filter((_, j) => j !== i), db: `sqlite:${dir}/cnf.db` })
    ),
  );
  try {
    await t.step(
      "400 requests over HTTP: counts, latency order, hit ratio and reads per 10,000",
      async () => {
        const before = await counters(nodes);
        const run = await load(["--nodes", urls.join(","), "--count", "400", "--clients", "8", "--json"]);
        assert.equal(run.code, 0, run.stderr);
        const s: LoadSummary = JSON.parse(run.stdout);
        const after = await counters(nodes);

        assert.equal(s.requests, 400);
        assert.equal(s.ok + s.errors, s.requests);
        assert.equal(s.errors, 0, JSON.stringify(s.errorKinds));
        assert.ok(Math.abs(s.qps - s.requests / s.elapsedS) < 1e-6 * s.qps);
        const { p50, p95, p99, max } = s.latencyMs;
        assert.ok(0 < p50 && p50 <= p95 && p95 <= p99 && p99 <= max, JSON.stringify(s.latencyMs));
        assert.ok(s.hotRequests > 280 && s.hotRequests < 360, `hot ${s.hotRequests} of 400, expected ~80%`);

        // The summary's counters are exactly the cluster's, measured independently around the run.
        assert.deepEqual(
          {
            gets: s.cluster.gets,
            hits: s.cluster.hits,
            hotHits: s.cluster.hotHits,
            sourceReads: s.cluster.sourceReads,
          },
          {
            gets: after.gets - before.gets,
            hits: after.hits - before.hits,
            hotHits: after.hotHits - before.hotHits,
            sourceReads: after.sourceReads - before.sourceReads,
          },
        );
        assert.ok(s.cluster.gets >= s.requests, "every request is a Get on the node it reached");
        assert.ok(s.cluster.hits + s.cluster.hotHits <= s.cluster.gets);
        assert.equal(s.cluster.hitRatio, (s.cluster.hits + s.cluster.hotHits) / s.cluster.gets);
        // 100 distinct keys, each read from the database at most once within the TTL, by its owner.
        assert.ok(
          s.cluster.sourceReads >= 1 && s.cluster.sourceReads <= 100,
          `${s.cluster.sourceReads} reads`,
        );
        assert.equal(s.cluster.sourceReadsPer10k, s.cluster.sourceReads * 10_000 / s.requests);
        // Through the client library each request reached its key's owner: no node forwarded one.
        assert.equal(s.route, "owner");
        assert.equal(s.cluster.forwarded, 0);
        assert.equal(s.cluster.gets, s.requests);
      },
    );

    await t.step("--route random sends requests to any node, which forwards most to the owner", async () => {
      const run = await load(["--nodes", urls.join(","), "--count", "300", "--route", "random", "--json"]);
      assert.equal(run.code, 0, run.stderr);
      const s: LoadSummary = JSON.parse(run.stdout);
      assert.equal(s.errors, 0, JSON.stringify(s.errorKinds));
      assert.equal(s.route, "random");
      // About two thirds land on a node that does not own the key; far from none.
      assert.ok(s.cluster.forwarded > 100 && s.cluster.forwarded < 300, `${s.cluster.forwarded} forwarded`);
    });

    await t.step(
      "over gRPC for a duration, with a progress line each second and a text summary",
      async () => {
        const run = await load([
          "--nodes",
          urls.join(","),
          "--duration",
          "3",
          "--clients",
          "4",
          "--protocol",
          "grpc",
        ]);
        assert.equal(run.code, 0, run.stderr);
        // Lines come from a once-a-second timer, which a loaded machine may delay: a 3 s run prints at
        // least one, and each names the whole seconds elapsed.
        const lines = run.stderr.match(/^\[load\] \d+ s {2}\d+ requests {2}\d+ req\/s {2}0 errors$/gm) ?? [];
        assert.ok(lines.length >= 1, run.stderr);
        const summary = /^\d+ requests over grpc to 3 nodes from 4 clients in (\d+\.\d\d) s$/m.exec(
          run.stdout,
        );
        assert.ok(summary, run.stdout);
        assert.ok(Number(summary[1]) >= 3, `ran for the duration asked: ${summary[1]} s`);
        assert.match(run.stdout, /^errors 0$/m);
        assert.match(run.stdout, /^database reads \d+, [\d.]+ per 10,000 requests$/m);
      },
    );

    await t.step("refuses an unbounded run and a public address, exiting 2", async () => {
      const unbounded = await load(["--nodes", urls[0]]);
      assert.equal(unbounded.code, 2);
      assert.match(unbounded.stderr, /give --duration \(at most 600 s\) or --count/);
      const public_ = await load(["--nodes", "http://8.8.8.8:80", "--count", "1"]);
      assert.equal(public_.code, 2);
      assert.match(public_.stderr, /not on a loopback or private address/);
      const long = await load(["--nodes", urls[0], "--duration", "601"]);
      assert.equal(long.code, 2);
    });
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the load client finds nodes in etcd under GroupCache/", async () => {
  const dir = await Deno.makeTempDir({ prefix: "distcache-load-etcd-" });
  const [client, peer] = [freePort(), freePort()];
  const etcd = spawnWatched("etcd", [
    "--name=t",
    `--data-dir=${dir}/etcd`,
    `--listen-client-urls=http://127.0.0.1:${client}`,
    `--advertise-client-urls=http://127.0.0.1:${client}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-cluster=t=http://127.0.0.1:${peer}`,
    "--heartbeat-interval=10",
    "--election-timeout=100",
  ]);
  const kv = new Etcd3({ hosts: `http://127.0.0.1:${client}` });
  try {
    await etcd.waitUntil(async () => (await kv.get("probe").string(), true), "served clients");
    for (const [grpcPort, httpPort] of [[10001, 2224], [9999, 2222]]) {
      await kv.put(`GroupCache/127.0.0.1:${grpcPort}`).value(JSON.stringify({
        Op: 0,
        Addr: `127.0.0.1:${grpcPort}`,
        Metadata: { http: `http://127.0.0.1:${httpPort}` },
      }));
    }
    await kv.put("Other/127.0.0.1:1").value("{}");
    assert.deepEqual(await nodesFromEtcd(`127.0.0.1:${client}`), [
      "http://127.0.0.1:2222",
      "http://127.0.0.1:2224",
    ]);
    // A value that is not a member is skipped, as the nodes skip it.
    await kv.put("GroupCache/bad").value("not json");
    assert.deepEqual(await nodesFromEtcd(`127.0.0.1:${client}`), [
      "http://127.0.0.1:2222",
      "http://127.0.0.1:2224",
    ]);
  } finally {
    kv.close();
    await etcd.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
