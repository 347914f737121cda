import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { serviceClient } from "../../src/server/proto.ts";
import { startNodeProcess } from "../_node.ts";

const TOKEN = "test-token";

type Unary = (req: unknown, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void;

function call(client: grpc.Client, method: string, req: unknown, md = new grpc.Metadata()) {
  return new Promise<{ code: grpc.status; details: string; res?: Record<string, unknown> }>((resolve) => {
    (client as unknown as Record<string, Unary>)[method].call(client, req, md, (err, res) => {
      resolve(
        err
          ? { code: err.code, details: err.details }
          : { code: grpc.status.OK, details: "", res: res as Record<string, unknown> },
      );
    });
  });
}

function auth(token: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${token}`);
  return md;
}

Deno.test("a node rejects bad input with the exact status and keeps serving", async (t) => {
  const node = await startNodeProcess({ args: ["--peer-token", TOKEN] });
  const Client = serviceClient("groupcache.proto", "groupcachepb.GroupCache");
  const client = new Client(node.grpc, grpc.credentials.createInsecure());
  const http = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${node.http}${path}`, init);
    return { status: res.status, body: await res.text() };
  };
  try {
    await t.step("HTTP", async (t) => {
      const cases: [string, string, RequestInit | undefined, number, RegExp][] = [
        ["empty key", "/_cache/metrics/", undefined, 400, /key must not be empty/],
        [
          "key over 250 bytes",
          `/_cache/metrics/${"k".repeat(251)}`,
          undefined,
          400,
          /251 bytes; the limit is 250/,
        ],
        ["bad percent-encoding", "/_cache/metrics/%E0%A4%A", undefined, 400, /percent-encoding/],
        ["unknown group", "/_cache/nosuch/CNF-001", undefined, 404, /unknown group "nosuch"/],
        // Names that start or end like a real group's are other groups.
        ["a group's name cut short", "/_cache/metric/CNF-001", undefined, 404, /unknown group "metric"/],
        ["a group's name run on", "/_cache/metricsx/CNF-001", undefined, 404, /unknown group "metricsx"/],
        ["an empty group", "/_cache//CNF-001", undefined, 404, /unknown group ""/],
        ["unknown key", "/_cache/metrics/CNF-999", undefined, 404, /no value for key "CNF-999"/],
        ["PUT without a token", "/_cache/metrics/k", { method: "PUT", body: "v" }, 401, /missing token/],
        [
          "PUT with a wrong token",
          "/_cache/metrics/k",
          { method: "PUT", body: "v", headers: { authorization: "Bearer nope" } },
          401,
          /wrong token/,
        ],
        [
          "DELETE without a token",
          "/_cache/metrics/CNF-001",
          { method: "DELETE" },
          401,
          /missing token/,
        ],
        [
          "a body over the value limit",
          "/_cache/metrics/big",
          {
            method: "PUT",
            body: new Uint8Array((1 << 20) + 1),
            headers: { authorization: `Bearer ${TOKEN}` },
          },
          413,
          /exceeds the limit of 1048576 bytes/,
        ],
        [
          "a bad TTL header",
          "/_cache/metrics/k",
          {
            method: "PUT",
            body: "v",
            headers: { authorization: `Bearer ${TOKEN}`, "x-distcache-ttl-ms": "-5" },
          },
          400,
          /x-distcache-ttl-ms must be a whole number/,
        ],
        [
          "a TTL header above the limit names the limit",
          "/_cache/metrics/k",
          {
            method: "PUT",
            body: "v",
            headers: { authorization: `Bearer ${TOKEN}`, "x-distcache-ttl-ms": "9".repeat(16) },
          },
          400,
          /^x-distcache-ttl-ms is above the limit of 999999999999999 milliseconds \(got 9{16}\)\n$/,
        ],
        [
          "a key with a newline is quoted in one line",
          "/_cache/metrics/a%0Ab",
          undefined,
          404,
          /^no value for key "a\\nb" in group "metrics"\n$/,
        ],
        [
          "a key with a NUL is quoted without the NUL",
          "/_cache/metrics/a%00b",
          undefined,
          404,
          /^no value for key "a\\u0000b" in group "metrics"\n$/,
        ],
        ["a group with a newline", "/_cache/x%0Ay/k", undefined, 404, /^unknown group "x\\ny"\n$/],
        [
          "an owner lookup with bad percent-encoding",
          "/_status/owner?key=%ZZ",
          undefined,
          400,
          /percent-encoding/,
        ],
        [
          "an owner lookup without a key",
          "/_status/owner",
          undefined,
          400,
          /expected \/_status\/owner\?key=/,
        ],
        ["a method the API lacks", "/_cache/metrics/k", { method: "POST", body: "v" }, 405, /not allowed/],
        ["an unknown path", "/nope", undefined, 404, /no route/],
      ];
      for (const [name, path, init, status, message] of cases) {
        await t.step(name, async () => {
          const res = await http(path, init);
          assert.equal(res.status, status, res.body);
          assert.match(res.body, message);
        });
      }
    });

    await t.step("HTTP PUT, GET and DELETE with the token round-trip a value with its expiry", async () => {
      const put = await fetch(`${node.http}/_cache/metrics/CNF-777`, {
        method: "PUT",
        body: "raw-bytes",
        headers: { authorization: `Bearer ${TOKEN}`, "x-distcache-ttl-ms": "60000" },
      });
      assert.equal(put.status, 204);
      const got = await fetch(`${node.http}/_cache/metrics/CNF-777`);
      assert.equal(await got.text(), "raw-bytes");
      const expires = Number(got.headers.get("x-distcache-expire-unix-ms"));
      assert.ok(expires > Date.now() && expires <= Date.now() + 60_000, String(expires));
      const del = await fetch(`${node.http}/_cache/metrics/CNF-777`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(del.status, 204);
      assert.equal((await http("/_cache/metrics/CNF-777")).status, 404);
    });

    await t.step("an owner lookup decodes its key as /_cache does", async () => {
      const res = await http("/_status/owner?key=a%2Fb+c");
      assert.equal(res.status, 200, res.body);
      assert.equal(JSON.parse(res.body).key, "a/b c");
    });

    await t.step("gRPC", async (t) => {
      const big = new Uint8Array((1 << 20) + 1);
      const cases: [string, string, unknown, grpc.Metadata | undefined, grpc.status, RegExp][] = [
        ["empty key", "Get", { group: "metrics", key: "" }, undefined, grpc.status.INVALID_ARGUMENT, /empty/],
        [
          "key over 250 bytes",
          "Get",
          { group: "metrics", key: "k".repeat(251) },
          undefined,
          grpc.status.INVALID_ARGUMENT,
          /limit is 250/,
        ],
        ["empty group", "Get", { group: "", key: "k" }, undefined, grpc.status.INVALID_ARGUMENT, /group/],
        [
          "unknown group",
          "Get",
          { group: "nosuch", key: "k" },
          undefined,
          grpc.status.NOT_FOUND,
          /unknown group/,
        ],
        [
          "a key with a newline is quoted",
          "Get",
          { group: "metrics", key: "a\nb\u0000" },
          undefined,
          grpc.status.NOT_FOUND,
          /^no value for key "a\\nb\\u0000" in group "metrics"$/,
        ],
        [
          "unknown key",
          "Get",
          { group: "metrics", key: "CNF-999" },
          undefined,
          grpc.status.NOT_FOUND,
          /CNF-999/,
        ],
        [
          "Set without a token",
          "Set",
          { group: "metrics", key: "k", value: new Uint8Array([1]) },
          undefined,
          grpc.status.UNAUTHENTICATED,
          /missing token/,
        ],
        [
          "Delete with a wrong token",
          "Delete",
          { group: "metrics", key: "k" },
          auth("nope"),
          grpc.status.UNAUTHENTICATED,
          /wrong token/,
        ],
        [
          "a value over the limit",
          "Set",
          { group: "metrics", key: "k", value: big },
          auth(TOKEN),
          grpc.status.INVALID_ARGUMENT,
          /limit is 1048576/,
        ],
      ];
      for (const [name, method, req, md, code, message] of cases) {
        await t.step(name, async () => {
          const res = await call(client, method, req, md);
          assert.equal(grpc.status[res.code], grpc.status[code], res.details);
          assert.match(res.details, message);
        });
      }
      await t.step("a malformed message", async () => {
        const res = await new Promise<grpc.ServiceError | null>((resolve) =>
          client.makeUnaryRequest(
            "/groupcachepb.GroupCache/Get",
            (b: Buffer) => b,
            (b: Buffer) => b,
            Buffer.from([0x0a, 0x01, 0x61, 0x0f]), // field 1 = "a", then a tag with wire type 7, which does not exist,
            (err) => resolve(err),
          )
        );
        assert.equal(res?.code, grpc.status.INVALID_ARGUMENT);
        assert.match(res!.details, /malformed request message/);
      });
    });

    await t.step("the node still serves after all of that", async () => {
      const res = await call(client, "Get", { group: "metrics", key: "CNF-003" });
      assert.equal(res.code, grpc.status.OK);
      const row = JSON.parse(new TextDecoder().decode(res.res!.value as Uint8Array));
      assert.equal(row.metric_type, "Container CPU Utilization");
      assert.equal((await http("/healthz")).status, 200);
    });
  } finally {
    client.close();
    assert.equal(await node.stop(), 0, node.log());
  }
});

Deno.test("a bad flag or config value exits with status 2 naming the field", async (t) => {
  const run = async (args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-env",
        "--allow-net",
        "--allow-write",
        "--allow-sys",
        "main.ts",
        ...args,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  };
  const dir = await Deno.makeTempDir();
  try {
    await t.step("a port out of range", async () => {
      const r = await run(["--http-port", "70000"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--http-port must be a port number/);
    });
    await t.step("an unknown flag", async () => {
      const r = await run(["--bogus"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /bogus/);
    });
    await t.step("a config value of the wrong type", async () => {
      await Deno.writeTextFile(`${dir}/c.yml`, "groups:\n  metrics:\n    cache_bytes: lots\n");
      const r = await run(["--config", `${dir}/c.yml`]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /groups\.metrics\.cache_bytes must be an integer/);
    });
    const cases: [string, string[], string, RegExp][] = [
      [
        "a database URL of an unknown kind",
        ["--db", "postgres://x"],
        "",
        /--db \/ database\.url: unsupported/,
      ],
      [
        "a MySQL URL without user or database",
        ["--db", "mysql://nohost"],
        "",
        /--db \/ database\.url: MySQL URL/,
      ],
      [
        "an IPv4 address out of range",
        ["--host", "999.1.1.1"],
        "",
        /--host \/ node\.host must be an IP address/,
      ],
      [
        "the same HTTP and gRPC port",
        ["--http-port", "7123", "--grpc-port", "7123"],
        "",
        /node\.http_port and --grpc-port \/ node\.grpc_port must differ/,
      ],
      [
        "an unknown policy",
        [],
        "groups:\n  metrics:\n    policy: bogus\n",
        /groups\.metrics\.policy must be one of lru, sieve, fifo, lfu, tinylfu(, [a-z-]+)* \(got "bogus"\)/,
      ],
      [
        "an unknown field",
        [],
        "etcd:\n  bogus_field: 1\n",
        /etcd\.bogus_field is not a known field; did you mean etcd\.endpoints\?/,
      ],
      [
        "a misspelt group option",
        [],
        "groups:\n  metrics:\n    negative_ttl: 5\n",
        /groups\.metrics\.negative_ttl is not a known field; did you mean groups\.metrics\.negative_ttl_ms\?/,
      ],
    ];
    for (const [name, args, config, message] of cases) {
      await t.step(name, async () => {
        const file = `${dir}/case.yml`;
        await Deno.writeTextFile(file, config);
        const r = await run(config === "" ? args : ["--config", file, ...args]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, message);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
