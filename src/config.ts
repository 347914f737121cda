/**
 * Node configuration: `config/config.yml` read with YAML, validated field by field, then overridden by
 * the command-line flags of main.ts. Every error names the field and what was expected.
 * @module
 */
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { DEFAULT_REPLICAS } from "./cache/consistent_hash.ts";
import { policies } from "./cache/policies.ts";
import { parseDatabaseUrl } from "./cnf/database_url.ts";
import { type Level, LEVELS } from "./log.ts";

/** A static peer: its HTTP base URL and, when known, its gRPC address. */
export interface PeerAddress {
  http: string;
  grpc?: string;
}

/** One cache group. The group named "metrics" reads the CNF database; others hold only what is set. */
export interface GroupConfig {
  name: string;
  cacheBytes: number;
  hotCacheFraction: number;
  ttlMs: number;
  negativeTtlMs: number;
  /** A read this close to expiry reloads the value in the background; 0 disables it. */
  refreshAheadMs: number;
  /** How long past expiry a value answers, marked stale, when its reload fails; 0 disables it. */
  staleIfErrorMs: number;
  /** How long a copy of another node's key may be served here; bounds staleness after a write. */
  hotTtlMs: number;
  policy: string;
  /** Share of `ttlMs` by which each loaded value's lifetime is shortened at random, 0 to below 1. */
  ttlJitter: number;
  /**
   * The penetration guard: a Bloom filter of the keys the source has, rebuilt every `refreshMs`; absent
   * when off. Only a source that can list its keys (the `metrics` group's) has one.
   */
  keyFilter?: { falsePositiveRate: number; refreshMs: number };
}

/** What a client token allows: reading (GET, gRPC Get, ShowCnfMetric, ...) or writing. */
export type Scope = "read" | "write";

/** The scopes a client may be given. */
export const SCOPES: readonly Scope[] = ["read", "write"];

/** A token and the field (or flag, or variable) it came from, so an error can name where to fix it. */
export interface SourcedToken {
  token: string;
  field: string;
}

/** A client allowed in by its own tokens: `auth.clients[i]`. */
export interface ClientConfig {
  /** Names the client in logs and metrics (never the token). */
  name: string;
  scopes: Scope[];
  /** From `token` and `tokens`. */
  tokens: SourcedToken[];
  /** A file of more tokens, one per line, re-read on SIGHUP and when it changes; "" for none. */
  tokenFile: string;
}

/** The `auth` section. */
export interface AuthSection {
  /** When true, reads need a peer token or a client token with the read scope. */
  readsRequireToken: boolean;
  /** How often token files are read for changes, in milliseconds; 0 leaves reloads to SIGHUP. */
  reloadIntervalMs: number;
  clients: ClientConfig[];
}

/** A validated node configuration. */
export interface Config {
  host: string;
  grpcPort: number;
  httpPort: number;
  peers: {
    protocol: "http" | "grpc";
    static: PeerAddress[];
    /**
     * The first peer token, the one this node sends (unless empty: then the first of `tokens`, then of
     * `tokenFile`). From `peers.token`, or `--peer-token` / DISTCACHE_PEER_TOKEN.
     */
    token: string;
    /** Where `token` came from: "peers.token", "--peer-token" or "DISTCACHE_PEER_TOKEN". */
    tokenField: string;
    /** More peer tokens accepted (and sent when `token` is empty). */
    tokens: SourcedToken[];
    /** A file of more peer tokens, one per line, re-read on SIGHUP and when it changes; "" for none. */
    tokenFile: string;
    timeoutMs: number;
    vnodes: number;
  };
  etcd: { endpoints: string[]; leaseTtlS: number };
  /** `timeoutMs`: longest wait for one database operation (MySQL), connection included. */
  database: { url: string; timeoutMs: number };
  groups: GroupConfig[];
  /** `maxConcurrentLoads`: database loads one node runs at once; more wait up to database.timeout_ms. */
  limits: {
    maxKeyBytes: number;
    maxValueBytes: number;
    maxConcurrentLoads: number;
    /** Keys per batch read. */
    maxBatchKeys: number;
    /** Value bytes per batch answer. */
    maxBatchBytes: number;
  };
  shutdownTimeoutMs: number;
  /** The lowest log level written. */
  log: { level: Level };
  /** `reflection`: whether the gRPC server answers server reflection (lists services, sends descriptors). */
  grpc: { reflection: boolean };
  /**
   * PEM files. With `certFile` and `keyFile` both servers speak TLS; with `caFile` this node verifies its
   * peers' certificates against that CA (else against the system's roots). With `clientCaFile` (mutual
   * TLS) both servers also require a client certificate signed by that CA, and this node presents its own
   * certificate to its peers. Empty strings: off.
   */
  tls: { certFile: string; keyFile: string; caFile: string; clientCaFile: string };
  auth: AuthSection;
}

/** A configuration value or flag that is wrong; the message names it. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Obj = Record<string, unknown>;

/**
 * The fields each section of the configuration file may hold, by section. `groups` holds groups by name
 * (any name), each with the fields listed under `group` (and `key_filter` within it); each entry of
 * `auth.clients` has the fields of `auth_client`. A field not listed here is refused, naming the nearest
 * known one, so that a misspelt option is an error instead of a default silently used. A new option is
 * listed here and read in {@linkcode toConfig}.
 */
export const CONFIG_FIELDS: Record<string, string[]> = {
  node: ["host", "grpc_port", "http_port"],
  peers: ["protocol", "static", "token", "tokens", "token_file", "timeout_ms", "vnodes"],
  etcd: ["endpoints", "lease_ttl_s"],
  database: ["url", "timeout_ms"],
  groups: [],
  group: [
    "cache_bytes",
    "hot_cache_fraction",
    "ttl_ms",
    "negative_ttl_ms",
    "policy",
    "ttl_jitter",
    "key_filter",
    "refresh_ahead_ms",
    "stale_if_error_ms",
    "hot_ttl_ms",
  ],
  key_filter: ["enabled", "false_positive_rate", "refresh_ms"],
  limits: ["max_key_bytes", "max_value_bytes", "max_concurrent_loads", "max_batch_keys", "max_batch_bytes"],
  server: ["shutdown_timeout_ms"],
  log: ["level"],
  grpc: ["reflection"],
  tls: ["cert_file", "key_file", "ca_file", "client_ca_file"],
  auth: ["reads_require_token", "reload_interval_ms", "clients"],
  auth_client: ["name", "scopes", "token", "tokens", "token_file"],
};

/** Sections found inside another section rather than at the top: a group, its key filter, a client. */
const NESTED_SECTIONS = ["group", "key_filter", "auth_client"];

/** The top-level sections: the keys of {@linkcode CONFIG_FIELDS} but the nested ones. */
function topLevelSections(): string[] {
  return Object.keys(CONFIG_FIELDS).filter((k) => !NESTED_SECTIONS.includes(k));
}

/** Levenshtein distance: the fewest single-character edits from `a` to `b`. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/** Refuses a key of `o` that is not in `known`, naming it (under `prefix`) and the nearest known key. */
function onlyKnown(o: Obj, known: readonly string[], prefix: string): void {
  for (const key of Object.keys(o)) {
    if (known.includes(key)) continue;
    const nearest = [...known].sort((x, y) => editDistance(key, x) - editDistance(key, y))[0];
    const hint = nearest === undefined ? "" : `; did you mean ${prefix}${nearest}?`;
    throw new ConfigError(
      `${prefix}${JSON.stringify(key).slice(1, -1)} is not a known field${hint} (known: ${known.join(", ")})`,
    );
  }
}

function describe(v: unknown): string {
  return v === undefined ? "nothing" : JSON.stringify(v);
}

/**
 * Reads the mapping `root[key]` (absent: empty), refusing fields `fields` does not list.
 * `field` names the mapping in messages (default `key`).
 */
function section(root: Obj, key: string, fields?: readonly string[], field = key): Obj {
  const v = root[key];
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) {
    throw new ConfigError(`${field} must be a mapping (got ${describe(v)})`);
  }
  if (fields) onlyKnown(v as Obj, fields, `${field}.`);
  return v as Obj;
}

function int(o: Obj, key: string, field: string, fallback: number, min: number, max: number): number {
  const v = o[key] ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`${field} must be an integer from ${min} to ${max} (got ${describe(v)})`);
  }
  return v;
}

function str(o: Obj, key: string, field: string, fallback: string): string {
  const v = o[key] ?? fallback;
  if (typeof v !== "string") throw new ConfigError(`${field} must be a string (got ${describe(v)})`);
  return v;
}

/** A secret string: its value is never echoed in an error (a YAML number would be). */
function secret(o: Obj, key: string, field: string, fallback: string): string {
  const v = o[key] ?? fallback;
  if (typeof v !== "string") throw new ConfigError(`${field} must be a string (quote it in YAML; not shown)`);
  return v;
}

function secrets(o: Obj, key: string, field: string): string[] {
  return list(o, key, field).map((v, i) => secret({ v }, "v", `${field}[${i}]`, ""));
}

function bool(o: Obj, key: string, field: string, fallback: boolean): boolean {
  const v = o[key] ?? fallback;
  if (typeof v !== "boolean") throw new ConfigError(`${field} must be true or false (got ${describe(v)})`);
  return v;
}

function port(o: Obj, key: string, field: string, fallback: number): number {
  return int(o, key, field, fallback, 0, 65535);
}

/** Checks `host:port` and returns it. */
export function checkHostPort(v: string, field: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535 || Number(m[2]) === 0) {
    throw new ConfigError(`${field} must be host:port (got ${describe(v)})`);
  }
  return v;
}

/** Checks an http(s) base URL and returns it without a trailing slash. */
export function checkHttpUrl(v: unknown, field: string): string {
  let url: URL;
  try {
    if (typeof v !== "string") throw new Error();
    url = new URL(v);
  } catch {
    throw new ConfigError(`${field} must be an http://host:port URL (got ${describe(v)})`);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.pathname !== "/" || url.search) {
    throw new ConfigError(`${field} must be an http://host:port URL without a path (got ${describe(v)})`);
  }
  return url.origin;
}

function peerAddress(v: unknown, field: string): PeerAddress {
  if (typeof v === "string") return { http: checkHttpUrl(v, field) };
  if (v && typeof v === "object" && !Array.isArray(v)) {
    const o = v as Obj;
    const http = checkHttpUrl(o.http, `${field}.http`);
    if (o.grpc === undefined) return { http };
    return { http, grpc: checkHostPort(str(o, "grpc", `${field}.grpc`, ""), `${field}.grpc`) };
  }
  throw new ConfigError(`${field} must be a URL or { http, grpc } (got ${describe(v)})`);
}

function list(o: Obj, key: string, field: string): unknown[] {
  const v = o[key] ?? [];
  if (!Array.isArray(v)) throw new ConfigError(`${field} must be a list (got ${describe(v)})`);
  return v;
}

const GROUP_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Stale-if-error is on unless configured off: an expired value answers, marked stale, for up to five
 * minutes while the source fails, since telemetry a few minutes old serves a dashboard better than an
 * error does, and the mark lets a client that needs fresh data refuse it.
 */
const DEFAULT_STALE_IF_ERROR_MS = 300_000;

function policy(v: string, field: string): string {
  if (!Object.hasOwn(policies, v)) {
    throw new ConfigError(`${field} must be one of ${Object.keys(policies).join(", ")} (got ${describe(v)})`);
  }
  return v;
}

function groups(o: Obj): GroupConfig[] {
  const out: GroupConfig[] = [];
  for (const name of Object.keys(o)) {
    // JSON-escaped, so a name holding a newline cannot split the message.
    const f = `groups.${JSON.stringify(name).slice(1, -1)}`;
    if (!GROUP_NAME.test(name)) {
      throw new ConfigError(`${f}: a group name must be 1-64 characters of A-Z a-z 0-9 . _ -`);
    }
    const g = section(o, name, CONFIG_FIELDS.group, f);
    const hot = g.hot_cache_fraction ?? 0.125;
    if (typeof hot !== "number" || !(hot >= 0 && hot < 1)) {
      throw new ConfigError(
        `${f}.hot_cache_fraction must be a number from 0 to below 1 (got ${describe(hot)})`,
      );
    }
    const jitter = g.ttl_jitter ?? 0.1;
    if (typeof jitter !== "number" || !(jitter >= 0 && jitter < 1)) {
      throw new ConfigError(`${f}.ttl_jitter must be a number from 0 to below 1 (got ${describe(jitter)})`);
    }
    const ttlMs = int(g, "ttl_ms", `${f}.ttl_ms`, 60_000, 0, Number.MAX_SAFE_INTEGER);
    const refreshAheadMs = int(g, "refresh_ahead_ms", `${f}.refresh_ahead_ms`, 0, 0, Number.MAX_SAFE_INTEGER);
    if (refreshAheadMs > 0 && refreshAheadMs >= ttlMs) {
      // Every read would fall in the window, so every read would reload.
      throw new ConfigError(
        `${f}.refresh_ahead_ms must be less than ${f}.ttl_ms (got ${refreshAheadMs} with ttl_ms ${ttlMs}); ` +
          `0 disables it`,
      );
    }
    out.push({
      name,
      cacheBytes: int(g, "cache_bytes", `${f}.cache_bytes`, 64 << 20, 1024, Number.MAX_SAFE_INTEGER),
      hotCacheFraction: hot,
      ttlMs,
      negativeTtlMs: int(g, "negative_ttl_ms", `${f}.negative_ttl_ms`, 5_000, 0, Number.MAX_SAFE_INTEGER),
      refreshAheadMs,
      staleIfErrorMs: int(
        g,
        "stale_if_error_ms",
        `${f}.stale_if_error_ms`,
        DEFAULT_STALE_IF_ERROR_MS,
        0,
        Number.MAX_SAFE_INTEGER,
      ),
      hotTtlMs: int(g, "hot_ttl_ms", `${f}.hot_ttl_ms`, 10_000, 1, Number.MAX_SAFE_INTEGER),
      policy: policy(str(g, "policy", `${f}.policy`, "tinylfu"), `${f}.policy`),
      ttlJitter: jitter,
      keyFilter: keyFilter(g, name, f),
    });
  }
  return out;
}

/** The group whose source (the CNF table) can list its keys, and so have a key filter. */
const LISTABLE_GROUP = "metrics";

function keyFilter(g: Obj, name: string, f: string): GroupConfig["keyFilter"] {
  const k = section(g, "key_filter", CONFIG_FIELDS.key_filter, `${f}.key_filter`);
  const enabled = k.enabled ?? name === LISTABLE_GROUP;
  if (typeof enabled !== "boolean") {
    throw new ConfigError(`${f}.key_filter.enabled must be true or false (got ${describe(enabled)})`);
  }
  if (!enabled) return undefined;
  if (name !== LISTABLE_GROUP) {
    throw new ConfigError(
      `${f}.key_filter: only the ${LISTABLE_GROUP} group's source can list its keys; remove key_filter here`,
    );
  }
  const rate = k.false_positive_rate ?? 0.01;
  if (typeof rate !== "number" || !(rate >= 0.0001 && rate <= 0.5)) {
    throw new ConfigError(
      `${f}.key_filter.false_positive_rate must be a number from 0.0001 to 0.5 (got ${describe(rate)})`,
    );
  }
  return {
    falsePositiveRate: rate,
    refreshMs: int(k, "refresh_ms", `${f}.key_filter.refresh_ms`, 60_000, 1000, 24 * 3600_000),
  };
}

/**
 * Validates a parsed YAML document into a {@linkcode Config}.
 *
 * @param doc The document (an object; null or undefined is an empty configuration).
 * @returns The configuration with defaults filled in.
 * @throws {ConfigError} naming the first wrong field.
 */
export function toConfig(doc: unknown): Config {
  if (doc !== null && doc !== undefined && (typeof doc !== "object" || Array.isArray(doc))) {
    throw new ConfigError(`the configuration must be a mapping (got ${describe(doc)})`);
  }
  const root = (doc ?? {}) as Obj;
  onlyKnown(root, topLevelSections(), "");
  const node = section(root, "node", CONFIG_FIELDS.node);
  const peers = section(root, "peers", CONFIG_FIELDS.peers);
  const etcd = section(root, "etcd", CONFIG_FIELDS.etcd);
  const database = section(root, "database", CONFIG_FIELDS.database);
  const limits = section(root, "limits", CONFIG_FIELDS.limits);
  const server = section(root, "server", CONFIG_FIELDS.server);
  const logLevel = level(
    str(section(root, "log", CONFIG_FIELDS.log), "level", "log.level", "info"),
    "log.level",
  );
  const protocol = str(peers, "protocol", "peers.protocol", "http");
  if (protocol !== "http" && protocol !== "grpc") {
    throw new ConfigError(`peers.protocol must be "http" or "grpc" (got ${describe(protocol)})`);
  }
  const groupList = groups(section(root, "groups"));
  if (groupList.length === 0) groupList.push(...groups({ metrics: {} }));
  return {
    host: str(node, "host", "node.host", "127.0.0.1"),
    grpcPort: port(node, "grpc_port", "node.grpc_port", 9999),
    httpPort: port(node, "http_port", "node.http_port", 2222),
    peers: {
      protocol,
      static: list(peers, "static", "peers.static").map((p, i) => peerAddress(p, `peers.static[${i}]`)),
      token: secret(peers, "token", "peers.token", ""),
      tokenField: "peers.token",
      tokens: secrets(peers, "tokens", "peers.tokens").map((token, i) => ({
        token,
        field: `peers.tokens[${i}]`,
      })),
      tokenFile: str(peers, "token_file", "peers.token_file", ""),
      timeoutMs: int(peers, "timeout_ms", "peers.timeout_ms", 1000, 1, 600_000),
      vnodes: int(peers, "vnodes", "peers.vnodes", DEFAULT_REPLICAS, 1, 10_000),
    },
    etcd: {
      endpoints: list(etcd, "endpoints", "etcd.endpoints").map((e, i) =>
        checkHostPort(String(e), `etcd.endpoints[${i}]`)
      ),
      leaseTtlS: int(etcd, "lease_ttl_s", "etcd.lease_ttl_s", 5, 1, 3600),
    },
    database: {
      url: str(database, "url", "database.url", "sqlite:data/distcache.db"),
      timeoutMs: int(database, "timeout_ms", "database.timeout_ms", 2000, 1, 600_000),
    },
    groups: groupList,
    limits: {
      maxKeyBytes: int(limits, "max_key_bytes", "limits.max_key_bytes", 250, 1, 65_536),
      maxValueBytes: int(limits, "max_value_bytes", "limits.max_value_bytes", 1 << 20, 1, 64 << 20),
      maxConcurrentLoads: int(limits, "max_concurrent_loads", "limits.max_concurrent_loads", 32, 1, 10_000),
      maxBatchKeys: int(limits, "max_batch_keys", "limits.max_batch_keys", 1000, 1, 100_000),
      maxBatchBytes: int(limits, "max_batch_bytes", "limits.max_batch_bytes", 8 << 20, 1, 1 << 30),
    },
    shutdownTimeoutMs: int(server, "shutdown_timeout_ms", "server.shutdown_timeout_ms", 5000, 0, 600_000),
    log: { level: logLevel },
    grpc: {
      reflection: bool(section(root, "grpc", CONFIG_FIELDS.grpc), "reflection", "grpc.reflection", true),
    },
    tls: tlsFiles(section(root, "tls", CONFIG_FIELDS.tls)),
    auth: authSection(section(root, "auth", CONFIG_FIELDS.auth)),
  };
}

const CLIENT_NAME = /^[A-Za-z0-9._-]{1,64}$/;

function authSection(auth: Obj): AuthSection {
  const reads = auth.reads_require_token ?? false;
  if (typeof reads !== "boolean") {
    throw new ConfigError(`auth.reads_require_token must be true or false (got ${describe(reads)})`);
  }
  const names = new Set<string>(["peer"]);
  const clients = list(auth, "clients", "auth.clients").map((v, i): ClientConfig => {
    const f = `auth.clients[${i}]`;
    if (!v || typeof v !== "object" || Array.isArray(v)) {
      throw new ConfigError(`${f} must be a mapping { name, scopes, token | tokens | token_file }`);
    }
    const c = v as Obj;
    onlyKnown(c, CONFIG_FIELDS.auth_client, `${f}.`);
    const name = str(c, "name", `${f}.name`, "");
    if (!CLIENT_NAME.test(name)) {
      throw new ConfigError(`${f}.name must be 1-64 characters of A-Z a-z 0-9 . _ - (got ${describe(name)})`);
    }
    if (names.has(name)) {
      throw new ConfigError(`${f}.name "${name}" is taken (by another client, or "peer" for the peers)`);
    }
    names.add(name);
    const scopes = list(c, "scopes", `${f}.scopes`);
    if (scopes.length === 0 || scopes.some((s) => !(SCOPES as unknown[]).includes(s))) {
      throw new ConfigError(`${f}.scopes must be a non-empty list of read, write (got ${describe(scopes)})`);
    }
    const tokens: SourcedToken[] = [];
    if (c.token !== undefined) {
      tokens.push({ token: secret(c, "token", `${f}.token`, ""), field: `${f}.token` });
    }
    secrets(c, "tokens", `${f}.tokens`).forEach((token, j) =>
      tokens.push({ token, field: `${f}.tokens[${j}]` })
    );
    const tokenFile = str(c, "token_file", `${f}.token_file`, "");
    if (tokens.length === 0 && tokenFile === "") {
      throw new ConfigError(`${f} (${name}) needs token, tokens or token_file`);
    }
    return { name, scopes: [...new Set(scopes as Scope[])], tokens, tokenFile };
  });
  return {
    readsRequireToken: reads,
    reloadIntervalMs: int(auth, "reload_interval_ms", "auth.reload_interval_ms", 2000, 0, 3_600_000),
    clients,
  };
}

/**
 * An IPv4 address with each part 0-255, an IPv6 address, or a DNS name (labels of letters, digits and
 * hyphens); the rest could only fail later, at bind time.
 */
function hostValid(host: string): boolean {
  if (/^[0-9.]+$/.test(host)) {
    const parts = host.split(".");
    return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
  }
  if (host.includes(":")) return /^\[?[0-9A-Fa-f:.]+\]?$/.test(host);
  return /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
    .test(host);
}

function level(v: string, field: string): Level {
  if (!(LEVELS as readonly string[]).includes(v)) {
    throw new ConfigError(`${field} must be one of ${LEVELS.join(", ")} (got ${describe(v)})`);
  }
  return v as Level;
}

function tlsFiles(tls: Obj): Config["tls"] {
  const files = {
    certFile: str(tls, "cert_file", "tls.cert_file", ""),
    keyFile: str(tls, "key_file", "tls.key_file", ""),
    caFile: str(tls, "ca_file", "tls.ca_file", ""),
    clientCaFile: str(tls, "client_ca_file", "tls.client_ca_file", ""),
  };
  if ((files.certFile === "") !== (files.keyFile === "")) {
    throw new ConfigError("tls.cert_file and tls.key_file must be given together (or neither)");
  }
  if (files.clientCaFile !== "" && files.certFile === "") {
    throw new ConfigError(
      "tls.client_ca_file needs tls.cert_file and tls.key_file: clients are checked over TLS",
    );
  }
  return files;
}

const USAGE = `usage: main.ts [flags]
  --config <file>          configuration file (default config/config.yml)
  --host <ip>              listen and advertise address (default 127.0.0.1)
  --grpc-port <n>          gRPC port (default 9999)
  --http-port <n>          HTTP port (default 2222)
  --peers <url,...>        static peers' HTTP base URLs, e.g. http://127.0.0.1:2223
  --etcd <host:port,...>   etcd endpoints; enables etcd membership
  --db <url>               sqlite:<path>, sqlite::memory: or mysql://user:pass@host:port/db
  --peer-protocol <p>      http or grpc
  --peer-token <token,...> peer token(s): the first is sent, all are accepted (overrides peers.token)
  --log-level <level>      debug, info, warn or error (default info)
  --help                   print this help
Environment: DISTCACHE_PEER_TOKEN (as --peer-token). Signals: SIGINT and SIGTERM stop the node gracefully;
SIGHUP re-reads peers.token_file and auth.clients[].token_file.`;

/** The help text of main.ts. */
export const usage = USAGE;

function flagPort(v: string, flag: string): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) {
    throw new ConfigError(`--${flag} must be a port number from 0 to 65535 (got ${describe(v)})`);
  }
  return Number(v);
}

function csv(v: string): string[] {
  return v.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * Reads the configuration file named by `--config` (default `config/config.yml`), then applies the
 * flags and the DISTCACHE_PEER_TOKEN environment variable.
 *
 * @param args Command-line arguments.
 * @param env Reads an environment variable.
 * @returns The configuration, or "help" when --help was given.
 * @throws {ConfigError} for an unknown flag, a bad value, or an unreadable file.
 */
export async function loadConfig(
  args: string[],
  env: (name: string) => string | undefined,
): Promise<Config | "help"> {
  let flags;
  try {
    flags = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: "string" },
        host: { type: "string" },
        "grpc-port": { type: "string" },
        "http-port": { type: "string" },
        peers: { type: "string" },
        etcd: { type: "string" },
        db: { type: "string" },
        "peer-protocol": { type: "string" },
        "peer-token": { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean" },
      },
    }).values;
  } catch (e) {
    throw new ConfigError(`${(e as Error).message}\n${USAGE}`);
  }
  if (flags.help) return "help";
  const file = flags.config ?? "config/config.yml";
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new ConfigError(`--config: cannot read ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${file} is not valid YAML: ${(e as Error).message}`);
  }
  const c = toConfig(doc);
  if (flags.host !== undefined) c.host = flags.host;
  if (flags["grpc-port"] !== undefined) c.grpcPort = flagPort(flags["grpc-port"], "grpc-port");
  if (flags["http-port"] !== undefined) c.httpPort = flagPort(flags["http-port"], "http-port");
  if (flags.peers !== undefined) {
    c.peers.static = csv(flags.peers).map((p) => ({ http: checkHttpUrl(p, "--peers") }));
  }
  if (flags.etcd !== undefined) c.etcd.endpoints = csv(flags.etcd).map((e) => checkHostPort(e, "--etcd"));
  if (flags.db !== undefined) c.database.url = flags.db;
  if (flags["peer-protocol"] !== undefined) {
    const p = flags["peer-protocol"];
    if (p !== "http" && p !== "grpc") {
      throw new ConfigError(`--peer-protocol must be http or grpc (got "${p}")`);
    }
    c.peers.protocol = p;
  }
  if (flags["log-level"] !== undefined) c.log.level = level(flags["log-level"], "--log-level");
  const flagToken = flags["peer-token"];
  const envToken = flagToken === undefined ? env("DISTCACHE_PEER_TOKEN") : undefined;
  if (flagToken !== undefined || envToken !== undefined) {
    // Several tokens, comma-separated, let a rolling restart rotate the peer token without files.
    const [first, ...more] = (flagToken ?? envToken)!.split(",").map((t) => t.trim());
    const field = flagToken !== undefined ? "--peer-token" : "DISTCACHE_PEER_TOKEN";
    c.peers.token = first;
    c.peers.tokenField = field;
    const extra = more.map((token, i) => ({ token, field: `${field} (token ${i + 2})` }));
    c.peers.tokens = [...extra.filter((t) => t.token !== ""), ...c.peers.tokens];
  }
  if (c.peers.protocol === "grpc" && (c.tls.certFile || c.tls.caFile)) {
    throw new ConfigError(
      "peers.protocol must be http when TLS is configured: grpc-js cannot open TLS channels under Deno 2.8.3",
    );
  }
  if (!hostValid(c.host)) {
    throw new ConfigError(`--host / node.host must be an IP address or host name (got ${describe(c.host)})`);
  }
  try {
    parseDatabaseUrl(c.database.url);
  } catch (e) {
    throw new ConfigError(`--db / database.url: ${(e as Error).message}`);
  }
  if (c.httpPort === c.grpcPort && c.httpPort !== 0) {
    throw new ConfigError(
      `--http-port / node.http_port and --grpc-port / node.grpc_port must differ (both ${c.httpPort})`,
    );
  }
  return c;
}
