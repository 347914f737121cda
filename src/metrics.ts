/**
 * Prometheus metrics of a node (prefix `distcache_`, base units), read from the groups' own counters at
 * scrape time so the Get path pays nothing for them, plus request and peer-call latency histograms.
 * @module
 */
import client from "prom-client";
import type { Group } from "./cache/group.ts";
import { Histogram, type HistogramSeries, labelText } from "./histogram.ts";

/** The requests of one protocol, operation and status code. */
interface RequestTally {
  labels: [string, string, string];
  count: number;
  /** Durations of the requests that waited (made on the first one). */
  timed: HistogramSeries | undefined;
}

/** Group counters exported as `distcache_group_<name>_total`, by the GroupStats field they read. */
const GROUP_COUNTERS = {
  gets: "Get calls on the group.",
  cacheHits: "Gets answered from the main cache.",
  hotHits: "Gets answered from the hot cache.",
  peerLoads: "Loads answered by the owning peer.",
  peerErrors: "Loads where the owning peer failed or timed out.",
  localLoads: "Loads from this node's source.",
  localLoadErrors: "Loads where this node's source failed.",
  loadsDeduped: "Gets that joined a load already in flight.",
  localFallbacks: "Loads from this node's source of keys another node owns, after the owner failed.",
  negativeHits: "Gets answered by a remembered not-found.",
  filterRejections: "Loads the key filter answered not-found without reading the source.",
  filterFalsePositives: "Keys the key filter let through that the source did not have.",
  refreshes: "Background reloads of values read shortly before they expired (refresh-ahead).",
} as const;

function snake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

/** Latency buckets in seconds, from 50 µs (a local hit) to 5 s (a peer or source timeout). */
const BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

/** A node's metric registry and the instruments the servers and peer clients record into. */
export class NodeMetrics {
  readonly registry: client.Registry = new client.Registry();
  readonly #requests = new Histogram(
    "distcache_request_duration_seconds",
    "Requests served, by protocol, operation and status code.",
    ["protocol", "op", "code"],
    BUCKETS,
  );
  readonly #loads = new Histogram(
    "distcache_load_duration_seconds",
    "Loads on a miss, by group and source: the getter (source) or the key's owner (peer).",
    ["group", "source"],
    BUCKETS,
  );
  readonly #peerCalls = new Histogram(
    "distcache_peer_request_duration_seconds",
    "Calls to peers, by peer, operation and result.",
    ["peer", "op", "result"],
    BUCKETS,
  );

  readonly #authFailures = new client.Counter({
    name: "distcache_auth_failures_total",
    help:
      "Requests refused for their credential, by protocol and reason (missing, malformed, wrong, scope, " +
      "disabled).",
    labelNames: ["protocol", "reason"],
    registers: [this.registry],
  });
  readonly #writes = new client.Counter({
    name: "distcache_writes_total",
    help: "Writes let in by their credential, by client (a name from auth.clients, or peer) and protocol.",
    labelNames: ["client", "protocol"],
    registers: [this.registry],
  });
  readonly #reloads = new client.Counter({
    name: "distcache_auth_reloads_total",
    help: "Token file reloads (on SIGHUP or a change), by result: changed, unchanged, failed.",
    labelNames: ["result"],
    registers: [this.registry],
  });

  /** Members on this node's ring, itself included, read at scrape time; set once the ring exists. */
  ringMembers: () => number = () => 0;

  /**
   * @param groups The node's groups, read at scrape time.
   * @param sourceReads How many reads the data source has served, read at scrape time.
   * @param options `etcdConnected`: whether the etcd session is up, for nodes that use etcd (see
   * {@linkcode watchEtcd}).
   */
  constructor(
    groups: () => Iterable<Group>,
    sourceReads: () => number = () => 0,
    options: { etcdConnected?: () => boolean } = {},
  ) {
    const registers = [this.registry];
    const ring = () => this.ringMembers();
    client.collectDefaultMetrics({ register: this.registry, prefix: "distcache_" });
    // These gauges break the text format's naming rules (a gauge named *_total), which promtool rejects.
    for (const name of ["active_handles_total", "active_requests_total", "active_resources_total"]) {
      this.registry.removeSingleMetric(`distcache_nodejs_${name}`);
    }
    for (const [field, help] of Object.entries(GROUP_COUNTERS)) {
      const key = field as keyof typeof GROUP_COUNTERS;
      new client.Counter({
        name: `distcache_group_${snake(field)}_total`,
        help,
        labelNames: ["group"],
        registers,
        collect() {
          this.reset();
          for (const g of groups()) this.inc({ group: g.name }, g.stats()[key]);
        },
      });
    }
    for (
      const [field, help] of [["bytes", "Bytes held, keys and values."], ["items", "Entries held."]] as const
    ) {
      new client.Gauge({
        name: `distcache_cache_${field}`,
        help,
        labelNames: ["group", "cache"],
        registers,
        collect() {
          for (const g of groups()) {
            for (const c of ["main", "hot"] as const) {
              this.set({ group: g.name, cache: c }, g.cacheStats(c)[field]);
            }
          }
        },
      });
    }
    new client.Counter({
      name: "distcache_cache_evictions_total",
      help:
        "Entries removed from a cache, by reason: evicted (for room), expired, deleted (key written or deleted).",
      labelNames: ["group", "cache", "reason"],
      registers,
      collect() {
        this.reset();
        for (const g of groups()) {
          for (const cache of ["main", "hot"] as const) {
            const { evictions, expirations } = g.cacheStats(cache);
            this.inc({ group: g.name, cache, reason: "evicted" }, evictions);
            this.inc({ group: g.name, cache, reason: "expired" }, expirations);
            this.inc({ group: g.name, cache, reason: "deleted" }, g.cacheDeletions(cache));
          }
        }
      },
    });
    new client.Counter({
      name: "distcache_stale_answers_total",
      help: "Answers made with a value past its expiry because its reload failed (stale-if-error).",
      labelNames: ["group"],
      registers,
      collect() {
        this.reset();
        for (const g of groups()) this.inc({ group: g.name }, g.stats().staleAnswers);
      },
    });
    new client.Gauge({
      name: "distcache_ring_members",
      help: "Members on this node's consistent-hash ring, itself included.",
      registers,
      collect() {
        this.set(ring());
      },
    });
    if (options.etcdConnected) this.watchEtcd(options.etcdConnected);
    new client.Counter({
      name: "distcache_source_reads_total",
      help: "Reads this node made from its data source (the database).",
      registers,
      collect() {
        this.reset();
        this.inc(sourceReads());
      },
    });
  }

  /**
   * Exports `distcache_etcd_connected` (1 while the etcd session is up, else 0), read at scrape time.
   * Only nodes that use etcd call it, so a node with static peers has no such gauge.
   *
   * @param connected Whether the session is up now.
   */
  watchEtcd(connected: () => boolean): void {
    new client.Gauge({
      name: "distcache_etcd_connected",
      help: "1 while this node's etcd session is up, else 0.",
      registers: [this.registry],
      collect() {
        this.set(connected() ? 1 : 0);
      },
    });
  }

  /** Counts a request refused for its credential. */
  authFailure(protocol: string, reason: string): void {
    this.#authFailures.inc({ protocol, reason });
  }

  /** Counts a write let in; `client` is a configured client name or "peer", so the label set stays bounded. */
  writeAccepted(client: string, protocol: string): void {
    this.#writes.inc({ client, protocol });
  }

  /** Counts a token file reload. */
  credentialReload(result: "changed" | "unchanged" | "failed"): void {
    this.#reloads.inc({ result });
  }

  /**
   * Exports `distcache_auth_tokens{kind}` (peer and client tokens in force, read at scrape time) and
   * starts every client's write counter and every refusal reason's counter at 0, so a dashboard shows
   * them before the first write or refusal.
   *
   * @param counts The tokens in force now.
   * @param clients Every client name, "peer" included.
   * @param reasons Every reason a request may be refused for; each starts at 0 too.
   */
  watchCredentials(
    counts: () => { peer: number; client: number },
    clients: readonly string[],
    reasons: readonly string[],
  ): void {
    new client.Gauge({
      name: "distcache_auth_tokens",
      help: "Tokens in force on this node, by kind: peer or client.",
      labelNames: ["kind"],
      registers: [this.registry],
      collect() {
        const c = counts();
        this.set({ kind: "peer" }, c.peer);
        this.set({ kind: "client" }, c.client);
      },
    });
    for (const protocol of ["http", "grpc"]) {
      for (const name of clients) this.#writes.inc({ client: name, protocol }, 0);
      for (const reason of reasons) this.#authFailures.inc({ protocol, reason }, 0);
    }
  }

  /**
   * Exports the key filter of groups that have one: `distcache_key_filter_keys` (keys it holds),
   * `distcache_key_filter_bytes` (its memory) and `distcache_key_filter_active` (1 once a rebuild from the
   * source succeeded, so that it rules keys out), read at scrape time.
   *
   * @param filters Each filtered group's name and the filter's figures now.
   */
  watchKeyFilters(filters: () => Iterable<[string, { keys: number; bytes: number; active: boolean }]>): void {
    for (
      const [field, help] of [
        ["keys", "Keys in the group's key filter (the penetration guard)."],
        ["bytes", "Memory of the group's key filter, in bytes."],
        ["active", "1 once the key filter was built from the source and rules keys out, else 0."],
      ] as const
    ) {
      new client.Gauge({
        name: `distcache_key_filter_${field}`,
        help,
        labelNames: ["group"],
        registers: [this.registry],
        collect() {
          for (const [group, stats] of filters()) this.set({ group }, Number(stats[field]));
        },
      });
    }
  }

  /**
   * Exports the state of the database load limit, read at scrape time: `distcache_source_loads_running`,
   * `distcache_source_loads_waiting`, `distcache_source_load_limit` and
   * `distcache_source_loads_refused_total` (loads that got no turn within the wait).
   *
   * @param limit The node's load limit.
   */
  watchLoadLimit(limit: { running: number; waiting: number; max: number; refused: number }): void {
    const registers = [this.registry];
    const gauges = [
      ["distcache_source_loads_running", "Database loads running now.", () => limit.running],
      [
        "distcache_source_loads_waiting",
        "Database loads waiting for a turn under the load limit.",
        () => limit.waiting,
      ],
      [
        "distcache_source_load_limit",
        "Database loads one node runs at once (limits.max_concurrent_loads).",
        () => limit.max,
      ],
    ] as const;
    for (const [name, help, read] of gauges) {
      new client.Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    }
    new client.Counter({
      name: "distcache_source_loads_refused_total",
      help:
        "Database loads refused because no turn came within database.timeout_ms (the load limit was reached).",
      registers,
      collect() {
        this.reset();
        this.inc(limit.refused);
      },
    });
  }

  /**
   * The observer of one group's loads from one source, for `timedGetter` and `timedPicker`.
   *
   * @param group The group's name.
   * @param source "source" for getter calls, "peer" for fetches from the key's owner.
   * @returns Records one load's duration in seconds.
   */
  loadObserver(group: string, source: "source" | "peer"): (seconds: number) => void {
    const series = this.#loads.series([group, source]);
    return (seconds) => series.observe(seconds);
  }

  /** Tallies by protocol, operation and code, so a request finds its own without allocating. */
  readonly #tallies = new Map<string, Map<string, Map<number | string, RequestTally>>>();

  /**
   * Records one served request. `seconds` is given for a request that waited on something (a load, a
   * peer, a write); a cache hit answered at once is only counted, as timing it would cost more than
   * answering it.
   */
  request(protocol: string, op: string, code: number | string, seconds?: number): void {
    const tally = this.#tally(protocol, op, code);
    tally.count++;
    if (seconds !== undefined) (tally.timed ??= this.#requests.series(tally.labels)).observe(seconds);
  }

  /**
   * The counter of one protocol, operation and code, for a path that counts on every request (a cache
   * hit): incrementing its `count` is one field write, where {@linkcode request} walks three maps. It is
   * read when /metrics is scraped, as `distcache_requests_total`.
   *
   * @param protocol "http" or "grpc".
   * @param op The operation, e.g. "get".
   * @param code The status code or gRPC status name.
   * @returns A counter that is exported with its labels from now on.
   * @example
   * ```ts
   * import { NodeMetrics } from "./metrics.ts";
   *
   * const hits = new NodeMetrics(() => []).requestCounter("http", "get", 200);
   * hits.count++;
   * ```
   */
  requestCounter(protocol: string, op: string, code: number | string): { count: number } {
    return this.#tally(protocol, op, code);
  }

  #tally(protocol: string, op: string, code: number | string): RequestTally {
    let byOp = this.#tallies.get(protocol);
    if (!byOp) this.#tallies.set(protocol, byOp = new Map());
    let byCode = byOp.get(op);
    if (!byCode) byOp.set(op, byCode = new Map());
    let tally = byCode.get(code);
    if (!tally) {
      byCode.set(code, tally = { labels: [protocol, op, String(code)], count: 0, timed: undefined });
    }
    return tally;
  }

  #requestCounts(): string {
    const name = "distcache_requests_total";
    const lines = [
      `# HELP ${name} Requests served, by protocol, operation and status code.`,
      `# TYPE ${name} counter`,
    ];
    for (const byOp of this.#tallies.values()) {
      for (const byCode of byOp.values()) {
        for (const t of byCode.values()) {
          lines.push(`${name}{${labelText(["protocol", "op", "code"], t.labels)}} ${t.count}`);
        }
      }
    }
    return lines.join("\n") + "\n";
  }

  /** Records one call to a peer. */
  peerCall(peer: string, op: string, result: "ok" | "not_found" | "error", seconds: number): void {
    this.#peerCalls.observe([peer, op, result], seconds);
  }

  /** The metrics in the Prometheus text format. */
  async text(): Promise<string> {
    return (await this.registry.metrics()) + this.#requestCounts() + this.#requests.text() +
      this.#loads.text() + this.#peerCalls.text();
  }

  /** The content type of {@linkcode text}. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
