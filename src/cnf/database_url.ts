/**
 * The shape of a database URL (`--db`, `database.url`), checked without opening anything, so that the
 * configuration can refuse a bad one before the node starts.
 * @module
 */
import { redactUrl } from "../redact.ts";

/** What a database URL names. */
export type DatabaseTarget =
  | { kind: "sqlite"; path: string }
  | { kind: "mysql"; host: string; port: number; user: string; password: string; database: string };

/** The accepted shapes, for error messages. */
export const DATABASE_URL_USAGE = "expected sqlite:<path>, sqlite::memory: or mysql://user:pass@host:port/db";

/**
 * Parses a database URL.
 *
 * @param url `sqlite::memory:`, `sqlite:<path>` or `mysql://user:pass@host[:port]/db` (user and password
 *   percent-decoded, port 3306 by default).
 * @returns What it names; `path` is ":memory:" for the in-memory SQLite database.
 * @throws {Error} Naming what is wrong; the message never includes the password.
 * @example
 * ```ts
 * import { parseDatabaseUrl } from "./database_url.ts";
 * parseDatabaseUrl("mysql://app:secret@db:3307/cnf"); // { kind: "mysql", host: "db", port: 3307, ... }
 * ```
 */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (url === "sqlite::memory:") return { kind: "sqlite", path: ":memory:" };
  if (url.startsWith("sqlite:")) {
    const path = url.slice("sqlite:".length);
    if (path === "" || path.startsWith("//")) {
      throw new Error(`"${url}" has no file path; ${DATABASE_URL_USAGE}`);
    }
    return { kind: "sqlite", path };
  }
  if (!url.startsWith("mysql://")) {
    throw new Error(`unsupported database URL "${redactUrl(url)}"; ${DATABASE_URL_USAGE}`);
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`malformed MySQL URL "${redactUrl(url)}"; ${DATABASE_URL_USAGE}`);
  }
  const database = decodeURIComponent(u.pathname.slice(1));
  if (u.hostname === "" || u.username === "" || database === "" || database.includes("/")) {
    throw new Error(
      `MySQL URL "${redactUrl(url)}" needs a user, a host and a database; ${DATABASE_URL_USAGE}`,
    );
  }
  return {
    kind: "mysql",
    host: u.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: u.port === "" ? 3306 : Number(u.port),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database,
  };
}
