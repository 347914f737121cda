import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { ConsistentHash } from "../../src/cache/consistent_hash.ts";
import { loadCnfMetricsProto } from "../../src/cnf/service.ts";
import { EXPIRE_HEADER, STALE_HEADER } from "../../src/protocol.ts";
import { serviceClient } from "../../src/server/proto.ts";
import { startMariaDb } from "../_mariadb.ts";
import { freePort, metricValue, type NodeProcess, startNodeProcess } from "../_node.ts";

const TTL_MS = 1000;
const STALE_MS = 3000;
const DB_TIMEOUT_MS = 300;
/** Generous room for scheduling on a shared machine; bounds below are the configuration plus this. */
const SLACK_MS = 5000;

const CONFIG = `peers:
  timeout_ms: 3000
database:
  timeout_ms: ${DB_TIMEOUT_MS}
groups:
  metrics:
    ttl_ms: ${TTL_MS}
    stale_if_error_ms: ${STALE_MS}
`;

interface Answer {
  status: number;
  body: string;
  stale: boolean;
  expiresAt: number;
}

async function get(node: NodeProcess, key: string): Promise<Answer> {
  const res = await fetch(`${node.http}/_cache/metrics/${key}`);
  return {
    status: res.status,
    body: await res.text(),
    stale: res.headers.get(STALE_HEADER) === "1",
    expiresAt: Number(res.headers.get(EXPIRE_HEADER) ?? 0),
  };
}

/** Asks until `done` holds for an answer, at most `withinMs`; returns that answer and every one before it. */
async function askUntil(
  ask: () => Promise<Answer>,
  done: (a: Answer) => boolean,
  withinMs: number,
): Promise<Answer[]> {
  const seen: Answer[] = [];
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    const answer = await ask();
    seen.push(answer);
    if (done(answer)) return seen;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no such answer within ${withinMs} ms; last: ${JSON.stringify(seen.at(-1))}`);
}

type Unary = (
  req: unknown,
  md: grpc.Metadata,
  cb: (e: grpc.ServiceError | null, res: Record<string, unknown>) => void,
) => grpc.ClientUnaryCall;

/** A unary call with its response metadata. */
function call(client: grpc.Client, method: string, req: unknown) {
  return new Promise<{ err: grpc.ServiceError | null; res: Record<string, unknown>; stale: boolean }>(
    (resolve) => {
      let stale = false;
      const c = (client as unknown as Record<string, Unary>)[method].call(
        client,
        req,
        new grpc.Metadata(),
        (err, res) => resolve({ err, res, stale }),
      );
      c.on("metadata", (md) => stale = md.get(STALE_HEADER)[0] === "1");
    },
  );
}

Deno.test("stale-if-error: with MariaDB killed or frozen, keys read lately answer stale for the window, then recover", async (t) => {
  const db = await startMariaDb();
  const dir = await Deno.makeTempDir({ prefix: "distcache-stale-" });
  await Deno.writeTextFile(`${dir}/config.yml`, CONFIG);
  // The ring follows the (random) ports: take ports on which the warm keys have both owners, as the steps
  // need (about one pair in eight puts all four on one node).
  let ports: number[];
  let urls: string[];
  do {
    ports = [freePort(), freePort()];
    urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const trial = new ConsistentHash();
    trial.add(...urls);
    if (new Set(["CNF-001", "CNF-002", "CNF-003", "CNF-004"].map((k) => trial.get(k))).size === 2) break;
  } while (true);
  const args = ["--config", `${dir}/config.yml`];
  const first = await startNodeProcess({ httpPort: ports[0], peers: [urls[1]], db: db.url, args });
  const second = await startNodeProcess({ httpPort: ports[1], peers: [urls[0]], db: db.url, args });
  const nodes = [first, second];
  const ring = new ConsistentHash();
  ring.add(...urls);
  const Group = serviceClient("groupcache.proto", "groupcachepb.GroupCache");
  const Cnf = grpc.makeGenericClientConstructor(loadCnfMetricsProto(), "CnfMetricsService");
  const groupClient = new Group(first.grpc, grpc.credentials.createInsecure());
  const cnfClient = new Cnf(second.grpc, grpc.credentials.createInsecure());
  const warm = ["CNF-001", "CNF-002", "CNF-003", "CNF-004"];
  try {
    // Keys owned by each node, so both the owner's answer and a peer's relayed answer are seen.
    assert.ok(new Set(warm.map((k) => ring.get(k))).size === 2, "the warm keys have both owners");
    const before = new Map<string, string>();
    for (const key of warm) before.set(key, (await get(first, key)).body);

    await t.step(
      "killed: warm keys answer their last value marked stale, on every node and API",
      async () => {
        await db.kill();
        const seen = await askUntil(() => get(first, "CNF-001"), (a) => a.stale, TTL_MS + SLACK_MS);
        assert.ok(seen.every((a) => a.status === 200), "never an error between fresh and stale");
        for (const node of nodes) {
          for (const key of warm) {
            // Each key turns stale once its own ttl has passed; until then it answers fresh.
            const answers = await askUntil(
              () => get(node, key),
              (a) => a.stale || a.status !== 200,
              TTL_MS + SLACK_MS,
            );
            const a = answers.at(-1)!;
            assert.equal(a.status, 200, `${key} on ${node.http}: ${a.body}`);
            assert.ok(answers.every((x) => x.body === before.get(key)));
            assert.ok(a.expiresAt <= Date.now(), "a stale answer's expiry has passed");
          }
        }
        const grpcGet = await call(groupClient, "Get", { group: "metrics", key: "CNF-002" });
        assert.equal(grpcGet.err, null);
        assert.ok(grpcGet.stale, "gRPC Get carries x-distcache-stale in its response metadata");
        const show = await call(cnfClient, "ShowCnfMetric", { cnf_id: "CNF-003" });
        assert.equal(show.err, null);
        assert.ok(show.stale, "ShowCnfMetric carries x-distcache-stale too");
        const batch = await fetch(`${second.http}/_cache/metrics/_batch`, {
          method: "POST",
          body: JSON.stringify({ keys: ["CNF-004", "CNF-090"] }),
        });
        assert.equal(batch.headers.get(STALE_HEADER), "1");
        const { results } = await batch.json();
        assert.equal(results[0].stale, true);
        assert.equal(results[1].status, 503, "a key never loaded has no value to fall back on");
        assert.ok(await metricValue(first.http, "distcache_stale_answers_total", { group: "metrics" }) >= 4);
      },
    );

    await t.step("killed: a key never loaded answers 503 / UNAVAILABLE", async () => {
      const cold = await get(second, "CNF-050");
      assert.equal(cold.status, 503);
      assert.match(cold.body, /^unavailable: /);
      const grpcCold = await call(groupClient, "Get", { group: "metrics", key: "CNF-051" });
      assert.equal(grpcCold.err?.code, grpc.status.UNAVAILABLE);
    });

    await t.step("restarted: the next reload replaces the stale values", async () => {
      await db.restart();
      await db.rootQuery("UPDATE distcache.cnf_metric SET value = 4242 WHERE cnf_id = 'CNF-001'");
      const fresh = await askUntil(() => get(second, "CNF-001"), (a) => !a.stale, SLACK_MS);
      const last = fresh.at(-1)!;
      assert.equal(last.status, 200);
      assert.equal(JSON.parse(last.body).value, 4242);
      assert.ok(last.expiresAt > Date.now());
      for (const key of warm.slice(1)) {
        const a = await askUntil(() => get(first, key), (a) => !a.stale, SLACK_MS);
        assert.equal(a.at(-1)!.body, before.get(key));
      }
    });

    await t.step(
      "frozen: warm keys answer stale until the window ends, then 503; thawed, fresh",
      async () => {
        for (const key of warm) assert.equal((await get(first, key)).stale, false);
        db.pause(true);
        const seen = await askUntil(
          () => get(second, "CNF-002"),
          (a) => a.status !== 200,
          TTL_MS + STALE_MS + SLACK_MS,
        );
        const stale = seen.filter((a) => a.stale);
        assert.ok(stale.length > 0, "the key answered stale before the window ended");
        assert.ok(seen.every((a) => a.status === 200 || a === seen.at(-1)));
        const expiresAt = stale[0].expiresAt;
        assert.ok(stale.every((a) => a.body === before.get("CNF-002")));
        const end = seen.at(-1)!;
        assert.equal(end.status, 503, end.body);
        // Served stale for the window configured, not less: the first error came after expiry + window.
        assert.ok(Date.now() >= expiresAt + STALE_MS, "no error before the stale window ended");
        const cold = await get(first, "CNF-060");
        assert.equal(cold.status, 503);
        db.pause(false);
        const back = await askUntil(() => get(second, "CNF-002"), (a) => a.status === 200, SLACK_MS);
        assert.equal(back.at(-1)!.stale, false);
        assert.equal(back.at(-1)!.body, before.get("CNF-002"));
      },
    );
  } finally {
    groupClient.close();
    cnfClient.close();
    for (const node of nodes) assert.equal(await node.stop(), 0, node.log());
    await db.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
