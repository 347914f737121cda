import assert from "node:assert/strict";
import { type Config, ConfigError, loadConfig, toConfig } from "../src/config.ts";
import { DEFAULT_REPLICAS } from "../src/cache/consistent_hash.ts";

const noEnv = () => undefined;

async function withConfigFile<T>(yaml: string, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/config.yml`, yaml);
    return await fn(`${dir}/config.yml`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the shipped config/config.yml is valid and matches the documented defaults", async () => {
  const c = await loadConfig([], noEnv) as Config;
  assert.equal(c.host, "127.0.0.1");
  assert.equal(c.grpcPort, 9999);
  assert.equal(c.httpPort, 2222);
  assert.equal(c.peers.protocol, "http");
  assert.equal(c.peers.vnodes, DEFAULT_REPLICAS);
  assert.equal(c.database.url, "sqlite:data/distcache.db");
  assert.deepEqual(c.groups.map((g) => g.name), ["metrics"]);
  assert.equal(c.limits.maxKeyBytes, 250);
  assert.equal(c.groups[0].refreshAheadMs, 5000);
  assert.equal(c.groups[0].staleIfErrorMs, 300_000);
  assert.equal(c.limits.maxBatchKeys, 1000);
  assert.equal(c.limits.maxBatchBytes, 8 << 20);
  assert.equal(c.grpc.reflection, true);
});

Deno.test("an empty configuration gets every default, including the metrics group", () => {
  const c = toConfig(null);
  assert.equal(c.httpPort, 2222);
  assert.equal(c.peers.vnodes, DEFAULT_REPLICAS);
  assert.equal(c.groups[0].name, "metrics");
  assert.equal(c.groups[0].ttlMs, 60_000);
  assert.equal(c.groups[0].hotTtlMs, 10_000);
  assert.equal(c.groups[0].policy, "tinylfu");
  assert.equal(c.groups[0].refreshAheadMs, 0, "refresh-ahead depends on ttl_ms, so it is off unless set");
  assert.equal(c.groups[0].staleIfErrorMs, 300_000, "stale-if-error is on unless set to 0");
  assert.equal(c.limits.maxBatchKeys, 1000);
  assert.equal(c.shutdownTimeoutMs, 5000);
  assert.equal(c.grpc.reflection, true);
  assert.equal(toConfig({ grpc: { reflection: false } }).grpc.reflection, false);
});

Deno.test("flags override the file and the environment supplies the token", async () => {
  await withConfigFile("node: { http_port: 1 }\npeers: { token: from-file }\n", async (path) => {
    const c = await loadConfig([
      "--config",
      path,
      "--http-port",
      "3000",
      "--grpc-port",
      "3001",
      "--host",
      "127.0.0.2",
      "--peers",
      "http://127.0.0.1:3002/, http://127.0.0.1:3003",
      "--etcd",
      "127.0.0.1:2379,127.0.0.1:22379",
      "--db",
      "sqlite::memory:",
      "--peer-protocol",
      "grpc",
    ], (name) => name === "DISTCACHE_PEER_TOKEN" ? "from-env" : undefined) as Config;
    assert.equal(c.httpPort, 3000);
    assert.equal(c.grpcPort, 3001);
    assert.equal(c.host, "127.0.0.2");
    assert.deepEqual(c.peers.static, [{ http: "http://127.0.0.1:3002" }, { http: "http://127.0.0.1:3003" }]);
    assert.deepEqual(c.etcd.endpoints, ["127.0.0.1:2379", "127.0.0.1:22379"]);
    assert.equal(c.database.url, "sqlite::memory:");
    assert.equal(c.peers.protocol, "grpc");
    assert.equal(c.peers.token, "from-env");
    const flagged = await loadConfig(["--config", path, "--peer-token", "from-flag"], () => "from-env");
    assert.equal((flagged as Config).peers.token, "from-flag");
    assert.equal((flagged as Config).peers.tokenField, "--peer-token");
  });
});

Deno.test("a numeric token in the file is refused without being echoed", () => {
  assert.throws(() => toConfig({ peers: { token: 987654321 } }), (e: unknown) => {
    assert.ok(e instanceof ConfigError && !e.message.includes("987654321"), String(e));
    return true;
  });
});

Deno.test("DISTCACHE_PEER_TOKEN and --peer-token may list several tokens: the first is sent", async () => {
  await withConfigFile("peers: { token: from-file, tokens: [also-file] }\n", async (path) => {
    const env = (name: string) => name === "DISTCACHE_PEER_TOKEN" ? "new-token, old-token" : undefined;
    const c = await loadConfig(["--config", path], env) as Config;
    assert.equal(c.peers.token, "new-token");
    assert.equal(c.peers.tokenField, "DISTCACHE_PEER_TOKEN");
    assert.deepEqual(c.peers.tokens.map((t) => t.token), ["old-token", "also-file"]);
  });
});

Deno.test("a malformed database URL is named without its password", async () => {
  await assert.rejects(
    loadConfig(["--db", "mysq://app:hunter2-secret@h:3306/db"], noEnv),
    (e: unknown) =>
      e instanceof ConfigError && /app:\*\*\*@h/.test(e.message) && !e.message.includes("hunter2"),
  );
});

Deno.test("--help asks for the usage text", async () => {
  assert.equal(await loadConfig(["--help"], noEnv), "help");
});

Deno.test("a wrong configuration value names its field and what was expected", async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ["a document that is not a mapping", [1, 2], /the configuration must be a mapping/],
    ["a section that is not a mapping", { node: 5 }, /node must be a mapping/],
    [
      "a port out of range",
      { node: { http_port: 70000 } },
      /node\.http_port must be an integer from 0 to 65535/,
    ],
    ["a port of the wrong type", { node: { grpc_port: "x" } }, /node\.grpc_port must be an integer/],
    ["an unknown peer protocol", { peers: { protocol: "udp" } }, /peers\.protocol must be "http" or "grpc"/],
    ["a peer that is not a URL", { peers: { static: ["nope"] } }, /peers\.static\[0\] must be an http/],
    ["a peer URL with a path", { peers: { static: ["http://h:1/x"] } }, /without a path/],
    [
      "a peer of the wrong shape",
      { peers: { static: [5] } },
      /peers\.static\[0\] must be a URL or \{ http, grpc \}/,
    ],
    [
      "a peer gRPC address without a port",
      { peers: { static: [{ http: "http://h:1", grpc: "h" }] } },
      /peers\.static\[0\]\.grpc must be host:port/,
    ],
    ["a peer list that is not a list", { peers: { static: "http://h:1" } }, /peers\.static must be a list/],
    ["a token that is not a string", { peers: { token: 5 } }, /peers\.token must be a string/],
    ["a token list of numbers", { peers: { tokens: ["a", 123456] } }, /peers\.tokens\[1\] must be a string/],
    ["a token file that is not a path", { peers: { token_file: 5 } }, /peers\.token_file must be a string/],
    [
      "reads_require_token not a boolean",
      { auth: { reads_require_token: "yes" } },
      /auth\.reads_require_token/,
    ],
    ["clients not a list", { auth: { clients: {} } }, /auth\.clients must be a list/],
    [
      "a client without a name",
      { auth: { clients: [{ scopes: ["read"], token: "t" }] } },
      /auth\.clients\[0\]\.name/,
    ],
    [
      "a client called peer",
      { auth: { clients: [{ name: "peer", scopes: ["read"], token: "t" }] } },
      /auth\.clients\[0\]\.name "peer" is taken/,
    ],
    [
      "two clients of one name",
      {
        auth: {
          clients: [{ name: "a", scopes: ["read"], token: "t" }, { name: "a", scopes: ["read"], token: "u" }],
        },
      },
      /auth\.clients\[1\]\.name "a" is taken/,
    ],
    [
      "an unknown scope",
      { auth: { clients: [{ name: "a", scopes: ["admin"], token: "t" }] } },
      /auth\.clients\[0\]\.scopes must be a non-empty list of read, write/,
    ],
    [
      "no scope",
      { auth: { clients: [{ name: "a", scopes: [], token: "t" }] } },
      /auth\.clients\[0\]\.scopes/,
    ],
    [
      "a client without a token",
      { auth: { clients: [{ name: "a", scopes: ["read"] }] } },
      /needs token, tokens or token_file/,
    ],
    [
      "a negative reload interval",
      { auth: { reload_interval_ms: -1 } },
      /auth\.reload_interval_ms must be an integer/,
    ],
    ["a zero timeout", { peers: { timeout_ms: 0 } }, /peers\.timeout_ms must be an integer from 1/],
    [
      "an etcd endpoint without a port",
      { etcd: { endpoints: ["h"] } },
      /etcd\.endpoints\[0\] must be host:port/,
    ],
    ["a bad group name", { groups: { "a/b": {} } }, /groups\.a\/b: a group name must be/],
    [
      "a tiny cache",
      { groups: { metrics: { cache_bytes: 10 } } },
      /groups\.metrics\.cache_bytes must be an integer/,
    ],
    [
      "a hot fraction of 1",
      { groups: { metrics: { hot_cache_fraction: 1 } } },
      /groups\.metrics\.hot_cache_fraction must be a number from 0 to below 1/,
    ],
    ["a negative TTL", { groups: { metrics: { ttl_ms: -1 } } }, /groups\.metrics\.ttl_ms must be an integer/],
    [
      "a zero hot-copy TTL",
      { groups: { metrics: { hot_ttl_ms: 0 } } },
      /groups\.metrics\.hot_ttl_ms must be an integer from 1/,
    ],
    ["a zero key limit", { limits: { max_key_bytes: 0 } }, /limits\.max_key_bytes must be an integer/],
    [
      "a refresh window as long as the ttl",
      { groups: { metrics: { ttl_ms: 1000, refresh_ahead_ms: 1000 } } },
      /groups\.metrics\.refresh_ahead_ms must be less than groups\.metrics\.ttl_ms/,
    ],
    [
      "a negative stale window",
      { groups: { metrics: { stale_if_error_ms: -1 } } },
      /groups\.metrics\.stale_if_error_ms must be an integer/,
    ],
    ["a zero batch limit", { limits: { max_batch_keys: 0 } }, /limits\.max_batch_keys must be an integer/],
    ["a batch byte limit of text", { limits: { max_batch_bytes: "8M" } }, /limits\.max_batch_bytes must be/],
    [
      "a misspelt reflection switch",
      { grpc: { reflectoin: false } },
      /grpc\.reflectoin is not a known field.*reflection/,
    ],
    [
      "reflection that is not a boolean",
      { grpc: { reflection: "yes" } },
      /grpc\.reflection must be true or false/,
    ],
    ["a certificate without its key", { tls: { cert_file: "c.pem" } }, /tls\.cert_file and tls\.key_file/],
    [
      "a client CA without a certificate",
      { tls: { client_ca_file: "ca.pem" } },
      /tls\.client_ca_file needs tls\.cert_file and tls\.key_file/,
    ],
    [
      "an unknown policy",
      { groups: { metrics: { policy: "bogus" } } },
      /groups\.metrics\.policy must be one of lru, sieve, fifo, lfu, tinylfu(, [a-z-]+)* \(got "bogus"\)/,
    ],
    [
      "an unknown field in a section",
      { etcd: { bogus_field: 1 } },
      /^etcd\.bogus_field is not a known field; did you mean etcd\.endpoints\? \(known: endpoints, lease_ttl_s\)$/,
    ],
    [
      "a misspelt group option",
      { groups: { metrics: { ttl: 5 } } },
      /^groups\.metrics\.ttl is not a known field; did you mean groups\.metrics\.ttl_ms\?/,
    ],
    [
      "a misspelt section",
      { datbase: { url: "x" } },
      /^datbase is not a known field; did you mean database\?/,
    ],
    ["a key with a newline", { node: { "a\nb": 1 } }, /^node\.a\\nb is not a known field/],
    ["a group name with a newline", { groups: { "a\nb": {} } }, /^groups\.a\\nb: a group name must be/],
  ];
  for (const [name, doc, message] of cases) {
    await t.step(name, () => {
      assert.throws(() => toConfig(doc), (e: unknown) => e instanceof ConfigError && message.test(e.message));
    });
  }
});

Deno.test("a wrong flag or file names the flag", async (t) => {
  const cases: [string, string[], RegExp][] = [
    ["an unknown flag", ["--nope"], /Unknown option '--nope'/],
    ["a positional argument", ["extra"], /extra/],
    ["a port that is not a number", ["--grpc-port", "http"], /--grpc-port must be a port number/],
    ["a peer that is not a URL", ["--peers", "h:1"], /--peers must be an http/],
    ["an etcd endpoint without a port", ["--etcd", "h"], /--etcd must be host:port/],
    ["an unknown peer protocol", ["--peer-protocol", "udp"], /--peer-protocol must be http or grpc/],
    [
      "a database URL of another kind",
      ["--db", "postgres://h/db"],
      /--db \/ database\.url: unsupported database URL "postgres:\/\/h\/db"; expected sqlite:/,
    ],
    [
      "a MySQL URL without a user or a database",
      ["--db", "mysql://nohost"],
      /--db \/ database\.url: MySQL URL "mysql:\/\/nohost" needs a user, a host and a database/,
    ],
    [
      "a MySQL URL hides its password in the message",
      ["--db", "mysql://u:secret@h"],
      /MySQL URL "mysql:\/\/u:\*\*\*@h" needs/,
    ],
    ["an IPv4 address out of range", ["--host", "999.1.1.1"], /--host \/ node\.host must be an IP address/],
    [
      "the same HTTP and gRPC port",
      ["--http-port", "7000", "--grpc-port", "7000"],
      /--http-port \/ node\.http_port and --grpc-port \/ node\.grpc_port must differ \(both 7000\)/,
    ],
    ["a host with a slash", ["--host", "a/b"], /--host \/ node\.host must be an IP address or host name/],
    [
      "a file that does not exist",
      ["--config", "/nonexistent/c.yml"],
      /--config: cannot read \/nonexistent\/c\.yml/,
    ],
  ];
  for (const [name, args, message] of cases) {
    await t.step(name, async () => {
      await assert.rejects(
        loadConfig(args, noEnv),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
      );
    });
  }
  await t.step("a file that is not YAML", async () => {
    await withConfigFile("node: [unclosed\n", async (path) => {
      await assert.rejects(
        loadConfig(["--config", path], noEnv),
        (e: unknown) => e instanceof ConfigError && /is not valid YAML/.test(e.message),
      );
    });
  });
});

Deno.test("TLS with the gRPC peer protocol is refused, naming the reason", async () => {
  await withConfigFile("tls:\n  cert_file: c.pem\n  key_file: k.pem\n", async (path) => {
    await assert.rejects(
      loadConfig(["--config", path, "--peer-protocol", "grpc"], noEnv),
      (e: unknown) =>
        e instanceof ConfigError && /peers\.protocol must be http when TLS is configured/.test(e.message),
    );
    const c = await loadConfig(["--config", path], noEnv) as Config;
    assert.deepEqual(c.tls, { certFile: "c.pem", keyFile: "k.pem", caFile: "", clientCaFile: "" });
  });
});
