/**
 * Starts Prometheus (the Debian package's /usr/bin/prometheus) on loopback, scraping the nodes of
 * `deno task cluster` with config/prometheus.yml or any targets given, for the cluster launcher and tests.
 * @module
 */

/** Where Debian installs Prometheus. */
export const PROMETHEUS = "/usr/bin/prometheus";

const CONFIG = new URL("../config/prometheus.yml", import.meta.url).pathname;
const ALERTS = new URL("../config/prometheus/alerts.yml", import.meta.url).pathname;

/** How to start Prometheus. */
export interface PrometheusOptions {
  /** Directory for its time series database (created when missing); also holds a generated config. */
  dataDir: string;
  /** Port of its web UI and API on 127.0.0.1; default 9090. */
  port?: number;
  /** host:port of each node to scrape instead of config/prometheus.yml's three; scraped every second. */
  targets?: string[];
  /** Path to the executable; default {@linkcode PROMETHEUS}. */
  binary?: string;
}

/** A running Prometheus. */
export interface RunningPrometheus {
  /** Its base URL, e.g. http://127.0.0.1:9090. */
  readonly url: string;
  readonly pid: number;
  /** Stops it with SIGTERM (SIGKILL after five seconds) and waits for it to exit. */
  stop(): Promise<void>;
}

async function installed(binary: string): Promise<boolean> {
  try {
    return (await Deno.stat(binary)).isFile;
  } catch {
    return false;
  }
}

/**
 * Starts Prometheus and waits until it is ready (`/-/ready`, up to 20 s).
 *
 * @param options Data directory, port and, optionally, the targets to scrape.
 * @returns The running Prometheus, or null when it is not installed (the launcher then runs without it).
 * @throws {Error} When it exits or is not ready in time; the message carries its output.
 * @example
 * ```ts
 * import { startPrometheus } from "./_prometheus.ts";
 *
 * const prometheus = await startPrometheus({ dataDir: ".cluster/prometheus", port: 9090 });
 * if (prometheus) console.log(`Prometheus on ${prometheus.url}`);
 * await prometheus?.stop();
 * ```
 */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus | null> {
  const binary = options.binary ?? PROMETHEUS;
  if (!(await installed(binary))) return null;
  const port = options.port ?? 9090;
  await Deno.mkdir(options.dataDir, { recursive: true });
  let config = CONFIG;
  if (options.targets) {
    config = `${options.dataDir}/prometheus.yml`;
    await Deno.writeTextFile(
      config,
      [
        "global: { scrape_interval: 1s, evaluation_interval: 1s }",
        `rule_files: [${JSON.stringify(ALERTS)}]`,
        "scrape_configs:",
        "  - job_name: distcache",
        "    metrics_path: /metrics",
        `    static_configs: [{ targets: ${JSON.stringify(options.targets)} }]`,
        "",
      ].join("\n"),
    );
  }
  const child = new Deno.Command(binary, {
    args: [
      `--config.file=${config}`,
      `--storage.tsdb.path=${options.dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let output = "";
  const reading = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) output += chunk;
  })();
  let exited = false;
  const status = child.status.finally(() => exited = true);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (!exited) child.kill("SIGTERM");
    const timer = setTimeout(() => exited || child.kill("SIGKILL"), 5000);
    await status;
    clearTimeout(timer);
    await reading;
  };
  const deadline = Date.now() + 20_000;
  while (true) {
    const ready = await fetch(`${url}/-/ready`).then(async (res) => {
      await res.body?.cancel();
      return res.ok;
    }, () => false);
    if (ready) return { url, pid: child.pid, stop };
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus on ${url} did not become ready:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
