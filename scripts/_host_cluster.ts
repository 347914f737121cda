/**
 * The whole topology on hosts of their own (scripts/_hosts.ts): three etcd members, MariaDB, distcache
 * nodes started with exactly `deno task start --host <address> --etcd ... --db mysql://...`, and a host
 * for clients, which runs `deno task load`. Shared by the netns tests and `deno task cluster --hosts`.
 * @module
 */
import { alive, type Host, type HostProcess, Network } from "./_hosts.ts";
import type { LoadSummary } from "./load.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const READY_TIMEOUT_MS = 60_000;
/** Ports are the same on every host: each host has an address of its own. */
export const PORTS = { etcdClient: 2379, etcdPeer: 2380, mysql: 3306, http: 2222, grpc: 9999 } as const;

/** A distcache node on its own host. */
export interface NodeHost {
  readonly host: Host;
  /** `http://<address>:2222`, its id on the ring. */
  readonly http: string;
  /** `<address>:9999`. */
  readonly grpc: string;
  /** The etcd endpoints given to `--etcd`. */
  readonly etcd: string[];
  /** The running `deno task start`, undefined while stopped. */
  process: HostProcess | undefined;
}

/** What to start. */
export interface HostClusterOptions {
  /** distcache nodes, 1 to 9. */
  nodes: number;
  /** The last node talks to the third etcd member only (to test an etcd split). */
  lastNodeOnEtcd3?: boolean;
  /** Peer token for every node (DISTCACHE_PEER_TOKEN); default: random. */
  token?: string;
  /** Replaces values of config/config.yml for the nodes: `[pattern, replacement]` line edits. */
  configEdits?: [RegExp, string][];
  /** Every line a process writes, with the host's name. */
  onLine?: (host: string, line: string) => void;
}

/** A running topology. */
export interface HostCluster {
  readonly net: Network;
  readonly etcd: Host[];
  readonly db: Host;
  readonly client: Host;
  readonly nodes: NodeHost[];
  /** `host:2379` of each etcd member. */
  readonly etcdEndpoints: string[];
  /** The nodes' `--db` URL. */
  readonly dbUrl: string;
  readonly token: string;
  /** The nodes' configuration file, relative to the project. */
  readonly config: string;
  /** Starts a node's `deno task start` (again) and waits until /readyz answers. */
  startNode(node: NodeHost): Promise<void>;
  /** Runs `deno task load --json` on the client host with `args` and returns its summary. */
  load(nodes: NodeHost[], args: string[]): Promise<LoadSummary>;
  /** Stops everything and removes every namespace, link and file of the run. */
  close(): Promise<void>;
}

async function waitFor(what: string, check: () => Promise<boolean>, proc?: HostProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  proc?.status.then(() => exited = true);
  while (!(await check().catch(() => false))) {
    if (exited) throw new Error(`${what}: the process exited:\n${proc?.log().slice(-3000)}`);
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${READY_TIMEOUT_MS / 1000} s\n${proc?.log().slice(-3000) ?? ""}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function answers(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
  await res.body?.cancel();
  return res.ok;
}

/** Removes the folders of runs whose process is gone (a crash, or a test runner that exited). */
async function sweepFiles(): Promise<void> {
  const entries = await Array.fromAsync(Deno.readDir(`${ROOT}.cluster`)).catch(() => []);
  for (const e of entries) {
    const m = /^hosts-[a-z0-9]+-(\d+)$/.exec(e.name);
    if (!m) continue;
    if (!(await alive(Number(m[1])))) {
      await Deno.remove(`${ROOT}.cluster/${e.name}`, { recursive: true }).catch(() => {});
    }
  }
}

async function run(command: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(command, { args, stdout: "null", stderr: "piped", stdin: "null" })
    .output();
  if (!out.success) {
    throw new Error(`${command} failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
  }
}

/**
 * Makes the hosts and starts etcd, MariaDB and the nodes on them, each on its own address.
 *
 * @param options What to start.
 * @returns The running topology; `close()` it, also on failure of what follows.
 */
export async function startHostCluster(options: HostClusterOptions): Promise<HostCluster> {
  if (!(options.nodes >= 1 && options.nodes <= 9)) throw new Error("nodes: from 1 to 9");
  const net = await Network.create();
  await sweepFiles();
  const dir = `.cluster/hosts-${net.run}-${Deno.pid}`;
  const abs = `${ROOT}${dir}`;
  const token = options.token ??
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  const line = (host: string) => options.onLine && ((l: string) => options.onLine!(host, l));
  const close = () => net.close();
  net.onClose("before", async () => {
    // Nodes first, so that they revoke their leases while etcd still answers.
    await Promise.all(net.hosts.filter((h) => h.name.startsWith("node")).map((h) => h.stopAll()));
  });
  net.onClose("after", () => Deno.remove(abs, { recursive: true }).catch(() => {}));
  try {
    await Deno.mkdir(abs, { recursive: true });
    let config = await Deno.readTextFile(`${ROOT}config/config.yml`);
    for (const [pattern, replacement] of options.configEdits ?? []) {
      const changed = config.replace(pattern, replacement);
      if (changed === config) throw new Error(`config/config.yml has no line matching ${pattern}`);
      config = changed;
    }
    await Deno.writeTextFile(`${abs}/config.yml`, config);

    const etcd = [];
    for (let i = 1; i <= 3; i++) etcd.push(await net.addHost(`etcd${i}`));
    const db = await net.addHost("mariadb");
    const nodeHosts = [];
    for (let i = 1; i <= options.nodes; i++) nodeHosts.push(await net.addHost(`node${i}`));
    const client = await net.addHost("client");

    const etcdEndpoints = etcd.map((h) => `${h.address}:${PORTS.etcdClient}`);
    const initial = etcd.map((h) => `${h.name}=http://${h.address}:${PORTS.etcdPeer}`).join(",");
    const etcdProcs = etcd.map((h) =>
      h.spawn([
        "etcd",
        `--name=${h.name}`,
        `--data-dir=${abs}/${h.name}`,
        `--listen-client-urls=http://${h.address}:${PORTS.etcdClient}`,
        `--advertise-client-urls=http://${h.address}:${PORTS.etcdClient}`,
        `--listen-peer-urls=http://${h.address}:${PORTS.etcdPeer}`,
        `--initial-advertise-peer-urls=http://${h.address}:${PORTS.etcdPeer}`,
        `--initial-cluster=${initial}`,
        `--initial-cluster-token=distcache-${net.run}`,
        "--initial-cluster-state=new",
        // Quick elections, still far above the hosts' round trips on a busy machine.
        "--heartbeat-interval=50",
        "--election-timeout=500",
        "--log-level=warn",
      ], { onLine: line(h.name) })
    );

    const mariadbd = await Deno.stat("/usr/sbin/mariadbd").then(() => "/usr/sbin/mariadbd", () => "mariadbd");
    await run("mariadb-install-db", [
      "--no-defaults",
      "--user=root",
      `--datadir=${abs}/mariadb`,
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
    ]);
    const dbProc = db.spawn([
      mariadbd,
      "--no-defaults",
      "--user=root",
      `--datadir=${abs}/mariadb`,
      `--socket=${abs}/mariadb.sock`,
      `--pid-file=${abs}/mariadb.pid`,
      `--port=${PORTS.mysql}`,
      `--bind-address=${db.address}`,
      "--skip-name-resolve",
      "--innodb-buffer-pool-size=64M",
    ], { onLine: line(db.name) });
    const sql = "CREATE DATABASE IF NOT EXISTS distcache; " +
      "CREATE USER IF NOT EXISTS 'distcache'@'%' IDENTIFIED BY 'distcache'; " +
      "GRANT ALL ON distcache.* TO 'distcache'@'%';";
    await waitFor("MariaDB accepted connections", async () => {
      await run("mariadb", [`--socket=${abs}/mariadb.sock`, "-uroot", "-e", sql]);
      return true;
    }, dbProc);
    await Promise.all(
      etcd.map((h, i) =>
        waitFor(`etcd on ${h.name} healthy`, () => answers(`http://${etcdEndpoints[i]}/health`), etcdProcs[i])
      ),
    );

    const dbUrl = `mysql://distcache:distcache@${db.address}:${PORTS.mysql}/distcache`;
    const nodes: NodeHost[] = nodeHosts.map((host, i) => ({
      host,
      http: `http://${host.address}:${PORTS.http}`,
      grpc: `${host.address}:${PORTS.grpc}`,
      etcd: options.lastNodeOnEtcd3 && i === nodeHosts.length - 1 ? [etcdEndpoints[2]] : etcdEndpoints,
      process: undefined,
    }));
    const startNode = async (node: NodeHost) => {
      if (node.process) throw new Error(`${node.host.name} runs already`);
      // Exactly what a user types on the node's machine.
      node.process = node.host.spawn([
        "deno",
        "task",
        "start",
        "--config",
        `${dir}/config.yml`,
        "--host",
        node.host.address,
        "--etcd",
        node.etcd.join(","),
        "--db",
        dbUrl,
      ], { cwd: ROOT, env: { DISTCACHE_PEER_TOKEN: token, NO_COLOR: "1" }, onLine: line(node.host.name) });
      const proc = node.process;
      proc.status.then(() => {
        if (node.process === proc) node.process = undefined;
      });
      await waitFor(`${node.host.name} ready`, () => answers(`${node.http}/readyz`), proc);
    };
    // The first node creates and seeds the table; the others find it.
    await startNode(nodes[0]);
    await Promise.all(nodes.slice(1).map(startNode));

    const runLoad = async (targets: NodeHost[], args: string[]): Promise<LoadSummary> => {
      const proc = client.spawn([
        "deno",
        "task",
        "load",
        "--nodes",
        targets.map((n) => n.http).join(","),
        "--json",
        ...args,
      ], { cwd: ROOT, stdout: "piped", env: { NO_COLOR: "1" } });
      const [status, out] = await Promise.all([proc.status, proc.output]);
      if (!status.success) {
        throw new Error(`deno task load exited ${status.code}:\n${proc.log().slice(-2000)}`);
      }
      return JSON.parse(out.trim().split("\n").pop()!);
    };
    // A load is often awaited only after other steps; a failure of theirs must not leave it unhandled.
    const load = (targets: NodeHost[], args: string[]) => {
      const result = runLoad(targets, args);
      result.catch(() => {});
      return result;
    };
    return {
      net,
      etcd,
      db,
      client,
      nodes,
      etcdEndpoints,
      dbUrl,
      token,
      config: `${dir}/config.yml`,
      startNode,
      load,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
