/**
 * Starts a private MariaDB server for a test: its own temporary data directory, a free loopback port and
 * database `distcache`, so tests touch no shared server and leave nothing behind.
 * @module
 */
import mysql from "mysql2/promise";
import { freePort, spawnWatched, type Watched } from "./_process.ts";

/** How to start a test server. */
export interface MariaDbOptions {
  /** The password of account `distcache` (default "distcache"); a test looking for leaks picks its own. */
  password?: string;
}

/** A running test server. */
export interface MariaDb {
  /** `mysql://distcache:<password>@127.0.0.1:<port>/distcache`, ready for `openRepository`. */
  url: string;
  /** The loopback TCP port the server listens on. */
  port: number;
  /**
   * Runs one statement as root over the Unix socket (for status counters and checksums the test account
   * may not read) and returns its rows.
   */
  rootQuery(sql: string): Promise<Record<string, unknown>[]>;
  /** Stops the server as a crash would (SIGKILL), keeping its data directory and port for a restart. */
  kill(): Promise<void>;
  /**
   * Freezes (SIGSTOP) or thaws (SIGCONT) the server: connections stay open but nothing answers. Resolves
   * once every thread of the server has stopped (or, thawing, at once): a signal is delivered
   * asynchronously, and a thread still running on a loaded machine could answer one more query.
   */
  pause(paused: boolean): Promise<void>;
  /** Starts the server again on the same data directory and port, after a kill; resolves once it answers. */
  restart(): Promise<void>;
  /** Stops the server (SIGTERM, SIGKILL after 10 s) and removes its data directory; safe to call twice. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * Initialises a data directory, starts `mariadbd` on a free loopback port, waits until it accepts
 * connections, then creates database `distcache` and an account `distcache` (password `distcache`
 * unless `options.password` says otherwise) that may use and create every database named `distcache*`.
 *
 * @param options The account's password.
 * @returns The running server.
 * @throws {Error} With the server's error log when it fails to install, start or become ready.
 * @example
 * ```ts
 * const db = await startMariaDb();
 * try {
 *   const repo = await openRepository(db.url);
 *   await repo.close();
 * } finally {
 *   await db.stop();
 * }
 * ```
 */
export async function startMariaDb(options: MariaDbOptions = {}): Promise<MariaDb> {
  const password = options.password ?? "distcache";
  if (!/^[A-Za-z0-9_-]+$/.test(password)) throw new Error("startMariaDb: password must be [A-Za-z0-9_-]");
  const dir = await Deno.makeTempDir({ prefix: "distcache-mariadb-" });
  const port = freePort();
  let server: Watched | undefined;
  const spawn = () =>
    server = spawnWatched(mariadbdPath(), [
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
      `--log-error=${dir}/err.log`,
    ]);
  const halt = async (signal: Deno.Signal) => {
    if (server === undefined) return;
    const child = server;
    server = undefined;
    try {
      // A frozen server ignores SIGTERM until thawed.
      Deno.kill(child.pid, "SIGCONT");
    } catch {
      // It has exited already.
    }
    await child.stop(signal, STOP_TIMEOUT_MS);
  };
  const stop = async () => {
    await halt("SIGTERM");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const rootQuery = async (sql: string) => {
    const conn = await mysql.createConnection({ socketPath: `${dir}/sock`, user: "root" });
    try {
      const [rows] = await conn.query(sql);
      return rows as Record<string, unknown>[];
    } finally {
      await conn.end();
    }
  };
  try {
    await install(dir);
    await createDatabase(dir, spawn(), password);
    return {
      url: `mysql://distcache:${password}@127.0.0.1:${port}/distcache`,
      port,
      rootQuery,
      kill: () => halt("SIGKILL"),
      pause: async (paused) => {
        if (!server) return;
        Deno.kill(server.pid, paused ? "SIGSTOP" : "SIGCONT");
        if (paused) await allThreadsStopped(server.pid);
      },
      restart: async () => {
        if (server !== undefined) throw new Error("restart: the server is still running; kill it first");
        await createDatabase(dir, spawn(), password);
      },
      stop,
    };
  } catch (err) {
    const log = await Deno.readTextFile(`${dir}/err.log`).catch(() => "");
    await stop();
    throw new Error(`MariaDB did not start: ${(err as Error).message}\n${log.slice(-2000)}`, { cause: err });
  }
}

// Debian installs mariadbd in /usr/sbin, which is not on every PATH (CI runners, non-login shells).
function mariadbdPath(): string {
  try {
    Deno.statSync("/usr/sbin/mariadbd");
    return "/usr/sbin/mariadbd";
  } catch {
    return "mariadbd";
  }
}

/**
 * Waits until every thread of `pid` is in the stopped state ("T" in /proc/<pid>/task/<tid>/stat). Read
 * with `sh`: Deno lets only --allow-all read /proc/<pid>.
 */
async function allThreadsStopped(pid: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const out = await new Deno.Command("sh", {
      args: ["-c", `cat /proc/${pid}/task/*/stat`],
      stdout: "piped",
      stderr: "null",
    }).output();
    // The state follows the command name, which is in parentheses and may hold spaces.
    const states = new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "")
      .map((l) => l.slice(l.lastIndexOf(")") + 2, l.lastIndexOf(")") + 3));
    if (states.length > 0 && states.every((st) => st === "T")) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`mariadbd ${pid} did not stop within ${READY_TIMEOUT_MS} ms of SIGSTOP`);
}

async function install(dir: string): Promise<void> {
  await Deno.mkdir(`${dir}/tmp`, { recursive: true });
  const out = await new Deno.Command("mariadb-install-db", {
    args: [
      "--no-defaults",
      "--user=root",
      `--datadir=${dir}/data`,
      // A private tmpdir: servers bootstrapping side by side in the shared /tmp can collide on the names of
      // their temporary tables ("Could not remove temporary table", then the install aborts).
      `--tmpdir=${dir}/tmp`,
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
    ],
    stdin: "null",
  }).output().catch((err) => {
    throw new Error(`cannot run mariadb-install-db (is MariaDB server installed?): ${err.message}`);
  });
  if (!out.success) {
    throw new Error(`mariadb-install-db exited ${out.code}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * Retries over the Unix socket until the server answers, then provisions the test database and account.
 * Idempotent, so a restart runs it again to wait for readiness.
 */
async function createDatabase(dir: string, server: Watched, password: string): Promise<void> {
  await server.waitUntil(
    async () => {
      const conn = await mysql.createConnection({ socketPath: `${dir}/sock`, user: "root" });
      try {
        await conn.query("CREATE DATABASE IF NOT EXISTS distcache");
        // An account bound to 127.0.0.1 with a password exercises the TCP and credential parts of the URL.
        await conn.query(`CREATE USER IF NOT EXISTS 'distcache'@'127.0.0.1' IDENTIFIED BY '${password}'`);
        // Every database named distcache*, so tests can check that a repository creates a missing one.
        await conn.query("GRANT ALL ON `distcache%`.* TO 'distcache'@'127.0.0.1'");
        return true;
      } finally {
        await conn.end();
      }
    },
    "accepting connections",
    READY_TIMEOUT_MS,
  );
}
