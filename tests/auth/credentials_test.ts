import assert from "node:assert/strict";
import {
  type AuthConfig,
  authConfig,
  Credentials,
  DEV_TOKEN,
  isLoopback,
} from "../../src/auth/credentials.ts";
import { ConfigError, toConfig } from "../../src/config.ts";

const peer = (token: string, field = "peers.token") => ({ token, field });

function config(overrides: Partial<AuthConfig> = {}): AuthConfig {
  return { peerTokens: [], peerTokenFile: "", clients: [], readsRequireToken: false, ...overrides };
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "distcache-auth-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("peer tokens: the first is sent, every one is let in as client peer with both scopes", async () => {
  const c = await Credentials.load(
    config({ peerTokens: [peer("old-token"), peer("new-token")] }),
    "127.0.0.1",
  );
  assert.equal(c.sendToken, "old-token");
  for (const token of ["old-token", "new-token"]) {
    assert.equal(c.authorize(`Bearer ${token}`, "write"), "peer");
    assert.equal(c.authorize(`bearer ${token}`, "read"), "peer");
  }
  assert.deepEqual(c.counts(), { peer: 2, client: 0 });
});

Deno.test("client tokens carry their name and scopes; refusals say why and never show a token", async () => {
  const c = await Credentials.load(
    config({
      peerTokens: [peer("peer-secret-1")],
      clients: [
        {
          name: "reader",
          scopes: ["read"],
          tokens: [peer("reader-secret", "auth.clients[0].token")],
          tokenFile: "",
        },
        {
          name: "ingest",
          scopes: ["read", "write"],
          tokens: [peer("ingest-a", "x"), peer("ingest-b", "y")],
          tokenFile: "",
        },
      ],
    }),
    "127.0.0.1",
  );
  assert.equal(c.authorize("Bearer ingest-b", "write"), "ingest");
  assert.equal(c.authorize("Bearer reader-secret", "read"), "reader");
  const cases: [string | undefined, string][] = [
    [undefined, "missing"],
    ["", "missing"],
    ["Bearer ", "missing"],
    ["Basic cmVhZGVyLXNlY3JldA==", "malformed"],
    ["Bearer reader-secre", "wrong"],
    ["Bearer reader-secret-", "wrong"],
    ["Bearer Reader-secret", "wrong"],
    ["Bearer reader-secret", "scope"],
  ];
  for (const [value, reason] of cases) {
    const r = c.authorize(value, "write");
    assert.ok(typeof r !== "string", `${value} must be refused`);
    assert.equal(r.reason, reason, String(value));
    for (const secret of ["reader-secret", "ingest-a", "ingest-b", "peer-secret-1"]) {
      assert.ok(!r.message.includes(secret), r.message);
    }
  }
  assert.deepEqual(c.clientNames(), ["peer", "reader", "ingest"]);
});

Deno.test("with no token at all every guarded request is refused as disabled", async () => {
  const c = await Credentials.load(config(), "127.0.0.1");
  const r = c.authorize("Bearer anything", "write");
  assert.ok(typeof r !== "string" && r.reason === "disabled" && /writes are disabled/.test(r.message));
});

Deno.test("the development token is refused off loopback, naming the field it came from", async () => {
  await Credentials.load(config({ peerTokens: [peer(DEV_TOKEN)] }), "127.0.0.1");
  await Credentials.load(config({ peerTokens: [peer(DEV_TOKEN)] }), "localhost");
  await assert.rejects(
    Credentials.load(
      config({ peerTokens: [peer("fine"), peer(DEV_TOKEN, "DISTCACHE_PEER_TOKEN (token 2)")] }),
      "10.1.2.3",
    ),
    (e) =>
      e instanceof ConfigError &&
      /^DISTCACHE_PEER_TOKEN \(token 2\) is the development token/.test(e.message),
  );
  assert.ok(isLoopback("127.0.0.1") && isLoopback("[::1]") && isLoopback("127.9.8.7"));
  assert.ok(!isLoopback("0.0.0.0") && !isLoopback("10.213.7.1") && !isLoopback("128.0.0.1"));
});

Deno.test("one token given to two clients, or a malformed token, is a ConfigError that hides the token", async () => {
  const twice = config({
    peerTokens: [peer("shared-secret")],
    clients: [{
      name: "a",
      scopes: ["read"],
      tokens: [peer("shared-secret", "auth.clients[0].token")],
      tokenFile: "",
    }],
  });
  await assert.rejects(Credentials.load(twice, "127.0.0.1"), (e) => {
    assert.ok(e instanceof ConfigError && /auth\.clients\[0\]\.token: the same token/.test(e.message));
    assert.ok(!e.message.includes("shared-secret"));
    return true;
  });
  await assert.rejects(
    Credentials.load(config({ peerTokens: [peer("has space")] }), "127.0.0.1"),
    (e) =>
      e instanceof ConfigError && /peers\.token must be printable ASCII/.test(e.message) &&
      !/has space/.test(e.message),
  );
});

Deno.test("token files: comments and blank lines skipped, reload swaps tokens, a bad file keeps the old ones", async () => {
  await withDir(async (dir) => {
    const file = `${dir}/peer`;
    await Deno.writeTextFile(file, "# rotation: old first\nold-file-token\n\nnew-file-token\n");
    const c = await Credentials.load(config({ peerTokenFile: file }), "127.0.0.1");
    assert.equal(c.sendToken, "old-file-token");
    assert.equal(c.authorize("Bearer new-file-token", "write"), "peer");
    assert.equal(await c.reload(), false, "an unchanged file changes nothing");

    await Deno.writeTextFile(file, "new-file-token\n");
    assert.equal(await c.reload(), true);
    assert.equal(c.sendToken, "new-file-token");
    assert.equal(typeof c.authorize("Bearer old-file-token", "write"), "object", "the old token is refused");

    for (const broken of ["", "# nothing\n", "bad token\n"]) {
      await Deno.writeTextFile(file, broken);
      await assert.rejects(c.reload(), ConfigError);
      assert.equal(
        c.authorize("Bearer new-file-token", "write"),
        "peer",
        `still in force after ${JSON.stringify(broken)}`,
      );
    }
    await Deno.remove(file);
    await assert.rejects(
      c.reload(),
      (e) => e instanceof ConfigError && /peers\.token_file: cannot read/.test(e.message),
    );
    assert.equal(c.sendToken, "new-file-token");
  });
});

Deno.test("authConfig puts peers.token first, then peers.tokens, and reads the auth section", () => {
  const c = toConfig({
    peers: { token: "first-token", tokens: ["second-token"] },
    auth: {
      reads_require_token: true,
      clients: [{ name: "ops", scopes: ["read", "write"], token: "ops-token", tokens: ["ops-next"] }],
    },
  });
  const a = authConfig(c);
  assert.deepEqual(a.peerTokens, [
    { token: "first-token", field: "peers.token" },
    { token: "second-token", field: "peers.tokens[0]" },
  ]);
  assert.equal(a.readsRequireToken, true);
  assert.deepEqual(a.clients[0].tokens.map((t) => t.field), [
    "auth.clients[0].token",
    "auth.clients[0].tokens[0]",
  ]);
});
