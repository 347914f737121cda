import assert from "node:assert/strict";
import { startPrometheus } from "../../scripts/_prometheus.ts";
import { freePort, metricValue, type NodeProcess, startNodeProcess } from "../_node.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/** Metrics only a node using etcd exports, so a ring of static peers cannot show them. */
const ETCD_ONLY = new Set(["distcache_etcd_connected"]);

async function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(command, { args, cwd: ROOT, stdout: "piped", stderr: "piped" }).output();
  const decoder = new TextDecoder();
  return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

/** Every PromQL expression of the dashboard. */
async function dashboardExprs(): Promise<string[]> {
  const dashboard = JSON.parse(await Deno.readTextFile(`${ROOT}config/grafana/dashboards/distcache.json`));
  return dashboard.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr));
}

async function get(node: NodeProcess, key: string): Promise<void> {
  const res = await fetch(`${node.http}/_cache/metrics/${key}`);
  assert.equal(res.status, 200, await res.clone().text());
  await res.body?.cancel();
}

Deno.test("promtool accepts config/prometheus.yml and every dashboard expression", async () => {
  const config = await run("promtool", ["check", "config", "config/prometheus.yml"]);
  assert.equal(config.code, 0, config.output);
  // promtool checks PromQL only inside rule files, so each expression becomes a recording rule.
  const dir = await Deno.makeTempDir();
  try {
    const rules = (await dashboardExprs()).map((expr, i) =>
      `      - record: distcache:dashboard_${i}\n        expr: ${JSON.stringify(expr)}`
    );
    await Deno.writeTextFile(
      `${dir}/rules.yml`,
      `groups:\n  - name: dashboard\n    rules:\n${rules.join("\n")}\n`,
    );
    const checked = await run("promtool", ["check", "rules", `${dir}/rules.yml`]);
    assert.equal(checked.code, 0, checked.output);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Grafana provisioning names the data source the dashboard uses", async () => {
  const datasource = await Deno.readTextFile(`${ROOT}config/grafana/datasources/prometheus.yml`);
  const uid = /uid: (\S+)/.exec(datasource)?.[1];
  const dashboard = JSON.parse(await Deno.readTextFile(`${ROOT}config/grafana/dashboards/distcache.json`));
  for (const panel of dashboard.panels) assert.equal(panel.datasource.uid, uid, panel.title);
  const titles = dashboard.panels.map((p: { title: string }) => p.title).join(" | ");
  for (
    const wanted of [/hit ratio/i, /by node/i, /p99/i, /evictions/i, /peer errors/i, /ring/i, /database/i]
  ) {
    assert.match(titles, wanted);
  }
});

Deno.test("a ring of two: peer loads and fallbacks are counted, the dashboard's metrics exist, Prometheus scrapes them", async (t) => {
  const ports = [freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const [a, b] = await Promise.all(
    ports.map((httpPort, i) => startNodeProcess({ httpPort, peers: [urls[1 - i]] })),
  );
  let bStopped = false;
  try {
    const ownedByB: string[] = [];
    for (let i = 1; i <= 100 && ownedByB.length < 2; i++) {
      const key = `CNF-${String(i).padStart(3, "0")}`;
      const { owner } = await (await fetch(`${a.http}/_status/owner?key=${key}`)).json();
      if (owner === b.http) ownedByB.push(key);
    }
    const group = { group: "metrics" };

    await t.step("a key another node owns is a peer load, timed as such", async () => {
      await get(a, ownedByB[0]);
      assert.equal(await metricValue(a.http, "distcache_group_peer_loads_total", group), 1);
      assert.equal(await metricValue(a.http, "distcache_group_local_loads_total", group), 0);
      assert.equal(
        await metricValue(a.http, "distcache_load_duration_seconds_count", { ...group, source: "peer" }),
        1,
      );
      assert.equal(await metricValue(b.http, "distcache_group_local_loads_total", group), 1);
      assert.equal(await metricValue(a.http, "distcache_ring_members"), 2);
    });

    await t.step("with the owner down, the load falls back to this node's source", async () => {
      assert.equal(await b.stop(), 0, b.log());
      bStopped = true;
      await get(a, ownedByB[1]);
      assert.equal(await metricValue(a.http, "distcache_group_peer_errors_total", group), 1);
      assert.equal(await metricValue(a.http, "distcache_group_local_fallbacks_total", group), 1);
      assert.equal(await metricValue(a.http, "distcache_group_local_loads_total", group), 1);
      assert.equal(
        await metricValue(a.http, "distcache_load_duration_seconds_count", { ...group, source: "source" }),
        1,
      );
      assert.equal(
        await metricValue(a.http, "distcache_peer_request_duration_seconds_count", { result: "error" }),
        1,
      );
    });

    await t.step("every metric the dashboard uses is on the node's /metrics", async () => {
      const text = await (await fetch(`${a.http}/metrics`)).text();
      const exported = new Set(
        text.split("\n").filter((l) => !l.startsWith("#")).map((l) => /^[^{ ]+/.exec(l)?.[0]),
      );
      const used = new Set((await dashboardExprs()).flatMap((e) => e.match(/distcache_[a-z0-9_]+/g) ?? []));
      assert.ok(used.size >= 10, [...used].join(" "));
      const missing = [...used].filter((name) => !exported.has(name) && !ETCD_ONLY.has(name));
      assert.deepEqual(missing, []);
    });

    await t.step("Prometheus scrapes the node", async () => {
      const dataDir = await Deno.makeTempDir();
      const prometheus = await startPrometheus({
        dataDir,
        port: freePort(),
        targets: [a.http.replace("http://", "")],
      });
      // CI installs Prometheus (scripts/setup.sh): without it the scrape is not checked, so the test fails.
      assert.ok(
        prometheus,
        "prometheus is not installed at /usr/bin/prometheus (scripts/setup.sh installs it)",
      );
      try {
        const query = async (q: string) => {
          const body = await (await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(q)}`))
            .json();
          return body.data.result.map((r: { value: [number, string] }) => Number(r.value[1]));
        };
        const deadline = Date.now() + 15_000;
        let members: number[] = [];
        while (members.length === 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 250));
          members = await query('distcache_ring_members{job="distcache"}');
        }
        assert.deepEqual(members, [2]);
        assert.deepEqual(await query('up{job="distcache"}'), [1]);
        assert.deepEqual(await query('distcache_group_local_fallbacks_total{group="metrics"}'), [1]);
      } finally {
        await prometheus.stop();
        await Deno.remove(dataDir, { recursive: true });
      }
    });
  } finally {
    assert.equal(await a.stop(), 0, a.log());
    if (!bStopped) await b.stop();
  }
});
