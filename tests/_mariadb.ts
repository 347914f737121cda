/**
 * Starts a private MariaDB server for a test: its own temporary data directory, a free loopback port and
 * database `distcache`, so tests touch no shared server and leave nothing behind.
 * @module
 */
import mysql from "mysql2/promise";
import { freePort, spawnWatched, type Watched } from "./_process.ts";

/** A running test server. */
export interface MariaDb {
  /** `mysql://distcache:distcache@127.0.0.1:<port>/distcache`, ready for `openRepository`. */
  url: string;
  /** The loopback TCP port the server listens on. */
  port: number;
  /** Stops the server (SIGTERM, SIGKILL after 10 s) and removes its data directory; safe to call twice. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * Initialises a data directory, starts `mariadbd` on a free loopback port, waits until it accepts
 * connections, then creates database `distcache` and an account `distcache`/`distcache` for it.
 *
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
export async function startMariaDb(): Promise<MariaDb> {
  const dir = await Deno.makeTempDir({ prefix: "distcache-mariadb-" });
  let server: Watched | undefined;
  const stop = async () => {
    if (server !== undefined) {
      const child = server;
      server = undefined;
      await child.stop("SIGTERM", STOP_TIMEOUT_MS);
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await install(dir);
    const port = freePort();
    server = spawnWatched(mariadbdPath(), [
      "--no-defaults",
      "--user=root",
      `--datadir=${dir}/data`,
      `--socket=${dir}/sock`,
      `--pid-file=${dir}/pid`,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      "--skip-name-resolve",
      "--innodb-buffer-pool-size=64M",
      `--log-error=${dir}/err.log`,
    ]);
    await createDatabase(dir, server);
    return { url: `mysql://distcache:distcache@127.0.0.1:${port}/distcache`, port, stop };
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

async function install(dir: string): Promise<void> {
  const out = await new Deno.Command("mariadb-install-db", {
    args: [
      "--no-defaults",
      "--user=root",
      `--datadir=${dir}/data`,
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

/** Retries over the Unix socket until the server answers, then provisions the test database and account. */
async function createDatabase(dir: string, server: Watched): Promise<void> {
  await server.waitUntil(
    async () => {
      const conn = await mysql.createConnection({ socketPath: `${dir}/sock`, user: "root" });
      try {
        await conn.query("CREATE DATABASE IF NOT EXISTS distcache");
        // An account bound to 127.0.0.1 with a password exercises the TCP and credential parts of the URL.
        await conn.query("CREATE USER IF NOT EXISTS 'distcache'@'127.0.0.1' IDENTIFIED BY 'distcache'");
        await conn.query("GRANT ALL ON distcache.* TO 'distcache'@'127.0.0.1'");
        return true;
      } finally {
        await conn.end();
      }
    },
    "accepted connections",
    READY_TIMEOUT_MS,
  );
}
