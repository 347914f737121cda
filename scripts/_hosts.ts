/**
 * Hosts on one machine: each host is a Linux network namespace with its own address on a private bridge,
 * so processes talk over a real network that can fail. A link can be cut, two groups of hosts can be
 * partitioned from each other, and a host's link can be slowed. Every namespace, link and process a run
 * makes carries the run's name, and is removed on `close()`, on SIGINT/SIGTERM, by a watchdog process
 * when the run dies without either, or by the next run's sweep. Needs root and iproute2.
 *
 * ```ts
 * const net = await Network.create();
 * try {
 *   const a = await net.addHost("a");
 *   const proc = a.spawn(["sleep", "1"]);
 *   await proc.status;
 * } finally {
 *   await net.close();
 * }
 * ```
 * @module
 */

const SLOW_LINK = new URL("./_slow_link.py", import.meta.url).pathname;
/** Marks every link a run makes (`ifalias`), with the pid of the process that made it. */
const ALIAS = "distcache-hosts";
const NS_PREFIX = "distcache-";
/** A MAC address no host has: a neighbour entry pointing there drops traffic silently, as a partition does. */
const NOWHERE_MAC = "02:dc:00:00:00:01";
const STOP_GRACE_MS = 5_000;

const decoder = new TextDecoder();

/** Thrown when network namespaces cannot be made here (not root, no iproute2, no bridge support). */
export class NoNamespacesError extends Error {
  override name = "NoNamespacesError";
}

/** Runs `ip` with `args`; throws with its stderr when it fails. */
export async function ip(...args: string[]): Promise<string> {
  let out;
  try {
    out = await new Deno.Command("ip", { args, stdout: "piped", stderr: "piped", stdin: "null" }).output();
  } catch (e) {
    throw new NoNamespacesError(`cannot run ip (iproute2): ${(e as Error).message}`);
  }
  if (!out.success) throw new Error(`ip ${args.join(" ")}: ${decoder.decode(out.stderr).trim()}`);
  return decoder.decode(out.stdout);
}

/** Whether process `pid` exists (through ps: Deno allows /proc only to --allow-all). */
export async function alive(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", { args: ["-p", String(pid)], stdout: "null", stderr: "null" })
    .output();
  return out.success;
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // It has exited already.
  }
}

async function namespacePids(namespace: string): Promise<number[]> {
  const out = await ip("netns", "pids", namespace).catch(() => "");
  return out.split("\n").filter((l) => /^\d+$/.test(l)).map(Number);
}

/**
 * Stops every process in `namespace`: SIGTERM, then SIGKILL for those left after `graceMs`; with
 * `graceMs` 0, SIGKILL at once (a crash, not a shutdown).
 */
async function emptyNamespace(namespace: string, graceMs = STOP_GRACE_MS): Promise<void> {
  const pids = await namespacePids(namespace);
  for (const pid of pids) {
    signal(pid, "SIGCONT");
    signal(pid, graceMs === 0 ? "SIGKILL" : "SIGTERM");
  }
  const deadline = Date.now() + graceMs;
  while ((await namespacePids(namespace)).length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const pid of await namespacePids(namespace)) signal(pid, "SIGKILL");
}

/**
 * Removes what runs that are no longer alive left behind: their processes, namespaces and links. A run
 * names its namespaces `distcache-<run>-<pid>-<host>` and marks its links with `distcache-hosts <pid>`.
 *
 * @returns The names of what was removed.
 */
export async function sweep(): Promise<string[]> {
  const removed: string[] = [];
  const namespaces = (await ip("netns", "list")).split("\n").map((l) => l.split(" ")[0]);
  for (const ns of namespaces) {
    const m = /^distcache-[a-z0-9]+-(\d+)-/.exec(ns);
    if (!m || await alive(Number(m[1]))) continue;
    await emptyNamespace(ns, 1000);
    await ip("netns", "del", ns).catch(() => {});
    await Deno.remove(`/etc/netns/${ns}`, { recursive: true }).catch(() => {});
    removed.push(ns);
  }
  const links = JSON.parse(await ip("-j", "link", "show")) as { ifname: string; ifalias?: string }[];
  for (const link of links) {
    const m = new RegExp(`^${ALIAS} (\\d+)$`).exec(link.ifalias ?? "");
    if (!m || await alive(Number(m[1]))) continue;
    await ip("link", "del", link.ifname).catch(() => {});
    removed.push(link.ifname);
  }
  return removed;
}

/** A process started on a host. */
export interface HostProcess {
  readonly pid: number;
  /** What it wrote to stderr so far (and stdout, unless piped for `output`). */
  log(): string;
  /** Its exit status. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Everything it wrote to stdout, once it exits (only with `stdout: "piped"`). */
  readonly output: Promise<string>;
  /** Sends `signal` (SIGKILL after `graceMs`) and resolves to the exit code. */
  stop(signal?: Deno.Signal, graceMs?: number): Promise<number>;
}

/** How to start a process on a host. */
export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** "piped": stdout is kept apart for `output`; otherwise it is logged with stderr. */
  stdout?: "piped" | "log";
  /** Called with every line the process writes to its log. */
  onLine?: (line: string) => void;
}

/** One host: a network namespace with one address on the run's bridge. */
export interface Host {
  /** Its short name, e.g. "etcd1". */
  readonly name: string;
  /** The network namespace. */
  readonly namespace: string;
  /** Its IPv4 address. */
  readonly address: string;
  /** Starts `command` inside the host's namespace. */
  spawn(command: string[], options?: SpawnOptions): HostProcess;
  /** Stops every process on the host: SIGTERM (SIGKILL after the grace), or SIGKILL at once. */
  stopAll(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
}

interface HostState extends Host {
  /** The host's end of its link, on the bridge side. */
  link: string;
  index: number;
  slow?: { relay: Deno.ChildProcess; bridgeEnd: string; relayEnd: string };
}

/** How to slow a host's link, in each direction. */
export interface SlowLink {
  delayMs: number;
  jitterMs: number;
  /** Share of frames dropped, 0 to 1. */
  loss: number;
}

/** A private network of hosts. */
export class Network {
  /** The run's name, part of every namespace and link it makes. */
  readonly run: string;
  /** The first three octets of the hosts' /24, e.g. "10.213.7". */
  readonly subnet: string;
  /** The bridge's address: where processes outside the namespaces (this one) reach the hosts from. */
  readonly gateway: string;
  readonly #bridge: string;
  readonly #hosts: HostState[] = [];
  readonly #processes = new Set<HostProcess>();
  #closed = false;
  #closing: Promise<void> | undefined;
  #removeSignals: () => void = () => {};
  #watchdog = 0;
  #beforeClose: (() => Promise<void>)[] = [];
  #afterClose: (() => Promise<void>)[] = [];

  private constructor(run: string, subnet: string) {
    this.run = run;
    this.subnet = subnet;
    this.gateway = `${subnet}.254`;
    this.#bridge = `dc${run}br`;
  }

  /**
   * Sweeps what dead runs left, then makes a bridge on a free private /24 with a name of its own.
   * SIGINT and SIGTERM close the network, then exit with status 130 or 143.
   *
   * @throws {NoNamespacesError} When this machine cannot make namespaces or bridges (not root?).
   */
  static async create(): Promise<Network> {
    if (Deno.build.os !== "linux") throw new NoNamespacesError("network namespaces need Linux");
    try {
      await sweep();
    } catch (e) {
      throw new NoNamespacesError(`cannot list network namespaces: ${(e as Error).message}`);
    }
    const run = Array.from(crypto.getRandomValues(new Uint8Array(5)), (b) => (b % 36).toString(36)).join("");
    const net = new Network(run, await freeSubnet());
    try {
      await ip("link", "add", net.#bridge, "type", "bridge");
      await ip("link", "set", net.#bridge, "alias", `${ALIAS} ${Deno.pid}`);
      await ip("addr", "add", `${net.gateway}/24`, "dev", net.#bridge);
      await ip("link", "set", net.#bridge, "up");
    } catch (e) {
      await ip("link", "del", net.#bridge).catch(() => {});
      throw new NoNamespacesError(
        `cannot make a bridge for the hosts (run as root with iproute2): ${(e as Error).message}`,
      );
    }
    net.#watchSignals();
    net.#watchdog = await startWatchdog(run);
    return net;
  }

  /** The hosts made so far. */
  get hosts(): readonly Host[] {
    return this.#hosts;
  }

  /**
   * Adds a host: a namespace, a veth pair with one end on the bridge, the next address of the subnet.
   *
   * @param name Short name: letters and digits.
   * @param hostsFile Lines for the host's /etc/hosts (`ip netns exec` mounts /etc/netns/<ns>/hosts).
   */
  async addHost(name: string, hostsFile?: string): Promise<Host> {
    if (!/^[a-z0-9]{1,20}$/.test(name)) throw new Error(`host name ${JSON.stringify(name)}: use a-z 0-9`);
    if (this.#hosts.some((h) => h.name === name)) throw new Error(`host ${name} exists already`);
    const index = this.#hosts.length + 1;
    if (index > 250) throw new Error("at most 250 hosts on one network");
    const namespace = `${NS_PREFIX}${this.run}-${Deno.pid}-${name}`;
    const link = `dc${this.run}h${index}`;
    const address = `${this.subnet}.${index}`;
    const host: HostState = {
      name,
      namespace,
      address,
      link,
      index,
      spawn: (command, options) => this.#spawn(namespace, command, options),
      stopAll: (sig = "SIGTERM") => emptyNamespace(namespace, sig === "SIGKILL" ? 0 : STOP_GRACE_MS),
    };
    this.#hosts.push(host);
    if (hostsFile !== undefined) {
      await Deno.mkdir(`/etc/netns/${namespace}`, { recursive: true });
      await Deno.writeTextFile(`/etc/netns/${namespace}/hosts`, hostsFile);
    }
    await ip("netns", "add", namespace);
    await ip("link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", namespace);
    await ip("link", "set", link, "alias", `${ALIAS} ${Deno.pid}`);
    await ip("link", "set", link, "master", this.#bridge, "up");
    await ip("-n", namespace, "link", "set", "lo", "up");
    // Frames no larger than the MTU, so a slowed link's relay can pass each one on as it came.
    await ip("-n", namespace, "link", "set", "eth0", "gso_max_size", "1500", "gro_max_size", "1500");
    await ip("-n", namespace, "addr", "add", `${address}/24`, "dev", "eth0");
    await ip("-n", namespace, "link", "set", "eth0", "up");
    return host;
  }

  /** Cuts a host off from everything: its link goes down, as when a cable is pulled. */
  async cut(host: Host): Promise<void> {
    await ip("link", "set", this.#state(host).link, "down");
  }

  /** Brings a cut host's link up again. */
  async heal(host: Host): Promise<void> {
    await ip("link", "set", this.#state(host).link, "up");
  }

  /**
   * Partitions `a` from `b`: every packet between a host of `a` and a host of `b` is dropped silently,
   * in both directions, while each side still reaches everything else.
   */
  async partition(a: readonly Host[], b: readonly Host[]): Promise<void> {
    const nowhere = (from: Host, to: Host) =>
      ip(
        "-n",
        from.namespace,
        "neigh",
        "replace",
        to.address,
        "lladdr",
        NOWHERE_MAC,
        "dev",
        "eth0",
        "nud",
        "permanent",
      );
    for (const x of a) {
      for (const y of b) {
        await nowhere(x, y);
        await nowhere(y, x);
      }
    }
  }

  /** Undoes {@linkcode Network.partition} between `a` and `b`. */
  async join(a: readonly Host[], b: readonly Host[]): Promise<void> {
    for (const x of a) {
      for (const y of b) {
        await ip("-n", x.namespace, "neigh", "del", y.address, "dev", "eth0").catch(() => {});
        await ip("-n", y.namespace, "neigh", "del", x.address, "dev", "eth0").catch(() => {});
      }
    }
  }

  /**
   * Slows a host's link in both directions: each frame is delayed by `delayMs` ± `jitterMs` (uniform)
   * and a `loss` share is dropped. A relay process takes the host's link off the bridge and passes
   * frames between the two (the kernel's netem qdisc is not available on every machine).
   */
  async slow(host: Host, link: SlowLink): Promise<void> {
    const h = this.#state(host);
    if (h.slow) throw new Error(`the link of ${h.name} is slowed already`);
    const bridgeEnd = `dc${this.run}s${h.index}`;
    const relayEnd = `dc${this.run}r${h.index}`;
    await ip("link", "add", bridgeEnd, "type", "veth", "peer", "name", relayEnd);
    for (const l of [bridgeEnd, relayEnd]) await ip("link", "set", l, "alias", `${ALIAS} ${Deno.pid}`);
    await ip("link", "set", relayEnd, "promisc", "on", "up");
    await ip("link", "set", h.link, "nomaster");
    await ip("link", "set", h.link, "promisc", "on");
    const relay = new Deno.Command("/usr/bin/python3", {
      args: [SLOW_LINK, h.link, relayEnd, String(link.delayMs), String(link.jitterMs), String(link.loss)],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = relay.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader.read();
    reader.releaseLock();
    relay.stdout.cancel().catch(() => {});
    if (!first.value?.startsWith("ready")) throw new Error(`the slow-link relay for ${h.name} did not start`);
    await ip("link", "set", bridgeEnd, "master", this.#bridge, "up");
    h.slow = { relay, bridgeEnd, relayEnd };
  }

  /** Undoes {@linkcode Network.slow}: the host's link is back on the bridge. */
  async unslow(host: Host): Promise<void> {
    const h = this.#state(host);
    const slow = h.slow;
    if (!slow) return;
    h.slow = undefined;
    await ip("link", "del", slow.bridgeEnd).catch(() => {});
    try {
      slow.relay.kill("SIGTERM");
    } catch {
      // It stopped when its link went away.
    }
    await slow.relay.status;
    await ip("link", "set", h.link, "promisc", "off");
    await ip("link", "set", h.link, "master", this.#bridge, "up");
  }

  /**
   * Stops every process on every host, then removes the namespaces, links and /etc/netns files of the
   * run. Safe to call more than once.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#removeSignals();
    for (const work of this.#beforeClose) await work().catch(() => {});
    await Promise.all(this.#hosts.map((h) => emptyNamespace(h.namespace)));
    await Promise.all([...this.#processes].map((p) => p.stop("SIGKILL", 0)));
    for (const h of this.#hosts) await this.unslow(h).catch(() => {});
    for (const h of this.#hosts) {
      await ip("netns", "del", h.namespace).catch(() => {});
      await Deno.remove(`/etc/netns/${h.namespace}`, { recursive: true }).catch(() => {});
    }
    await ip("link", "del", this.#bridge).catch(() => {});
    if (this.#watchdog) signal(this.#watchdog, "SIGKILL");
    for (const work of this.#afterClose) await work().catch(() => {});
  }

  /**
   * Runs `work` when the network closes (also on SIGINT/SIGTERM): "before" anything is stopped (to stop
   * hosts in an order), or "after" everything is gone (to remove files the processes wrote).
   */
  onClose(when: "before" | "after", work: () => Promise<void>): void {
    (when === "before" ? this.#beforeClose : this.#afterClose).push(work);
  }

  #state(host: Host): HostState {
    const h = this.#hosts.find((x) => x.namespace === host.namespace);
    if (!h) throw new Error(`${host.name} is not a host of this network`);
    return h;
  }

  #watchSignals(): void {
    const onSignal = (sig: "SIGINT" | "SIGTERM") => () => {
      this.close().finally(() => Deno.exit(sig === "SIGINT" ? 130 : 143));
    };
    const int = onSignal("SIGINT");
    const term = onSignal("SIGTERM");
    Deno.addSignalListener("SIGINT", int);
    Deno.addSignalListener("SIGTERM", term);
    this.#removeSignals = () => {
      Deno.removeSignalListener("SIGINT", int);
      Deno.removeSignalListener("SIGTERM", term);
    };
  }

  #spawn(namespace: string, command: string[], options: SpawnOptions = {}): HostProcess {
    if (this.#closed) throw new Error("the network is closed");
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", namespace, ...command],
      env: options.env,
      cwd: options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let log = "";
    const append = async (stream: ReadableStream<Uint8Array<ArrayBuffer>>) => {
      let partial = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        log += chunk;
        if (!options.onLine) continue;
        const lines = (partial + chunk).split("\n");
        partial = lines.pop()!;
        lines.forEach(options.onLine);
      }
      if (partial && options.onLine) options.onLine(partial);
    };
    const stdoutText = options.stdout === "piped"
      ? new Response(child.stdout).text()
      : append(child.stdout).then(() => "");
    const reading = Promise.all([stdoutText, append(child.stderr)]);
    let exited = false;
    const status = child.status.then((s) => {
      exited = true;
      return s;
    });
    const proc: HostProcess = {
      pid: child.pid,
      log: () => log,
      status,
      output: reading.then(([out]) => out),
      async stop(sig: Deno.Signal = "SIGTERM", graceMs = STOP_GRACE_MS) {
        if (!exited) signal(child.pid, sig);
        const timer = setTimeout(() => exited || signal(child.pid, "SIGKILL"), graceMs);
        const s = await status;
        clearTimeout(timer);
        await reading.catch(() => {});
        return s.code;
      },
    };
    this.#processes.add(proc);
    status.finally(() => this.#processes.delete(proc));
    return proc;
  }
}

/**
 * Starts a shell, outside this process's group of children, that waits for this process to end and then
 * removes whatever of the run is left: the last resort when the process dies without `close()` (SIGKILL,
 * or an uncaught error that ends a test run). Returns its pid, so `close()` can end it.
 */
async function startWatchdog(run: string): Promise<number> {
  const script = `
while [ -d /proc/${Deno.pid} ]; do sleep 0.5; done
for ns in $(ip netns list | grep -o '^${NS_PREFIX}${run}-${Deno.pid}-[a-z0-9]*'); do
  for pid in $(ip netns pids "$ns"); do kill -9 "$pid"; done
  ip netns del "$ns"; rm -rf "/etc/netns/$ns"
done
for link in $(ip -o link show | grep -o 'dc${run}[a-z0-9]*' | sort -u); do ip link del "$link"; done
`;
  const out = await new Deno.Command("sh", {
    args: ["-c", 'setsid sh -c "$0" </dev/null >/dev/null 2>&1 & echo $!', script],
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).output();
  return Number(decoder.decode(out.stdout).trim()) || 0;
}

/** A private 10.x.y.0/24 that no address or route of this machine overlaps. */
async function freeSubnet(): Promise<string> {
  const routes = await ip("-4", "route", "show", "table", "all");
  const addresses = await ip("-4", "-o", "addr", "show");
  for (let tries = 0; tries < 100; tries++) {
    const [b, c] = crypto.getRandomValues(new Uint8Array(2));
    const subnet = `10.${200 + (b % 50)}.${c}`;
    const prefix = `${subnet}.`;
    if (!routes.includes(prefix) && !addresses.includes(prefix) && !routes.includes(`10.0.0.0/8`)) {
      return subnet;
    }
  }
  throw new NoNamespacesError("no free 10.x.y.0/24 for the hosts' bridge");
}
