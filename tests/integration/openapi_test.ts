import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { parse, stringify } from "yaml";
import { startMariaDb } from "../_mariadb.ts";
import { freePort, NODE_PERMISSIONS, type NodeProcess, startNodeProcess } from "../_node.ts";
import { spawnWatched } from "../_process.ts";

const SPEC_FILE = new URL("../../docs/openapi.yaml", import.meta.url).pathname;
const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const CONFIG = new URL("../../config/config.yml", import.meta.url).pathname;
const TOKEN = "contract-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const READER = { authorization: "Bearer contract-reader" };
const WRITER = { authorization: "Bearer contract-writer" };

/**
 * The nodes the exchanges run against:
 * - `node`: alone, with its own SQLite database;
 * - `degraded`: its MySQL database stopped after start, and a static peer that is not there;
 * - `starting`: waiting for an etcd that is not there, so not ready yet;
 * - `locked`: reads need a token (auth.reads_require_token), with a read-only and a write-only client.
 */
type NodeName = "node" | "degraded" | "starting" | "locked";

/** One request and the status it must get. Adding an operation or a status is adding a row. */
interface Exchange {
  /** "<METHOD> <path as in docs/openapi.yaml>". */
  op: string;
  status: number;
  on: NodeName;
  /** The path and query sent. `{peerKey}` is replaced by a key the degraded node's missing peer owns. */
  url: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
}

const EXCHANGES: Exchange[] = [
  { op: "GET /_cache/{group}/{key}", status: 200, on: "node", url: "/_cache/metrics/CNF-001" },
  { op: "GET /_cache/{group}/{key}", status: 400, on: "node", url: `/_cache/metrics/${"k".repeat(251)}` },
  { op: "GET /_cache/{group}/{key}", status: 400, on: "node", url: "/_cache/metrics/%zz" },
  { op: "GET /_cache/{group}/{key}", status: 404, on: "node", url: "/_cache/metrics/CNF-999" },
  { op: "GET /_cache/{group}/{key}", status: 404, on: "node", url: "/_cache/nope/CNF-001" },
  { op: "GET /_cache/{group}/{key}", status: 503, on: "degraded", url: "/_cache/metrics/CNF-002" },
  {
    op: "GET /_cache/{group}/{key}",
    status: 200,
    on: "locked",
    url: "/_cache/metrics/CNF-001",
    headers: READER,
  },
  { op: "GET /_cache/{group}/{key}", status: 401, on: "locked", url: "/_cache/metrics/CNF-001" },
  {
    op: "GET /_cache/{group}/{key}",
    status: 403,
    on: "locked",
    url: "/_cache/metrics/CNF-001",
    headers: WRITER,
  },
  {
    op: "PUT /_cache/{group}/{key}",
    status: 204,
    on: "node",
    url: "/_cache/metrics/contract",
    headers: { ...AUTH, "x-distcache-ttl-ms": "60000" },
    body: "value",
  },
  {
    op: "PUT /_cache/{group}/{key}",
    status: 400,
    on: "node",
    url: "/_cache/metrics/contract",
    headers: { ...AUTH, "x-distcache-ttl-ms": "soon" },
    body: "value",
  },
  {
    op: "PUT /_cache/{group}/{key}",
    status: 401,
    on: "node",
    url: "/_cache/metrics/contract",
    body: "value",
  },
  {
    op: "PUT /_cache/{group}/{key}",
    status: 401,
    on: "node",
    url: "/_cache/metrics/contract",
    headers: { authorization: "Bearer wrong" },
    body: "value",
  },
  {
    op: "PUT /_cache/{group}/{key}",
    status: 403,
    on: "locked",
    url: "/_cache/metrics/k",
    headers: READER,
    body: "v",
  },
  {
    op: "PUT /_cache/{group}/{key}",
    status: 404,
    on: "node",
    url: "/_cache/nope/k",
    headers: AUTH,
    body: "v",
  },
  {
    op: "PUT /_cache/{group}/{key}",
    status: 413,
    on: "node",
    url: "/_cache/metrics/big",
    headers: AUTH,
    body: new Uint8Array((1 << 20) + 1),
  },
  {
    op: "PUT /_cache/{group}/{key}",
    status: 503,
    on: "degraded",
    url: "/_cache/metrics/{peerKey}",
    headers: AUTH,
    body: "v",
  },
  {
    op: "DELETE /_cache/{group}/{key}",
    status: 204,
    on: "node",
    url: "/_cache/metrics/contract",
    headers: AUTH,
  },
  {
    op: "DELETE /_cache/{group}/{key}",
    status: 400,
    on: "node",
    url: `/_cache/metrics/${"k".repeat(251)}`,
    headers: AUTH,
  },
  { op: "DELETE /_cache/{group}/{key}", status: 401, on: "node", url: "/_cache/metrics/contract" },
  {
    op: "DELETE /_cache/{group}/{key}",
    status: 403,
    on: "locked",
    url: "/_cache/metrics/k",
    headers: READER,
  },
  { op: "DELETE /_cache/{group}/{key}", status: 404, on: "node", url: "/_cache/nope/k", headers: AUTH },
  {
    op: "DELETE /_cache/{group}/{key}",
    status: 503,
    on: "degraded",
    url: "/_cache/metrics/k",
    headers: AUTH,
  },
  {
    op: "POST /_cache/{group}/_batch",
    status: 200,
    on: "node",
    url: "/_cache/metrics/_batch",
    body: JSON.stringify({ keys: ["CNF-001", "CNF-999", "k".repeat(251)] }),
  },
  { op: "POST /_cache/{group}/_batch", status: 400, on: "node", url: "/_cache/metrics/_batch", body: "{" },
  {
    op: "POST /_cache/{group}/_batch",
    status: 401,
    on: "locked",
    url: "/_cache/metrics/_batch",
    body: JSON.stringify({ keys: ["CNF-001"] }),
  },
  {
    op: "POST /_cache/{group}/_batch",
    status: 403,
    on: "locked",
    url: "/_cache/metrics/_batch",
    headers: WRITER,
    body: JSON.stringify({ keys: ["CNF-001"] }),
  },
  {
    op: "POST /_cache/{group}/_batch",
    status: 404,
    on: "node",
    url: "/_cache/nope/_batch",
    body: JSON.stringify({ keys: ["CNF-001"] }),
  },
  {
    op: "POST /_cache/{group}/_batch",
    status: 413,
    on: "node",
    url: "/_cache/metrics/_batch",
    body: JSON.stringify({ keys: Array.from({ length: 1001 }, (_, i) => `k${i}`) }),
  },
  { op: "GET /healthz", status: 200, on: "node", url: "/healthz" },
  { op: "GET /readyz", status: 200, on: "node", url: "/readyz" },
  { op: "GET /readyz", status: 503, on: "starting", url: "/readyz" },
  { op: "GET /metrics", status: 200, on: "node", url: "/metrics" },
  { op: "GET /", status: 200, on: "node", url: "/" },
  { op: "GET /_status", status: 200, on: "node", url: "/_status" },
  { op: "GET /_status", status: 200, on: "degraded", url: "/_status" },
  { op: "GET /_status/owner", status: 200, on: "node", url: "/_status/owner?key=CNF-001" },
  { op: "GET /_status/owner", status: 400, on: "node", url: "/_status/owner" },
  { op: "GET /_status/owner", status: 400, on: "node", url: "/_status/owner?key=" },
];

interface MediaType {
  schema?: unknown;
}
interface Header {
  required?: boolean;
  schema?: unknown;
}
interface Response {
  content?: Record<string, MediaType>;
  headers?: Record<string, Header>;
}
type Operation = { responses: Record<string, Response> };
type Spec = { paths: Record<string, Record<string, Operation>> };

const METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options", "trace"]);

/** Validates the document and returns it with every $ref resolved. */
async function loadSpec(): Promise<Spec> {
  const validator = new Validator();
  const result = await validator.validate(parse(await Deno.readTextFile(SPEC_FILE)));
  assert.ok(
    result.valid,
    `docs/openapi.yaml is not valid OpenAPI: ${JSON.stringify(result.errors, null, 2)}`,
  );
  assert.equal(validator.version, "3.1");
  return validator.resolveRefs() as Spec;
}

/** Every "<METHOD> <path> <status>" the document declares. */
function declared(spec: Spec): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      for (const status of Object.keys(op.responses)) out.push(`${method.toUpperCase()} ${path} ${status}`);
    }
  }
  return out;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

function conforms(schema: unknown, value: unknown, what: string): void {
  if (schema === undefined) return;
  const ok = ajv.validate(schema as object, value);
  assert.ok(ok, `${what} does not match its schema: ${ajv.errorsText()}\n${JSON.stringify(value)}`);
}

/**
 * Checks one answer against the document: its status is declared for the operation, its media type is
 * one declared for that status (no body when none is), its required headers are there, and its headers
 * and body match their schemas.
 */
async function checkAnswer(spec: Spec, op: string, res: globalThis.Response): Promise<void> {
  const [method, path] = op.split(" ");
  const operation = spec.paths[path]?.[method.toLowerCase()];
  assert.ok(operation, `docs/openapi.yaml has no operation ${op}`);
  const declaredResponse = operation.responses[String(res.status)];
  const body = new Uint8Array(await res.arrayBuffer());
  assert.ok(
    declaredResponse,
    `${op} answered ${res.status}, which docs/openapi.yaml does not declare (declared: ${
      Object.keys(operation.responses).join(", ")
    }): ${new TextDecoder().decode(body).slice(0, 200)}`,
  );
  for (const [name, header] of Object.entries(declaredResponse.headers ?? {})) {
    const value = res.headers.get(name);
    if (value === null) {
      assert.ok(!header.required, `${op} ${res.status} lacks the required header ${name}`);
      continue;
    }
    conforms(header.schema, value, `${op} ${res.status} header ${name}`);
  }
  const content = declaredResponse.content;
  if (!content) {
    assert.equal(
      body.byteLength,
      0,
      `${op} ${res.status} declares no body but sent ${body.byteLength} bytes`,
    );
    return;
  }
  const type = (res.headers.get("content-type") ?? "").split(";")[0].trim();
  const media = content[type];
  assert.ok(media, `${op} ${res.status} sent ${type}; declared: ${Object.keys(content).join(", ")}`);
  if (type === "application/json") {
    conforms(media.schema, JSON.parse(new TextDecoder().decode(body)), `${op} ${res.status} body`);
  } else if (type.startsWith("text/")) {
    conforms(media.schema, new TextDecoder().decode(body), `${op} ${res.status} body`);
  }
}

/** A key the node's ring gives to another member. */
async function keyOwnedElsewhere(node: NodeProcess): Promise<string> {
  for (let i = 0; i < 1000; i++) {
    const res = await fetch(`${node.http}/_status/owner?key=peer-key-${i}`);
    if ((await res.json()).self === false) return `peer-key-${i}`;
  }
  throw new Error("no key is owned by the other member");
}

Deno.test("docs/openapi.yaml is valid OpenAPI 3.1, and the validator rejects a broken copy", async () => {
  const spec = await loadSpec();
  assert.ok(declared(spec).length >= EXCHANGES.length / 2);
  const broken = parse(await Deno.readTextFile(SPEC_FILE));
  delete broken.paths["/healthz"].get.responses["200"].description;
  assert.equal((await new Validator().validate(broken)).valid, false);
});

Deno.test("the check refuses a status the document does not declare", async () => {
  const spec = await loadSpec();
  await assert.rejects(
    checkAnswer(spec, "GET /healthz", new Response("teapot\n", { status: 418 })),
    /answered 418, which docs\/openapi\.yaml does not declare/,
  );
  await assert.rejects(
    checkAnswer(spec, "GET /healthz", Response.json({ status: "ok" })),
    /does not match its schema/,
  );
});

Deno.test("every declared operation and status is exercised on running nodes and answers as declared", async () => {
  const spec = await loadSpec();
  const exercised = new Set(EXCHANGES.map((e) => `${e.op} ${e.status}`));
  const missing = declared(spec).filter((d) => !exercised.has(d));
  assert.deepEqual(missing, [], "declared in docs/openapi.yaml but exercised by no row of EXCHANGES");

  const dir = await Deno.makeTempDir();
  const lockedConfig = `${dir}/config.yml`;
  await Deno.writeTextFile(
    lockedConfig,
    stringify({
      peers: { token: TOKEN },
      auth: {
        reads_require_token: true,
        clients: [
          { name: "reader", scopes: ["read"], token: READER.authorization.slice(7) },
          { name: "writer", scopes: ["write"], token: WRITER.authorization.slice(7) },
        ],
      },
    }),
  );
  const db = await startMariaDb();
  const nodes: Partial<Record<NodeName, NodeProcess>> = {};
  let starting: ReturnType<typeof spawnWatched> | undefined;
  try {
    nodes.node = await startNodeProcess({ args: ["--peer-token", TOKEN] });
    nodes.degraded = await startNodeProcess({
      db: db.url,
      peers: [`http://127.0.0.1:${freePort()}`],
      args: ["--peer-token", TOKEN, "--log-level", "error"],
    });
    nodes.locked = await startNodeProcess({ args: ["--config", lockedConfig] });
    const peerKey = await keyOwnedElsewhere(nodes.degraded);
    await db.stop();

    // A node waiting (3 s) for an etcd that is not there: listening, not ready.
    const startingHttp = `http://127.0.0.1:${freePort()}`;
    starting = spawnWatched(Deno.execPath(), [
      "run",
      ...NODE_PERMISSIONS,
      MAIN,
      "--config",
      CONFIG,
      "--http-port",
      new URL(startingHttp).port,
      "--grpc-port",
      String(freePort()),
      "--db",
      "sqlite::memory:",
      "--etcd",
      `127.0.0.1:${freePort()}`,
      "--log-level",
      "error",
    ]);
    await starting.waitUntil(async () => {
      const res = await fetch(`${startingHttp}/healthz`);
      await res.body?.cancel();
      return true;
    }, "listening");
    const base: Record<NodeName, string> = {
      node: nodes.node.http,
      degraded: nodes.degraded.http,
      starting: startingHttp,
      locked: nodes.locked.http,
    };
    // Those on the starting node first, while it is still not ready.
    const ordered = [...EXCHANGES].sort((a, b) => Number(b.on === "starting") - Number(a.on === "starting"));
    for (const e of ordered) {
      const [method] = e.op.split(" ");
      const res = await fetch(base[e.on] + e.url.replace("{peerKey}", peerKey), {
        method,
        headers: e.headers,
        body: e.body,
      });
      assert.equal(res.status, e.status, `${e.op} ${e.url} on ${e.on}: ${await res.clone().text()}`);
      await checkAnswer(spec, e.op, res);
    }
  } finally {
    await starting?.stop();
    for (const n of Object.values(nodes)) await n.stop();
    await db.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
