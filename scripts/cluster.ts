/**
 * `deno task cluster`: runs config/Procfile (a three-member etcd cluster and three nodes) plus MariaDB when
 * it is installed, prefixes every line each process writes with its name, prints where everything listens,
 * and stops every child on Ctrl-C or SIGTERM. `deno task cluster --hosts [n]` runs it on network namespaces,
 * one host per process, each with an address of its own. `deno task cluster:stop` stops a running cluster from another
 * terminal through the process ids recorded in .cluster/pids.json, never by process name.
 * @module
 */
import { type HostCluster, PORTS, startHostCluster } from "./_host_cluster.ts";
import { type RunningPrometheus, startPrometheus } from "./_prometheus.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const DATA = `${ROOT}.cluster`;
const PID_FILE = `${DATA}/pids.json`;
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;

interface ProcEntry {
  name: string;
  command: string;
  args: string[];
}

interface Child {
  name: string;
  process: Deno.ChildProcess;
  exited: boolean;
  status: Promise<Deno.CommandStatus>;
}

/** What `cluster:stop` reads: the launcher's pid and each child's. */
interface PidFile {
  launcher: number;
  children: { name: string; pid: number }[];
}

const encoder = new TextEncoder();
const children: Child[] = [];
let nameWidth = 8;

function say(line: string): void {
  Deno.stdout.writeSync(encoder.encode(`${"cluster".padEnd(nameWidth)} | ${line}\n`));
}

async function hasCommand(command: string): Promise<boolean> {
  const out = await new Deno.Command("sh", { args: ["-c", `command -v "$0"`, command], stdout: "null" })
    .output();
  return out.success;
}

function portFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/** Reads config/Procfile, filling in $DATA, $DB and $NODE. */
async function readProcfile(vars: Record<string, string[]>): Promise<ProcEntry[]> {
  const text = await Deno.readTextFile(`${ROOT}config/Procfile`);
  const entries: ProcEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error(`config/Procfile: expected "name: command", got "${line}"`);
    const words = line.slice(colon + 1).trim().split(/\s+/).flatMap((w) =>
      w in vars ? vars[w] : [w.replace(/\$(DATA|DB)\b/g, (_, v) => vars[`$${v}`][0])]
    );
    entries.push({ name: line.slice(0, colon).trim(), command: words[0], args: words.slice(1) });
  }
  return entries;
}

/** Copies a child's output to ours, each line prefixed with its name. */
async function prefixLines(name: string, stream: ReadableStream<Uint8Array<ArrayBuffer>>): Promise<void> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop()!;
    for (const line of lines) Deno.stdout.writeSync(encoder.encode(`${name.padEnd(nameWidth)} | ${line}\n`));
  }
  if (rest) Deno.stdout.writeSync(encoder.encode(`${name.padEnd(nameWidth)} | ${rest}\n`));
}

function spawn(name: string, command: string, args: string[]): Child {
  const process = new Deno.Command(command, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  void prefixLines(name, process.stdout);
  void prefixLines(name, process.stderr);
  const child: Child = { name, process, exited: false, status: process.status };
  child.status.then((s) => {
    child.exited = true;
    if (!stopping) say(`${name} exited with code ${s.code}`);
  });
  children.push(child);
  return child;
}

async function writePidFile(): Promise<void> {
  const file: PidFile = {
    launcher: Deno.pid,
    children: children.map((c) => ({ name: c.name, pid: c.process.pid })),
  };
  await Deno.writeTextFile(PID_FILE, JSON.stringify(file, null, 2) + "\n");
}

/** Polls `check` every 100 ms until it answers true; throws naming `what` when a child dies or time runs out. */
async function waitFor(what: string, check: () => Promise<boolean>, watch: Child[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const dead = watch.find((c) => c.exited);
    if (dead) throw new Error(`${dead.name} exited before ${what}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within ${READY_TIMEOUT_MS / 1000} s`);
}

async function answers(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
  await res.body?.cancel();
  return res.ok;
}

let stopping = false;

/** Stops the nodes first (they revoke their leases while etcd is still up), then MariaDB, then etcd. */
async function stopAll(): Promise<void> {
  stopping = true;
  const waves = [
    children.filter((c) => c.name.startsWith("node")),
    children.filter((c) => c.name === "mariadb"),
    children.filter((c) => c.name.startsWith("etcd")),
  ];
  for (const wave of waves) {
    await Promise.all(wave.map(async (c) => {
      if (!c.exited) c.process.kill("SIGTERM");
      const timer = setTimeout(() => c.exited || c.process.kill("SIGKILL"), STOP_GRACE_MS);
      await c.status;
      clearTimeout(timer);
    }));
  }
  await Deno.remove(PID_FILE).catch(() => {});
}

/** Starts MariaDB on 3306 (or a free port) with its data in .cluster/mariadb; returns the nodes' URL. */
async function startMariaDb(): Promise<{ url: string; port: number }> {
  const dir = `${DATA}/mariadb`;
  let installed = true;
  try {
    await Deno.stat(`${dir}/data/mysql`);
  } catch {
    installed = false;
  }
  // A private tmpdir: servers bootstrapping side by side in the shared /tmp can collide on the names of
  // their temporary tables.
  await Deno.mkdir(`${dir}/tmp`, { recursive: true });
  if (!installed) {
    const out = await new Deno.Command("mariadb-install-db", {
      args: [
        "--no-defaults",
        "--user=root",
        `--datadir=${dir}/data`,
        `--tmpdir=${dir}/tmp`,
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`mariadb-install-db failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  let port = 3306;
  if (!portFree(port)) {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    port = (l.addr as Deno.NetAddr).port;
    l.close();
  }
  const mariadbd = await Deno.stat("/usr/sbin/mariadbd").then(() => "/usr/sbin/mariadbd", () => "mariadbd");
  const server = spawn("mariadb", mariadbd, [
    "--no-defaults",
    "--user=root",
    `--datadir=${dir}/data`,
    `--tmpdir=${dir}/tmp`,
    `--socket=${dir}/sock`,
    `--pid-file=${dir}/pid`,
    `--port=${port}`,
    "--bind-address=127.0.0.1",
    "--skip-name-resolve",
    "--innodb-buffer-pool-size=64M",
  ]);
  await writePidFile();
  const sql = "CREATE DATABASE IF NOT EXISTS distcache; " +
    "CREATE USER IF NOT EXISTS 'distcache'@'127.0.0.1' IDENTIFIED BY 'distcache'; " +
    "GRANT ALL ON distcache.* TO 'distcache'@'127.0.0.1';";
  await waitFor("MariaDB accepted connections", async () => {
    const out = await new Deno.Command("mariadb", {
      args: [`--socket=${dir}/sock`, "-uroot", "-e", sql],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  }, [server]);
  return { url: `mysql://distcache:distcache@127.0.0.1:${port}/distcache`, port };
}

/** The command line of a running process, or "" when there is none (ps, since Deno guards /proc). */
async function commandLine(pid: number): Promise<string> {
  const out = await new Deno.Command("ps", { args: ["-o", "args=", "-p", String(pid)], stdout: "piped" })
    .output();
  return out.success ? new TextDecoder().decode(out.stdout).trim() : "";
}

/** Sends SIGTERM to the launcher recorded in the pid file and waits for it to finish stopping the cluster. */
async function stopRunning(): Promise<number> {
  let file: PidFile;
  try {
    file = JSON.parse(await Deno.readTextFile(PID_FILE));
  } catch {
    console.error(`no cluster is running (${PID_FILE} not found)`);
    return 1;
  }
  // A pid is only signalled while it still runs the program recorded for it, so a reused pid is left alone.
  const isLauncher = async () => (await commandLine(file.launcher)).includes("scripts/cluster.ts");
  if (await isLauncher()) {
    Deno.kill(file.launcher, "SIGTERM");
    const deadline = Date.now() + 3 * STOP_GRACE_MS;
    while (await isLauncher() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (!(await isLauncher())) {
      console.log(`cluster stopped (launcher pid ${file.launcher})`);
      return 0;
    }
    console.error(`the launcher (pid ${file.launcher}) did not stop; stopping its children directly`);
  }
  const expected: Record<string, string> = { mariadb: "mariadbd", etcd: "etcd", node: "main.ts" };
  for (const c of file.children) {
    const want = expected[c.name.replace(/\d+$/, "")];
    if (want && (await commandLine(c.pid)).includes(want)) {
      Deno.kill(c.pid, "SIGTERM");
      console.log(`sent SIGTERM to ${c.name} (pid ${c.pid})`);
    }
  }
  await Deno.remove(PID_FILE).catch(() => {});
  return 0;
}

let prometheus: RunningPrometheus | null = null;

async function run(): Promise<number> {
  if (!(await hasCommand("etcd"))) {
    console.error(
      "deno task cluster needs etcd, which is not installed. Install it with:\n" +
        "  apt-get install -y etcd-server etcd-client",
    );
    return 1;
  }
  await Deno.mkdir(DATA, { recursive: true });
  try {
    const old: PidFile = JSON.parse(await Deno.readTextFile(PID_FILE));
    if ((await commandLine(old.launcher)).includes("scripts/cluster.ts")) {
      console.error(
        `a cluster is already running (launcher pid ${old.launcher}); deno task cluster:stop stops it`,
      );
      return 1;
    }
  } catch {
    // No previous cluster, or it is gone.
  }
  const fixedPorts = [2379, 22379, 32379, 12380, 22380, 32380, 9999, 10000, 10001, 2222, 2223, 2224];
  const busy = fixedPorts.filter((p) => !portFree(p));
  if (busy.length > 0) {
    console.error(`ports already in use on 127.0.0.1: ${busy.join(", ")}; stop whatever holds them first`);
    return 1;
  }
  const startTask: string = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks.start;
  const useMariaDb = await hasCommand("mariadb-install-db") && await hasCommand("mariadb");
  const placeholderDb = "$DB";
  const entries = await readProcfile({
    $DATA: [DATA],
    $DB: [placeholderDb],
    $NODE: startTask.split(/\s+/),
  });
  nameWidth = Math.max(8, ...entries.map((e) => e.name.length));
  const stopped = Promise.withResolvers<void>();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      if (!stopping) say(`${signal}: stopping every process`);
      stopped.resolve();
    });
  }
  const rows: string[][] = [];
  try {
    const etcds = entries.filter((e) => e.name.startsWith("etcd")).map((e) =>
      spawn(e.name, e.command, e.args)
    );
    await writePidFile();
    const clientPorts = [2379, 22379, 32379];
    await waitFor("etcd was healthy", async () => {
      const all = await Promise.all(clientPorts.map((p) => answers(`http://127.0.0.1:${p}/health`)));
      return all.every(Boolean);
    }, etcds);
    clientPorts.forEach((p, i) =>
      rows.push([`etcd${i + 1}`, `127.0.0.1:${p} (client)`, `127.0.0.1:${12380 + i * 10000} (peer)`])
    );

    let db: string;
    if (useMariaDb) {
      const maria = await startMariaDb();
      db = maria.url;
      rows.push(["mariadb", `127.0.0.1:${maria.port}`, "database distcache, user distcache"]);
      say(`database: MariaDB (${maria.url.replace(/:[^:@/]*@/, ":***@")})`);
    } else {
      db = `sqlite:data/cluster.db`;
      rows.push(["sqlite", "data/cluster.db", "one file shared by the nodes"]);
      say("database: MariaDB is not installed, so the nodes share one node:sqlite file, data/cluster.db");
    }
    const nodes = entries.filter((e) => e.name.startsWith("node")).map((e) =>
      spawn(e.name, e.command, e.args.map((a) => a === placeholderDb ? db : a))
    );
    await writePidFile();
    for (const e of entries.filter((e) => e.name.startsWith("node"))) {
      const http = e.args[e.args.indexOf("--http-port") + 1];
      const grpc = e.args[e.args.indexOf("--grpc-port") + 1];
      rows.push([e.name, `http://127.0.0.1:${http}`, `127.0.0.1:${grpc} (gRPC)`]);
    }
    await waitFor("every node was ready", async () => {
      const ready = await Promise.all([2222, 2223, 2224].map((p) => answers(`http://127.0.0.1:${p}/readyz`)));
      return ready.every(Boolean);
    }, [...etcds, ...nodes]);
    prometheus = await startPrometheus({ dataDir: `${DATA}/prometheus`, port: 9090 }).catch((e) => {
      say(`Prometheus did not start: ${(e as Error).message}`);
      return null;
    });
    rows.push(
      prometheus
        ? ["prometheus", prometheus.url, "scrapes the three nodes, evaluates config/prometheus/alerts.yml"]
        : ["prometheus", "not started", "install the Debian package prometheus to have it"],
    );
    say("cluster ready:");
    for (const r of rows) say(`  ${r[0].padEnd(10)} ${r[1].padEnd(28)} ${r[2]}`);
    say(
      "try: curl http://127.0.0.1:2222/_cache/metrics/CNF-001   (Ctrl-C or deno task cluster:stop to stop)",
    );
    const anyExit = Promise.race(children.map((c) => c.status));
    await Promise.race([stopped.promise, anyExit]);
    await prometheus?.stop();
    await stopAll();
    return 0;
  } catch (e) {
    say(`cannot start the cluster: ${(e as Error).message}`);
    await prometheus?.stop();
    await stopAll();
    return 1;
  }
}

/**
 * `deno task cluster --hosts [n]`: the same topology with every process on a host of its own (a network
 * namespace with its own address on a private bridge; needs root): three etcd members, MariaDB, n nodes
 * (default 3) started with `deno task start --host <address> ...`, and an empty host for clients.
 */
async function runHosts(nodes: number): Promise<number> {
  if (!(Number.isInteger(nodes) && nodes >= 1 && nodes <= 9)) {
    console.error("--hosts takes a number of nodes from 1 to 9");
    return 2;
  }
  nameWidth = 8;
  say("making hosts (network namespaces) and starting etcd, MariaDB and the nodes ...");
  let cluster: HostCluster;
  try {
    cluster = await startHostCluster({
      nodes,
      onLine: (host, line) => Deno.stdout.writeSync(encoder.encode(`${host.padEnd(nameWidth)} | ${line}\n`)),
    });
  } catch (e) {
    say(`cannot start the cluster on hosts: ${(e as Error).message}`);
    return 1;
  }
  say("cluster ready (Ctrl-C stops every process and removes every namespace and link):");
  cluster.etcd.forEach((h, i) => say(`  ${h.name.padEnd(8)} ${cluster.etcdEndpoints[i]}`));
  say(`  ${"mariadb".padEnd(8)} ${cluster.db.address}:${PORTS.mysql}  database distcache, user distcache`);
  for (const n of cluster.nodes) say(`  ${n.host.name.padEnd(8)} ${n.http}  ${n.grpc} (gRPC)`);
  say(`  ${"client".padEnd(8)} ${cluster.client.address}  (namespace ${cluster.client.namespace})`);
  say(`peer token (DISTCACHE_PEER_TOKEN): ${cluster.token}`);
  say(`try: curl ${cluster.nodes[0].http}/_cache/metrics/CNF-001`);
  say(
    `     ip netns exec ${cluster.client.namespace} deno task load --nodes ${
      cluster.nodes.map((n) => n.http).join(",")
    } --duration 10`,
  );
  const stopped = Promise.withResolvers<void>();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => stopped.resolve());
  }
  await stopped.promise;
  say("stopping every process and removing the hosts");
  await cluster.close();
  return 0;
}

const hostsAt = Deno.args.indexOf("--hosts");
Deno.exit(
  Deno.args[0] === "stop"
    ? await stopRunning()
    : hostsAt >= 0
    ? await runHosts(Number(Deno.args[hostsAt + 1] ?? 3))
    : await run(),
);
