/**
 * Membership through etcd: this node registers itself under a lease kept alive while it runs, reads the
 * other members, and watches their prefix so the ring follows joins, leaves and crashes. When etcd cannot
 * be reached the node keeps serving with the last membership it saw and retries in the background.
 * @module
 */
import { Etcd3, type IOptions, type Lease, type Watcher } from "etcd3";
import type { PeerAddress } from "../config.ts";
import { log } from "../log.ts";
import { Backoff } from "./backoff.ts";
import type { Discovery } from "./discovery.ts";
import { MEMBER_PREFIX } from "../protocol.ts";
import { decodeMember, encodeMember, memberKey } from "./member_value.ts";

/** How to join the cluster. */
export interface EtcdDiscoveryOptions {
  /** etcd client endpoints, host:port. */
  endpoints: string[];
  /** Lease time to live in seconds: how long a crashed node stays on the others' rings at most. */
  leaseTtlS: number;
  /** This node's HTTP base URL (its ring id) and gRPC host:port (its etcd key). */
  self: { http: string; grpc: string };
  /** Receives the other members whenever the set changes (never this node itself). */
  onMembers: (peers: PeerAddress[]) => void;
  /** Events closer together than this are applied as one change. Default 50 ms. */
  coalesceMs?: number;
  /** Deadline of each etcd request. Default 1500 ms. */
  requestTimeoutMs?: number;
}

/** Warnings about malformed member values are kept for at most this many keys, so junk cannot grow memory. */
const MAX_WARNED_KEYS = 100;

/**
 * etcd3 wraps each endpoint in a circuit breaker that stays open 5 s after three failures, which would
 * delay re-registration after an outage; our own loops already back off, so calls go straight through.
 */
const passThroughPolicy = {
  // async, so that a call failing synchronously still becomes a rejection the caller handles.
  execute: async <T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> =>
    await fn({ signal: new AbortController().signal }),
};

/** A capped back-off for etcd3's watch reconnects (its default grows to 30 s). */
class WatchBackoff {
  constructor(readonly duration = 100) {}
  next(): WatchBackoff {
    return new WatchBackoff(Math.min(this.duration * 2, 1000));
  }
}

type FaultHandling = NonNullable<IOptions["faultHandling"]>;

/** Registers this node in etcd and keeps its ring in step with the members registered there. */
export class EtcdDiscovery implements Discovery {
  readonly #client: Etcd3;
  readonly #options: EtcdDiscoveryOptions;
  readonly #key: string;
  readonly #value: string;
  readonly #coalesceMs: number;
  readonly #stopped = Promise.withResolvers<void>();
  readonly #firstSync = Promise.withResolvers<void>();
  readonly #warned = new Set<string>();
  #closing: Promise<void> | undefined;
  #lease: Lease | undefined;
  #registering = false;
  #watcher: Watcher | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #resyncTimer: ReturnType<typeof setInterval> | undefined;
  #refreshing = false;
  #refreshAgain = false;
  #refreshBackoff = new Backoff();
  #reachable = true;
  #memberIds = "";
  #members = 1;

  /**
   * Connects lazily; call {@linkcode EtcdDiscovery.start} rather than this.
   *
   * @param options Endpoints, lease TTL, this node's addresses and the membership callback.
   */
  constructor(options: EtcdDiscoveryOptions) {
    this.#options = options;
    this.#key = memberKey(options.self.grpc);
    this.#value = encodeMember(options.self);
    this.#coalesceMs = options.coalesceMs ?? 50;
    const timeoutMs = options.requestTimeoutMs ?? 1500;
    this.#client = new Etcd3({
      hosts: options.endpoints,
      // Streams (watch, keepalive) live as long as the node; every other call gets a deadline.
      defaultCallOptions: (context) => context.isStream ? {} : { deadline: Date.now() + timeoutMs },
      // grpc-js reconnects after up to 120 s by default; a returning etcd should be noticed within a second.
      grpcOptions: { "grpc.initial_reconnect_backoff_ms": 100, "grpc.max_reconnect_backoff_ms": 1000 },
      faultHandling: {
        host: () => passThroughPolicy as unknown as ReturnType<NonNullable<FaultHandling["host"]>>,
        watchBackoff: new WatchBackoff() as unknown as FaultHandling["watchBackoff"],
      },
    });
  }

  /**
   * Starts registering and watching, and waits (at most `waitMs`) until this node is registered and has
   * read the current members. If etcd does not answer in time the node starts alone and keeps trying.
   *
   * @param options See {@linkcode EtcdDiscoveryOptions}.
   * @param waitMs How long start-up may wait for etcd.
   * @returns The running discovery.
   * @example
   * ```ts
   * const discovery = await EtcdDiscovery.start({
   *   endpoints: ["127.0.0.1:2379"],
   *   leaseTtlS: 5,
   *   self: { http: "http://127.0.0.1:2222", grpc: "127.0.0.1:9999" },
   *   onMembers: (peers) => picker.setPeers(peers),
   * });
   * await discovery.close();
   * ```
   */
  static async start(options: EtcdDiscoveryOptions, waitMs = 3000): Promise<EtcdDiscovery> {
    const discovery = new EtcdDiscovery(options);
    discovery.#register();
    void discovery.#watch();
    // A watch on a member cut off from the others' quorum stays open but hears nothing; a read needs the
    // quorum, so re-reading once per lease TTL (from any reachable member) bounds how stale the ring gets.
    discovery.#resyncTimer = setInterval(() => discovery.#scheduleRefresh(0), options.leaseTtlS * 1000);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const synced = await Promise.race([
      discovery.#firstSync.promise.then(() => true),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), waitMs)),
    ]);
    clearTimeout(timer);
    if (!synced) {
      log("warn", "etcd not reachable at start; serving alone until it is", {
        endpoints: options.endpoints.join(","),
      });
    }
    return discovery;
  }

  /** Members on the ring as last read from etcd, this node included. */
  members(): number {
    return this.#members;
  }

  /** Whether the last exchange with etcd succeeded. */
  connected(): boolean {
    return this.#reachable;
  }

  /** Revokes the lease first, so the others drop this node at once, then stops watching. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopped.resolve();
      clearTimeout(this.#refreshTimer);
      clearInterval(this.#resyncTimer);
      const lease = this.#lease;
      this.#lease = undefined;
      if (lease) {
        await lease.revoke().then(
          () => log("info", "left etcd", { key: this.#key }),
          (e) => log("warn", "could not revoke the etcd lease; it expires by itself", { error: e }),
        );
      }
      await this.#watcher?.cancel().catch(() => {});
      this.#client.close();
    })();
    return this.#closing;
  }

  get #closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Waits `ms`, or less when the discovery is closed meanwhile. */
  async #sleep(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([new Promise((r) => timer = setTimeout(r, ms)), this.#stopped.promise]);
    clearTimeout(timer);
  }

  /** Logs only the transitions, so an outage writes one line, not one per retry. */
  #setReachable(reachable: boolean, error?: unknown): void {
    if (reachable === this.#reachable || this.#closed) return;
    this.#reachable = reachable;
    if (reachable) log("info", "etcd reachable again", { members: this.#members });
    else {
      log("warn", "etcd unreachable; serving with the last membership and retrying", {
        members: this.#members,
        error: error ?? "keepalive failed",
      });
    }
  }

  /** Grants a lease and puts this node's key under it, retrying until it works or the node closes. */
  #register(): void {
    if (this.#registering || this.#closed) return;
    this.#registering = true;
    const backoff = new Backoff();
    (async () => {
      while (!this.#closed) {
        const lease = this.#client.lease(this.#options.leaseTtlS);
        lease.on("lost", (e) => this.#onLost(lease, e));
        lease.on("keepaliveFailed", (e) => this.#setReachable(false, e));
        lease.on("keepaliveSucceeded", () => this.#setReachable(true));
        try {
          await lease.put(this.#key).value(this.#value);
          if (this.#closed) {
            await lease.revoke().catch(() => {});
            return;
          }
          this.#lease = lease;
          this.#setReachable(true);
          log("info", "registered in etcd", { key: this.#key, lease_ttl_s: this.#options.leaseTtlS });
          this.#scheduleRefresh(0);
          return;
        } catch (e) {
          lease.release();
          this.#setReachable(false, e);
          await this.#sleep(backoff.delay());
        }
      }
    })().finally(() => this.#registering = false);
  }

  /** etcd says the lease is gone (expired during an outage, or etcd lost its data): register anew. */
  #onLost(lease: Lease, error: unknown): void {
    if (lease !== this.#lease || this.#closed) return;
    this.#lease = undefined;
    log("warn", "etcd lease lost; registering again", { key: this.#key, error });
    this.#register();
  }

  /** Opens the prefix watch; etcd3 reconnects it after outages, and each reconnect re-reads the members. */
  async #watch(): Promise<void> {
    const backoff = new Backoff();
    while (!this.#closed) {
      try {
        const watcher = await this.#client.watch().prefix(MEMBER_PREFIX).create();
        if (this.#closed) {
          await watcher.cancel().catch(() => {});
          return;
        }
        this.#watcher = watcher;
        watcher.on("put", () => this.#scheduleRefresh());
        watcher.on("delete", () => this.#scheduleRefresh());
        watcher.on("connected", () => this.#scheduleRefresh());
        watcher.on("disconnected", (e) => this.#setReachable(false, e));
        watcher.on("error", (e) => {
          log("warn", "etcd watch failed; watching again", { error: e });
          this.#watcher = undefined;
          watcher.cancel().catch(() => {});
          void this.#watch();
        });
        this.#scheduleRefresh(0);
        return;
      } catch (e) {
        this.#setReachable(false, e);
        await this.#sleep(backoff.delay());
      }
    }
  }

  /** Re-reads the members after `delayMs`; events arriving meanwhile join the same read. */
  #scheduleRefresh(delayMs = this.#coalesceMs): void {
    if (this.#closed || this.#refreshTimer !== undefined) return;
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = undefined;
      void this.#refresh();
    }, delayMs);
  }

  async #refresh(): Promise<void> {
    if (this.#refreshing) {
      this.#refreshAgain = true;
      return;
    }
    this.#refreshing = true;
    try {
      const values = await this.#client.getAll().prefix(MEMBER_PREFIX).strings();
      this.#refreshBackoff.reset();
      this.#setReachable(true);
      this.#apply(values);
    } catch (e) {
      this.#setReachable(false, e);
      // The watch may be healthy while a read fails; try again rather than wait for the next event.
      this.#scheduleRefresh(this.#refreshBackoff.delay());
    } finally {
      this.#refreshing = false;
      if (this.#refreshAgain) {
        this.#refreshAgain = false;
        this.#scheduleRefresh();
      }
    }
  }

  /** Hands the decoded members to the ring when the set differs from the last one. */
  #apply(values: Record<string, string>): void {
    const peers: PeerAddress[] = [];
    for (const [key, value] of Object.entries(values)) {
      const member = decodeMember(value);
      if (typeof member === "string") {
        if (!this.#warned.has(key) && this.#warned.size < MAX_WARNED_KEYS) {
          this.#warned.add(key);
          log("warn", "ignoring a malformed member in etcd", { key, problem: member });
        }
        continue;
      }
      if (member.http !== this.#options.self.http) peers.push(member);
    }
    if (this.#lease && !(this.#key in values)) {
      // Someone deleted our key while the lease lives on: put it back under the same lease.
      this.#lease.put(this.#key).value(this.#value).catch(() => {});
    }
    peers.sort((a, b) => a.http < b.http ? -1 : a.http > b.http ? 1 : 0);
    const ids = peers.map((p) => `${p.http} ${p.grpc}`).join(",");
    if (ids !== this.#memberIds) {
      this.#memberIds = ids;
      this.#members = peers.length + 1;
      this.#options.onMembers(peers);
      log("info", "membership changed", {
        members: this.#members,
        peers: peers.map((p) => p.http).join(",") || "none",
      });
    }
    if (this.#lease) this.#firstSync.resolve();
  }
}
