import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { cacheClient, call, cnfClient, metricMessage, tempConfig } from "../_auth.ts";
import { startMariaDb } from "../_mariadb.ts";
import { freePort, type NodeProcess, startNodeProcess } from "../_node.ts";

const hex = (n: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16)).join("");

/** Every secret the nodes are given: peer tokens, client tokens (one from a file) and the database password. */
const PEER_1 = `p1-${hex(12)}`;
const PEER_2 = `p2-${hex(12)}`;
const OPS = `ops-${hex(12)}`;
const VIEWER = `viewer-${hex(12)}`;
const DB_PASSWORD = `pw-${hex(12)}`;
const SECRETS = { PEER_1, PEER_2, OPS, VIEWER, DB_PASSWORD };

/** Wrong credentials built from the real ones, so an echo of what was sent would show a secret. */
function badAuths(): string[] {
  const out = ["", "Bearer", "Bearer x", "Basic abc"];
  for (const s of [PEER_1, PEER_2, OPS, VIEWER]) {
    out.push(`Bearer ${s}x`, `Bearer ${s.slice(0, -1)}`, `Token ${s}`, `Basic ${btoa(`u:${s}`)}`, `${s}`);
  }
  out.push(`Bearer ${VIEWER}`); // the read scope only: refused for writes
  return out;
}

const PIECES = ["metrics", "CNF-001", "CNF-999", "", "%", "%zz", "%2F", "..", "é", "k".repeat(251), "nosuch"];

Deno.test("no token and no database password appears in logs (debug), /metrics, /_status, /healthz, the status page or any error, under traffic and failures", async () => {
  const db = await startMariaDb({ password: DB_PASSWORD });
  const cfg = await tempConfig({
    peers: { token: PEER_1, tokens: [PEER_2] },
    database: { timeout_ms: 500 },
    auth: {
      clients: [
        { name: "ops", scopes: ["read", "write"], token_file: "ops-token" },
        { name: "viewer", scopes: ["read"], token: VIEWER },
      ],
    },
  });
  const opsFile = `${cfg.dir}/ops-token`;
  await Deno.writeTextFile(opsFile, `# ops client\n${OPS}\n`);
  // The token file is named relative to the config, so write the absolute path in.
  await Deno.writeTextFile(cfg.path, (await Deno.readTextFile(cfg.path)).replace("ops-token", opsFile));
  const seen: string[] = [];
  const ports = [freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const nodes: NodeProcess[] = [];
  const grpcClients: grpc.Client[] = [];
  const keep = async (res: Response) => {
    seen.push(`${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`);
    return res.status;
  };
  const rec = (r: { text: string; code: number }) => {
    seen.push(r.text);
    return r.code;
  };
  try {
    nodes.push(
      ...await Promise.all(ports.map((httpPort, i) =>
        startNodeProcess({
          httpPort,
          db: db.url,
          peers: [urls[1 - i]],
          args: ["--config", cfg.path, "--log-level", "debug", "--peer-protocol", i === 0 ? "http" : "grpc"],
        })
      )),
    );
    const observe = async () => {
      for (const n of nodes) {
        for (
          const path of ["/metrics", "/_status", "/_status/owner?key=CNF-001", "/healthz", "/readyz", "/"]
        ) {
          await keep(await fetch(`${n.http}${path}`));
        }
      }
    };

    // Normal traffic over both protocols, with every kind of credential.
    for (const [i, n] of nodes.entries()) {
      const cache = cacheClient(n.grpc);
      const cnf = cnfClient(n.grpc);
      grpcClients.push(cache, cnf);
      for (let k = 1; k <= 20; k++) {
        await keep(await fetch(`${n.http}/_cache/metrics/CNF-${String(k).padStart(3, "0")}`));
      }
      for (const token of [PEER_1, PEER_2, OPS]) {
        const headers = { authorization: `Bearer ${token}` };
        assert.equal(
          await keep(await fetch(`${n.http}/_cache/metrics/w${i}`, { method: "PUT", body: "v", headers })),
          204,
        );
        assert.equal(
          await keep(await fetch(`${n.http}/_cache/metrics/w${i}`, { method: "DELETE", headers })),
          204,
        );
        const auth = `Bearer ${token}`;
        const value = new TextEncoder().encode("v");
        assert.equal(rec(await call(cache, "Set", { group: "metrics", key: `g${i}`, value }, auth)), 0);
        assert.equal(rec(await call(cache, "Delete", { group: "metrics", key: `g${i}` }, auth)), 0);
      }
      const ops = `Bearer ${OPS}`;
      assert.equal(
        rec(await call(cnf, "CreateCnfMetric", { metric: metricMessage(`CNF-95${i}`, 3) }, ops)),
        0,
      );
      assert.equal(rec(await call(cnf, "ShowCnfMetric", { cnf_id: `CNF-95${i}` }, `Bearer ${VIEWER}`)), 0);
      assert.equal(rec(await call(cnf, "ListCnfMetrics", { page_size: 5, page_token: "" })), 0);
      assert.equal(rec(await call(cnf, "DeleteCnfMetric", { cnf_id: `CNF-95${i}` }, ops)), 0);
    }
    await observe();

    // Refused credentials, bad keys and malformed messages, on both protocols.
    for (const [i, n] of nodes.entries()) {
      const cache = grpcClients[2 * i];
      const cnf = grpcClients[2 * i + 1];
      for (const auth of badAuths()) {
        const headers = { authorization: auth };
        assert.ok(
          await keep(await fetch(`${n.http}/_cache/metrics/k`, { method: "PUT", body: "v", headers })) >= 401,
        );
        assert.ok(
          await keep(await fetch(`${n.http}/_cache/metrics/k`, { method: "DELETE", headers })) >= 401,
        );
        assert.notEqual(
          rec(await call(cache, "Set", { group: "metrics", key: "k", value: new Uint8Array(1) }, auth)),
          0,
        );
        assert.notEqual(
          rec(await call(cnf, "CreateCnfMetric", { metric: metricMessage("CNF-960", 1) }, auth)),
          0,
        );
        assert.notEqual(rec(await call(cnf, "DeleteCnfMetric", { cnf_id: "CNF-001" }, auth)), 0);
      }
      let seed = 7 + i;
      const pick = <T>(xs: T[]) => xs[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % xs.length];
      for (let c = 0; c < 120; c++) {
        const path = `/_cache/${pick(PIECES)}/${pick(PIECES)}`;
        const method = pick(["GET", "PUT", "DELETE", "POST"]);
        const headers = { authorization: pick([`Bearer ${OPS}`, `Bearer ${PEER_1}`, ...badAuths()]) };
        const body = method === "PUT" || method === "POST" ? pick(["v", "x".repeat(2 << 20)]) : undefined;
        await keep(await fetch(`${n.http}${path}`, { method, headers, body }));
        const md = new grpc.Metadata();
        md.set("authorization", headers.authorization);
        await new Promise<void>((resolve) =>
          cache.makeUnaryRequest(
            `/groupcachepb.GroupCache/${pick(["Get", "Set", "Delete"])}`,
            (b: Buffer) => b,
            (b: Buffer) => b,
            Buffer.from(crypto.getRandomValues(new Uint8Array(c % 40))),
            md,
            (e) => {
              seen.push(`${e?.details ?? ""}`);
              resolve();
            },
          )
        );
      }
      assert.notEqual(
        rec(await call(cnf, "CreateCnfMetric", { metric: metricMessage("bad id", 1) }, `Bearer ${OPS}`)),
        0,
      );
    }

    // A token file that cannot be parsed (with a token on the bad line) and one that is gone, then back.
    // Each bad state is held until every node has logged its refusal, so none is replaced before it is read.
    const refusals = () => nodes.map((n) => n.log().split('"event":"token reload failed').length - 1);
    const reloadFails = async (change: () => Promise<void>) => {
      const before = refusals();
      await change();
      for (const n of nodes) Deno.kill(n.pid, "SIGHUP");
      const deadline = Date.now() + 10_000;
      while (refusals().some((count, i) => count <= before[i])) {
        if (Date.now() > deadline) assert.fail("a node did not log the failed token reload within 10 s");
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await reloadFails(() => Deno.writeTextFile(opsFile, `${OPS} trailing words\n`));
    await reloadFails(() => Deno.remove(opsFile));
    await Deno.writeTextFile(opsFile, `${OPS}\n`);
    for (const n of nodes) Deno.kill(n.pid, "SIGHUP");

    // The database down: cold reads and CNF writes fail, a node cannot start; then it is back.
    await db.kill();
    for (const n of nodes) {
      for (let k = 40; k < 45; k++) {
        assert.equal(await keep(await fetch(`${n.http}/_cache/metrics/CNF-0${k}`)), 503);
      }
    }
    const cnf = grpcClients[1];
    assert.equal(rec(await call(cnf, "ShowCnfMetric", { cnf_id: "CNF-070" })), grpc.status.UNAVAILABLE);
    assert.equal(
      rec(await call(cnf, "CreateCnfMetric", { metric: metricMessage("CNF-961", 1) }, `Bearer ${OPS}`)),
      14,
    );
    assert.equal(rec(await call(cnf, "ListCnfMetrics", { page_size: 5, page_token: "" })), 14);
    const failed = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        new URL("../../main.ts", import.meta.url).pathname,
        "--config",
        cfg.path,
        "--log-level",
        "debug",
        "--http-port",
        String(freePort()),
        "--grpc-port",
        String(freePort()),
        "--db",
        db.url,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const failedLog = new TextDecoder().decode(failed.stderr) + new TextDecoder().decode(failed.stdout);
    assert.equal(failed.code, 1, failedLog);
    seen.push(failedLog);
    assert.match(failedLog, /cannot open MySQL repository/);
    await observe();
    await db.restart();
    assert.equal(await keep(await fetch(`${nodes[0].http}/_cache/metrics/CNF-046`)), 200);
    await observe();
  } finally {
    for (const c of grpcClients) c.close();
    for (const n of nodes) {
      assert.equal(await n.stop(), 0, n.log());
      seen.push(n.log());
    }
    await cfg.remove();
    await db.stop();
  }
  const logs = nodes.map((n) => n.log()).join("\n");
  assert.match(logs, /"level":"debug"/, "the nodes logged at debug");
  assert.match(logs, /"event":"request refused"/);
  assert.match(logs, /"event":"token reload failed; the tokens in force stay"/);
  const all = seen.join("\n");
  assert.match(all, /503 .*unavailable/, "database failures were answered");
  assert.match(all, /wrong token/);
  for (const [name, secret] of Object.entries(SECRETS)) {
    const at = all.indexOf(secret);
    assert.equal(at, -1, `${name} leaked: …${all.slice(Math.max(0, at - 200), at + 50)}…`);
  }
});
