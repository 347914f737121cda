/**
 * Wires one node together: the data source, the groups, the peer ring, the HTTP server (`Deno.serve`)
 * and the gRPC server (grpc-js), and takes them down again in order.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { AUTH_REASONS, authConfig, Credentials } from "./auth/credentials.ts";
import { guardService } from "./auth/guard.ts";
import { watchCredentials } from "./auth/reload.ts";
import { Group } from "./cache/group.ts";
import { SourceKeyFilter } from "./cache/key_filter.ts";
import { keepKeyFilter } from "./cnf/cnf_keys.ts";
import type { Getter } from "./cache/group.ts";
import { CnfValidationError, toJson, validateCnfId } from "./cnf/cnf_metric.ts";
import type { CnfRepository } from "./cnf/repository.ts";
import { openRepository } from "./cnf/repository.ts";
import { CNF_METRICS_READS, cnfMetricsHandlers, loadCnfMetricsProto } from "./cnf/service.ts";
import type { Config } from "./config.ts";
import type { Discovery } from "./discovery/discovery.ts";
import { EtcdDiscovery } from "./discovery/etcd_discovery.ts";
import { log, setLogLevel, setLogNode } from "./log.ts";
import { NodeMetrics } from "./metrics.ts";
import { FailureLog } from "./peers/failure_log.ts";
import { RingPicker } from "./peers/ring_picker.ts";
import { timedGetter, timedPicker } from "./timed_loads.ts";
import { GROUP_CACHE_READS, groupCacheHandlers, groupCacheService } from "./server/grpc.ts";
import { HealthService } from "./server/health.ts";
import { addReflection } from "./server/reflection.ts";
import { httpHandler } from "./server/http.ts";
import { BATCH_READS, batchHandlers, batchService } from "./server/grpc_batch.ts";
import { CNF_BATCH_READS, cnfBatchHandlers, cnfBatchService } from "./server/grpc_cnf_batch.ts";
import type { StatusRing } from "./server/status.ts";
import { serveMutualTls } from "./server/mutual_tls_server.ts";
import { loadTransport } from "./server/tls.ts";
import { LoadLimit } from "./load_limit.ts";
import { redactUrl } from "./redact.ts";
import { serviceNames, tolerantService } from "./server/proto.ts";

/** The group whose source is the CNF-metrics table. */
export const METRICS_GROUP = "metrics";

/** A running node. */
export interface RunningNode {
  /** This node's HTTP base URL, its id on the ring. */
  readonly httpUrl: string;
  /** This node's gRPC host:port. */
  readonly grpcAddress: string;
  readonly groups: ReadonlyMap<string, Group>;
  readonly picker: RingPicker;
  /** etcd membership, when `etcd.endpoints` is set; undefined for static peers. */
  readonly discovery: Discovery | undefined;
  readonly repository: CnfRepository;
  /** Stops taking requests, lets in-flight ones finish (up to the shutdown timeout), closes everything. */
  close(): Promise<void>;
}

/**
 * The `metrics` group's getter: one SELECT by `cnf_id` under the node's load limit; a key that cannot be a
 * CNF id is "not found" without asking the database.
 *
 * @param repo The CNF repository.
 * @param limit The node's cap on concurrent database loads.
 * @returns The getter.
 */
export function cnfGetter(repo: CnfRepository, limit: LoadLimit): Getter {
  return async (key) => {
    try {
      validateCnfId(key);
    } catch (e) {
      // A key that cannot be a CNF id has no row; the database is not asked.
      if (e instanceof CnfValidationError) return null;
      throw e;
    }
    const metric = await limit.run(() => repo.get(key));
    return metric ? toJson(metric) : null;
  };
}

function bindGrpc(
  server: grpc.Server,
  address: string,
  credentials: grpc.ServerCredentials,
): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, credentials, (err, port) => err ? reject(err) : resolve(port))
  );
}

function withTimeout(work: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms));
  return Promise.race([work.then(() => true), timeout]).finally(() => clearTimeout(timer));
}

/**
 * Starts a node from a validated configuration.
 *
 * @param config The node's configuration.
 * @returns The running node, listening on both ports.
 */
export async function startNode(config: Config): Promise<RunningNode> {
  setLogLevel(config.log.level);
  // First, so that a bad token file or the development token off loopback stops the start before
  // anything listens or connects.
  const credentials = await Credentials.load(authConfig(config), config.host);
  const transport = await loadTransport(config.tls);
  const repository = await openRepository(config.database.url, { timeoutMs: config.database.timeoutMs });
  // Groups exist before either server listens, so no request can find its group missing. They route to
  // peers once the ring is built, which needs this node's own HTTP address.
  const groups = new Map<string, Group>();
  const metrics = new NodeMetrics(() => groups.values(), () => repository.reads);
  const guard = { credentials, metrics };
  metrics.watchCredentials(() => credentials.counts(), credentials.clientNames(), AUTH_REASONS);
  const loadLimit = new LoadLimit(config.limits.maxConcurrentLoads, config.database.timeoutMs);
  metrics.watchLoadLimit(loadLimit);
  const keyFilters = new Map<string, SourceKeyFilter>();
  for (const g of config.groups) {
    const keyFilter = g.keyFilter && new SourceKeyFilter(g.keyFilter.falsePositiveRate);
    if (keyFilter) keyFilters.set(g.name, keyFilter);
    groups.set(
      g.name,
      new Group({
        name: g.name,
        getter: timedGetter(
          g.name === METRICS_GROUP ? cnfGetter(repository, loadLimit) : () => Promise.resolve(null),
          metrics.loadObserver(g.name, "source"),
        ),
        cacheBytes: g.cacheBytes,
        hotCacheFraction: g.hotCacheFraction,
        ttlMs: g.ttlMs,
        negativeTtlMs: g.negativeTtlMs,
        refreshAheadMs: g.refreshAheadMs,
        staleIfErrorMs: g.staleIfErrorMs,
        hotTtlMs: g.hotTtlMs,
        policy: g.policy,
        ttlJitter: g.ttlJitter,
        keyFilter,
      }),
    );
  }
  metrics.watchKeyFilters(() => [...keyFilters].map(([name, f]) => [name, f.stats()]));
  // Built before the node listens, so the first unknown keys are already ruled out.
  const stopFilters = await Promise.all(
    config.groups.filter((g) => g.keyFilter).map((g) =>
      keepKeyFilter(keyFilters.get(g.name)!, repository, g.keyFilter!.refreshMs)
    ),
  );
  let ready = false;
  const handlerDeps = {
    groups,
    guard,
    maxKeyBytes: config.limits.maxKeyBytes,
    maxValueBytes: config.limits.maxValueBytes,
    maxBatchKeys: config.limits.maxBatchKeys,
    maxBatchBytes: config.limits.maxBatchBytes,
    metrics,
    ready: () => ready,
    self: { http: "", grpc: "" },
    ring: undefined as StatusRing | undefined,
    members: (): string[] => [],
    vnodes: config.peers.vnodes,
  };

  const grpcServer = new grpc.Server({
    // A batch request carries up to max_batch_keys keys; a peer's batch answer is read by its client.
    "grpc.max_receive_message_length": Math.max(
      config.limits.maxValueBytes,
      config.limits.maxBatchKeys * (config.limits.maxKeyBytes + 8),
    ) + 64 * 1024,
  });
  // First, so that it sees every service added after it.
  const reflection = config.grpc.reflection ? addReflection(grpcServer) : undefined;
  const served: string[] = [];
  const serve = (definition: grpc.ServiceDefinition, handlers: grpc.UntypedServiceImplementation) => {
    grpcServer.addService(definition, handlers);
    served.push(...serviceNames(definition));
  };
  serve(
    groupCacheService(),
    guardService(groupCacheHandlers(handlerDeps), GROUP_CACHE_READS, guard),
  );
  serve(batchService(), guardService(batchHandlers(handlerDeps), BATCH_READS, guard));
  const metricsGroup = groups.get(METRICS_GROUP);
  if (metricsGroup) {
    serve(
      tolerantService(loadCnfMetricsProto()),
      guardService(
        cnfMetricsHandlers({
          repo: repository,
          get: async (id) => {
            const view = await metricsGroup.get(id);
            return view && { bytes: view.toBytes(), stale: metricsGroup.isStale(view) };
          },
          invalidate: (id) => metricsGroup.delete(id),
        }),
        CNF_METRICS_READS,
        guard,
      ),
    );
    serve(
      cnfBatchService(),
      guardService(
        cnfBatchHandlers({ ...handlerDeps, metrics: metricsGroup, nodeMetrics: metrics }),
        CNF_BATCH_READS,
        guard,
      ),
    );
  }
  // Health reports what was registered above: the CNF services only where a metrics group exists.
  const health = new HealthService(served);
  grpcServer.addService(health.definition(), health.handlers());
  const grpcPort = await bindGrpc(grpcServer, `${config.host}:${config.grpcPort}`, transport.grpcServer)
    .catch(
      async (e) => {
        for (const stop of stopFilters) stop();
        await repository.close();
        throw new Error(`cannot listen for gRPC on ${config.host}:${config.grpcPort}: ${e.message}`);
      },
    );
  const grpcAddress = `${config.host}:${grpcPort}`;
  handlerDeps.self.grpc = grpcAddress;

  let httpServer: { shutdown(): Promise<void> };
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const onError = (e: unknown) => {
    log("error", "http handler failed", { error: e });
    return new Response("internal error\n", { status: 500 });
  };
  try {
    if (transport.clientCa) {
      // Deno.serve cannot ask clients for a certificate; this server can.
      const server = await serveMutualTls({
        hostname: config.host,
        port: config.httpPort,
        cert: transport.serve.cert!,
        key: transport.serve.key!,
        clientCa: transport.clientCa,
        onError,
      }, httpHandler(handlerDeps));
      listening.resolve(server.addr);
      httpServer = server;
    } else {
      httpServer = Deno.serve({
        ...transport.serve,
        hostname: config.host,
        port: config.httpPort,
        onListen: (addr) => listening.resolve(addr),
        onError,
      }, httpHandler(handlerDeps));
    }
  } catch (e) {
    grpcServer.forceShutdown();
    for (const stop of stopFilters) stop();
    await repository.close();
    throw new Error(`cannot listen for HTTP on ${config.host}:${config.httpPort}: ${(e as Error).message}`);
  }
  const httpAddr = await listening.promise;
  const httpUrl = `${transport.scheme}://${config.host}:${httpAddr.port}`;
  handlerDeps.self.http = httpUrl;
  setLogNode(httpUrl);

  const picker = new RingPicker(httpUrl, config.peers.protocol, {
    token: () => credentials.sendToken,
    timeoutMs: config.peers.timeoutMs,
    metrics,
    failures: new FailureLog(),
    ...transport.peer,
  }, config.peers.vnodes);
  handlerDeps.members = () => picker.members();
  let discovery: Discovery | undefined;
  if (config.etcd.endpoints.length > 0) {
    discovery = await EtcdDiscovery.start({
      endpoints: config.etcd.endpoints,
      leaseTtlS: config.etcd.leaseTtlS,
      self: { http: httpUrl, grpc: grpcAddress },
      onMembers: (peers) => picker.setPeers(peers),
    });
    const etcd = discovery;
    metrics.watchEtcd(() => etcd.connected());
  } else {
    picker.setPeers(config.peers.static);
  }
  metrics.ringMembers = () => picker.members().length;
  handlerDeps.ring = picker;
  for (const group of groups.values()) {
    group.setPeers(timedPicker(picker, metrics.loadObserver(group.name, "peer")));
  }
  const tokenWatch = watchCredentials(credentials, config.auth.reloadIntervalMs, metrics);
  if (config.peers.token !== "" && config.peers.tokenFile !== "") {
    log("warn", "the peer token sent is peers.token; peers.token_file's tokens are only accepted", {
      field: config.peers.tokenField,
      token_file: config.peers.tokenFile,
    });
  }
  ready = true;
  log("info", "node started", {
    http: httpUrl,
    grpc: grpcAddress,
    peers: config.peers.static.map((p) => p.http).join(",") || "none",
    etcd: config.etcd.endpoints.join(",") || "none",
    protocol: config.peers.protocol,
    db: redactUrl(config.database.url),
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      tokenWatch.close();
      // Leave etcd first: the others drop this node at once while it still answers their requests.
      await discovery?.close();
      ready = false;
      health.setServing(false);
      health.endWatches();
      reflection?.endStreams();
      const grpcDone = new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()));
      const finished = await withTimeout(
        Promise.all([httpServer.shutdown(), grpcDone]).then(() => {}),
        config.shutdownTimeoutMs,
      );
      if (!finished) {
        log("warn", "in-flight requests did not finish in time", { timeout_ms: config.shutdownTimeoutMs });
        grpcServer.forceShutdown();
      }
      picker.close();
      for (const stop of stopFilters) stop();
      await repository.close();
      transport.close();
      log("info", "node stopped", { http: httpUrl });
    })();
    return closing;
  };

  return { httpUrl, grpcAddress, groups, picker, discovery, repository, close };
}
