import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { cacheClient, call, cnfClient, logEvents, metricMessage, tempConfig } from "../_auth.ts";
import { freePort, metricValue, startNodeProcess } from "../_node.ts";

const PEER = "peer-token-4e1f0a";
const READER = "reader-token-77c2";
const WRITER = "writer-token-9b3d";

const clients = [
  { name: "dashboard", scopes: ["read"], token: READER },
  { name: "ingest", scopes: ["write"], token: WRITER },
];

Deno.test("every write needs a token with the write scope over HTTP, GroupCache and CnfMetricsService; the audit log names the client", async () => {
  const cfg = await tempConfig({ peers: { token: PEER }, auth: { clients } });
  const node = await startNodeProcess({ args: ["--config", cfg.path] });
  const cnf = cnfClient(node.grpc);
  const cache = cacheClient(node.grpc);
  const show = async (id: string) => (await call(cnf, "ShowCnfMetric", { cnf_id: id })).code;
  try {
    // CnfMetricsService Create and Delete: refused without the write scope, and the row is not touched.
    const metric = metricMessage("CNF-901", 1.5);
    for (
      const [auth, code] of [
        [undefined, grpc.status.UNAUTHENTICATED],
        ["Bearer ", grpc.status.UNAUTHENTICATED],
        [`Basic ${btoa(`x:${WRITER}`)}`, grpc.status.UNAUTHENTICATED],
        [`Bearer ${WRITER}x`, grpc.status.UNAUTHENTICATED],
        [`Bearer ${READER}`, grpc.status.PERMISSION_DENIED],
      ] as const
    ) {
      const r = await call(cnf, "CreateCnfMetric", { metric }, auth);
      assert.equal(r.code, code, `Create with ${auth}: ${r.details}`);
      assert.equal(await show("CNF-901"), grpc.status.NOT_FOUND, "nothing was created");
    }
    const created = await call(cnf, "CreateCnfMetric", { metric }, `bearer ${WRITER}`);
    assert.equal(created.code, grpc.status.OK, created.details);
    assert.equal(await show("CNF-901"), grpc.status.OK);
    const update = await call(cnf, "UpdateCnfMetric", { metric: metricMessage("CNF-901", 2) });
    assert.equal(update.code, grpc.status.UNAUTHENTICATED, "UpdateCnfMetric is a write too");
    for (const auth of [undefined, `Bearer ${READER}`]) {
      const r = await call(cnf, "DeleteCnfMetric", { cnf_id: "CNF-901" }, auth);
      assert.ok(
        r.code === grpc.status.UNAUTHENTICATED || r.code === grpc.status.PERMISSION_DENIED,
        r.details,
      );
      assert.equal(await show("CNF-901"), grpc.status.OK, "still there");
    }
    assert.match((await call(cnf, "DeleteCnfMetric", { cnf_id: "CNF-901" })).details, /missing token/);
    assert.equal((await call(cnf, "DeleteCnfMetric", { cnf_id: "CNF-901" }, `BEARER ${WRITER}`)).code, 0);
    assert.equal(await show("CNF-901"), grpc.status.NOT_FOUND, "deleted");
    assert.equal((await call(cnf, "ListCnfMetrics", { page_size: 1, page_token: "" })).code, 0, "reads open");

    // HTTP and GroupCache writes: the scope is checked, reads stay open.
    const put = (auth?: string) =>
      fetch(`${node.http}/_cache/metrics/k1`, {
        method: "PUT",
        body: "v1",
        headers: auth ? { authorization: auth } : {},
      });
    for (
      const [auth, status, challenge] of [
        [undefined, 401, /^Bearer$/],
        [`Bearer ${READER}`, 403, /insufficient_scope/],
        [`Bearer ${PEER}-`, 401, /invalid_token/],
      ] as const
    ) {
      const res = await put(auth);
      assert.equal(res.status, status);
      assert.match(res.headers.get("www-authenticate") ?? "", challenge);
      await res.body?.cancel();
    }
    const get = await fetch(`${node.http}/_cache/metrics/k1`);
    assert.equal(get.status, 404, "nothing was stored");
    await get.body?.cancel();
    assert.equal((await put(`bearer ${WRITER}`)).status, 204);
    assert.equal(await (await fetch(`${node.http}/_cache/metrics/k1`)).text(), "v1");
    const value = new TextEncoder().encode("v2");
    assert.equal(
      (await call(cache, "Set", { group: "metrics", key: "k2", value }, `Bearer ${READER}`)).code,
      7,
    );
    assert.equal(
      (await call(cache, "Set", { group: "metrics", key: "k2", value }, `Bearer ${WRITER}`)).code,
      0,
    );
    assert.equal((await call(cache, "Get", { group: "metrics", key: "k2" })).code, 0);

    const text = await fetch(`${node.http}/metrics`).then((r) => r.text());
    assert.match(text, /distcache_writes_total\{client="ingest",protocol="grpc"\} 3/);
    assert.match(text, /distcache_writes_total\{client="ingest",protocol="http"\} 1/);
    assert.match(text, /distcache_writes_total\{client="dashboard",protocol="http"\} 0/);
    assert.equal(await metricValue(node.http, "distcache_auth_failures_total", { reason: "scope" }), 4);
    assert.equal(await metricValue(node.http, "distcache_auth_tokens", { kind: "client" }), 2);
  } finally {
    cnf.close();
    cache.close();
    assert.equal(await node.stop(), 0, node.log());
    await cfg.remove();
  }
  const writes = logEvents(node.log(), "write");
  assert.deepEqual(
    writes.map((w) => [w.client, w.protocol, w.op, w.cnf_id ?? `${w.group}/${w.key}`, w.outcome]),
    [
      ["ingest", "grpc", "CreateCnfMetric", "CNF-901", "ok"],
      ["ingest", "grpc", "DeleteCnfMetric", "CNF-901", "ok"],
      ["ingest", "http", "PUT", "metrics/k1", "ok"],
      ["ingest", "grpc", "Set", "metrics/k2", "ok"],
    ],
  );
});

Deno.test("with auth.reads_require_token, reads need the read scope and forwarded reads carry the peer token", async () => {
  const cfg = await tempConfig({ peers: { token: PEER }, auth: { reads_require_token: true, clients } });
  const ports = [freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  // One node reaches its peer over HTTP, the other over gRPC, so both peer clients send the token.
  const nodes = await Promise.all(ports.map((httpPort, i) =>
    startNodeProcess({
      httpPort,
      peers: [urls[1 - i]],
      args: ["--config", cfg.path, "--peer-protocol", i === 0 ? "http" : "grpc"],
    })
  ));
  const cnf = cnfClient(nodes[0].grpc);
  const cache = cacheClient(nodes[1].grpc);
  try {
    for (const node of nodes) {
      const open = await fetch(`${node.http}/_cache/metrics/CNF-001`);
      assert.equal(open.status, 401);
      assert.match(await open.text(), /missing token/);
      const writerOnly = await fetch(`${node.http}/_cache/metrics/CNF-001`, {
        headers: { authorization: `Bearer ${WRITER}` },
      });
      assert.equal(writerOnly.status, 403);
      await writerOnly.body?.cancel();
      for (let i = 1; i <= 40; i++) {
        const id = `CNF-${String(i).padStart(3, "0")}`;
        const res = await fetch(`${node.http}/_cache/metrics/${id}`, {
          headers: { authorization: `Bearer ${READER}` },
        });
        assert.equal(res.status, 200, `${node.http} ${id}`);
        assert.equal(JSON.parse(await res.text()).cnf_id, id);
      }
    }
    for (const node of nodes) {
      const cached = await fetch(`${node.http}/_cache/metrics/CNF-001`);
      assert.equal(cached.status, 401, "a value already cached is refused without a token too");
      await cached.body?.cancel();
    }
    for (const node of nodes) {
      assert.ok(
        await metricValue(node.http, "distcache_group_peer_loads_total") > 0,
        "some reads were forwarded",
      );
      assert.equal(
        await metricValue(node.http, "distcache_group_peer_errors_total"),
        0,
        "and none was refused",
      );
    }
    assert.equal(
      (await call(cache, "Get", { group: "metrics", key: "CNF-002" })).code,
      grpc.status.UNAUTHENTICATED,
    );
    assert.equal(
      (await call(cache, "Get", { group: "metrics", key: "CNF-002" }, `Bearer ${READER}`)).code,
      0,
    );
    assert.equal((await call(cnf, "ShowCnfMetric", { cnf_id: "CNF-003" })).code, grpc.status.UNAUTHENTICATED);
    assert.equal((await call(cnf, "ShowCnfMetric", { cnf_id: "CNF-003" }, `Bearer ${WRITER}`)).code, 7);
    assert.equal((await call(cnf, "ShowCnfMetric", { cnf_id: "CNF-003" }, `Bearer ${READER}`)).code, 0);
    assert.equal((await call(cnf, "ListCnfMetrics", { page_size: 2, page_token: "" })).code, 16);
    assert.equal(
      (await call(cnf, "ListCnfMetrics", { page_size: 2, page_token: "" }, `Bearer ${PEER}`)).code,
      0,
    );
    const health = await fetch(`${nodes[0].http}/healthz`);
    assert.equal(health.status, 200, "health and metrics stay open");
    await health.body?.cancel();
  } finally {
    cnf.close();
    cache.close();
    for (const node of nodes) assert.equal(await node.stop(), 0, node.log());
    await cfg.remove();
  }
});

Deno.test("the development token stops a node on a non-loopback host with exit 2, naming where it came from", async () => {
  const main = new URL("../../main.ts", import.meta.url).pathname;
  for (
    const [extra, env, field] of [
      [[], {}, "peers.token"],
      [["--peer-token", "real-token,distcache-dev-token"], {}, "--peer-token (token 2)"],
      [[], { DISTCACHE_PEER_TOKEN: "distcache-dev-token" }, "DISTCACHE_PEER_TOKEN"],
    ] as const
  ) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", main, "--host", "10.213.99.1", "--db", "sqlite::memory:", ...extra],
      env: { ...env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, stderr);
    assert.ok(stderr.includes(`distcache: ${field} is the development token`), stderr);
    assert.match(stderr, /non-loopback host 10\.213\.99\.1/);
  }
});

Deno.test("a token file that cannot be read or holds a malformed token stops the start with exit 2, naming it", async () => {
  const cfg = await tempConfig({ peers: { token: "", token_file: "missing" } });
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const run = async (file: string) => {
    await Deno.writeTextFile(
      cfg.path,
      (await Deno.readTextFile(cfg.path)).replace(/token_file: .*/, `token_file: ${file}`),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", main, "--config", cfg.path, "--db", "sqlite::memory:", "--http-port", "0"],
      stdout: "null",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  };
  try {
    const missing = await run(`${cfg.dir}/absent`);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /distcache: peers\.token_file: cannot read .*absent/);
    await Deno.writeTextFile(`${cfg.dir}/bad`, "# a comment\nsecret-part other-part\n");
    const bad = await run(`${cfg.dir}/bad`);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /peers\.token_file \(.*bad\) line 2 must be printable ASCII without spaces/);
    assert.ok(!bad.stderr.includes("secret-part"), bad.stderr);
  } finally {
    await cfg.remove();
  }
});
