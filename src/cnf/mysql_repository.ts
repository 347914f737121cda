/**
 * The shared store: table `cnf_metric` in MySQL or MariaDB through a bounded `mysql2` connection pool,
 * for clusters where every node must read the same source of truth.
 * @module
 */
import mysql from "mysql2/promise";
import { type CnfMetric, validateCnfId, validateCnfMetric } from "./cnf_metric.ts";
import { checkLimit, type CnfRow, COLUMNS, fromRow, toParams } from "./_row.ts";
import { withDeadline } from "./_deadline.ts";
import type { CnfRepository } from "./repository.ts";
import { seedMetrics } from "./seed.ts";

/** Where and how to connect. */
export interface MysqlRepositoryOptions {
  /** Server host name or IP address. */
  host: string;
  /** Server TCP port. */
  port: number;
  /** Account name. */
  user: string;
  /** Account password; empty for none. */
  password: string;
  /**
   * Database (schema) that holds or will hold table `cnf_metric`: 1-64 characters of `[A-Za-z0-9_]`.
   * Created when missing, if the account may.
   */
  database: string;
  /** Most connections the pool opens at once (default 8); further queries wait for a free one. */
  connectionLimit?: number;
  /**
   * Longest wait for one operation, in milliseconds (default 2000): connecting, waiting for a pooled
   * connection and the query together. A query that overruns is abandoned and its connection closed.
   */
  timeoutMs?: number;
}

/** The default of {@linkcode MysqlRepositoryOptions.timeoutMs}. */
export const DEFAULT_TIMEOUT_MS = 2000;

// cnf_id is ASCII with a binary collation so "CNF-001" and "cnf-001" are different keys, exactly as they
// are in the cache and in SQLite; MySQL's default collation would treat them as the same row.
const SCHEMA = `CREATE TABLE IF NOT EXISTS cnf_metric (
  cnf_id      VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  \`timestamp\` DATETIME(3) NOT NULL,
  metric_type VARCHAR(128) NOT NULL,
  value       DOUBLE NOT NULL,
  unit        VARCHAR(32) NOT NULL,
  status      VARCHAR(16) NOT NULL,
  PRIMARY KEY (cnf_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

const COLUMN_LIST = COLUMNS.map((c) => c === "timestamp" ? "`timestamp`" : c).join(", ");
const PLACEHOLDERS = "(?, ?, ?, ?, ?, ?)";
// VALUES(col) rather than MySQL 8's row alias, which MariaDB does not parse.
const UPSERT = `INSERT INTO cnf_metric (${COLUMN_LIST}) VALUES ${PLACEHOLDERS} ON DUPLICATE KEY UPDATE ` +
  COLUMNS.slice(1).map((c) => c === "timestamp" ? "`timestamp` = VALUES(`timestamp`)" : `${c} = VALUES(${c})`)
    .join(", ");
const DATABASE_NAME = /^[A-Za-z0-9_]{1,64}$/;

// Bounds the queue of callers waiting for a connection, so an overloaded database fails fast instead of
// piling up requests without limit.
const QUEUE_LIMIT = 1000;

/** A {@linkcode CnfRepository} over MySQL or MariaDB. Every statement on the table is parameterised. */
export class MysqlCnfRepository implements CnfRepository {
  readonly #pool: mysql.Pool;
  readonly #timeoutMs: number;
  #reads = 0;
  #closed = false;

  private constructor(pool: mysql.Pool, timeoutMs: number) {
    this.#pool = pool;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Connects, creates the database and table `cnf_metric` if missing, and seeds the table when it is
   * empty. Safe to run from several nodes at once and on every start.
   *
   * @param options Where and how to connect.
   * @returns The open repository.
   * @throws {Error} Naming the server and database when they cannot be reached.
   * @example
   * ```ts
   * const repo = await MysqlCnfRepository.open({
   *   host: "127.0.0.1", port: 3306, user: "distcache", password: "secret", database: "distcache",
   * });
   * ```
   */
  static async open(options: MysqlRepositoryOptions): Promise<MysqlCnfRepository> {
    const where = `${options.host}:${options.port}/${options.database}`;
    if (!DATABASE_NAME.test(options.database)) {
      throw new Error(
        `cannot open MySQL repository at ${where}: the database name must be 1-64 of [A-Za-z0-9_]`,
      );
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const connection = {
      host: options.host,
      port: options.port,
      user: options.user,
      password: options.password,
      connectTimeout: timeoutMs,
    };
    let pool: mysql.Pool | undefined;
    try {
      await createDatabase(connection, options.database);
      pool = mysql.createPool({
        ...connection,
        database: options.database,
        connectionLimit: options.connectionLimit ?? 8,
        waitForConnections: true,
        queueLimit: QUEUE_LIMIT,
        enableKeepAlive: true,
        // DATETIME comes back as text and is read as UTC here, so no driver or server time zone can shift it.
        dateStrings: true,
      });
      await pool.query(SCHEMA);
      const repo = new MysqlCnfRepository(pool, timeoutMs);
      await repo.#seedIfEmpty();
      return repo;
    } catch (err) {
      await pool?.end().catch(() => {});
      throw new Error(`cannot open MySQL repository at ${where}: ${(err as Error).message}`, { cause: err });
    }
  }

  async #seedIfEmpty(): Promise<void> {
    if (await this.count() > 0) return;
    const rows = seedMetrics();
    // Two nodes may find the table empty at once; the no-op on duplicate lets both seed the same rows.
    await this.#pool.execute(
      `INSERT INTO cnf_metric (${COLUMN_LIST}) VALUES ${rows.map(() => PLACEHOLDERS).join(", ")}
       ON DUPLICATE KEY UPDATE cnf_id = cnf_id`,
      rows.flatMap(params),
    );
  }

  /** Runs one prepared statement under the operation time limit. */
  #execute<T extends mysql.RowDataPacket[] | mysql.ResultSetHeader>(
    sql: string,
    values: (string | number)[],
    what: string,
  ): Promise<T> {
    const work = this.#pool.execute<T>({ sql, timeout: this.#timeoutMs }, values).then(([result]) => result);
    return withDeadline(work, this.#timeoutMs, what);
  }

  /** Source reads made by {@linkcode MysqlCnfRepository.get} since opening. */
  get reads(): number {
    return this.#reads;
  }

  /** Reads one CNF's metric, or `null` if it has none. */
  async get(cnfId: string): Promise<CnfMetric | null> {
    const id = validateCnfId(cnfId);
    this.#reads++;
    const rows = await this.#execute<mysql.RowDataPacket[]>(
      `SELECT ${COLUMN_LIST} FROM cnf_metric WHERE cnf_id = ?`,
      [id],
      `read of ${id}`,
    );
    return rows.length === 0 ? null : metricOf(rows[0] as CnfRow);
  }

  /** Inserts a metric or replaces the CNF's current one, in one statement. */
  async upsert(metric: CnfMetric): Promise<void> {
    const m = validateCnfMetric(metric);
    await this.#execute<mysql.ResultSetHeader>(UPSERT, params(m), `write of ${m.cnfId}`);
  }

  /** Up to `limit` metrics after `after`, in `cnf_id` byte order. */
  async list(after: string, limit: number): Promise<CnfMetric[]> {
    if (after !== "") validateCnfId(after);
    checkLimit(limit);
    const rows = await this.#execute<mysql.RowDataPacket[]>(
      `SELECT ${COLUMN_LIST} FROM cnf_metric WHERE cnf_id > ? ORDER BY cnf_id LIMIT ?`,
      // A string, because MySQL 8 refuses a LIMIT placeholder bound as a double, which JS numbers are.
      [after, String(limit)],
      "list",
    );
    return (rows as CnfRow[]).map(metricOf);
  }

  /** Replaces an existing metric; `false` if the CNF had none. */
  async update(metric: CnfMetric): Promise<boolean> {
    const [cnfId, ...rest] = params(validateCnfMetric(metric));
    const result = await this.#execute<mysql.ResultSetHeader>(
      "UPDATE cnf_metric SET `timestamp` = ?, metric_type = ?, value = ?, unit = ?, status = ? WHERE cnf_id = ?",
      [...rest, cnfId],
      `update of ${cnfId}`,
    );
    // affectedRows counts matched rows only with CLIENT_FOUND_ROWS, which mysql2 sets by default, so an
    // update that writes identical values still reports the row as present.
    return result.affectedRows > 0;
  }

  /** Removes a CNF's metric; `false` if it had none. */
  async delete(cnfId: string): Promise<boolean> {
    const id = validateCnfId(cnfId);
    const result = await this.#execute<mysql.ResultSetHeader>(
      "DELETE FROM cnf_metric WHERE cnf_id = ?",
      [id],
      `delete of ${id}`,
    );
    return result.affectedRows > 0;
  }

  /** The number of CNFs with a metric. */
  async count(): Promise<number> {
    const rows = await this.#execute<mysql.RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM cnf_metric",
      [],
      "count",
    );
    return Number(rows[0].n);
  }

  /** Closes every pooled connection once its current query ends; a second call does nothing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}

/**
 * Creates the database on a connection that names none, since the pool's connections need it to exist.
 * An account that may use the database but not create databases is fine as long as it exists.
 */
async function createDatabase(connection: mysql.ConnectionOptions, database: string): Promise<void> {
  const conn = await mysql.createConnection(connection);
  try {
    // A name cannot be a placeholder; it was checked against DATABASE_NAME and is quoted as an identifier.
    await conn.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(database)}`);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== "ER_DBACCESS_DENIED_ERROR" && code !== "ER_ACCESS_DENIED_ERROR") throw err;
  } finally {
    await conn.end().catch(() => {});
  }
}

/** Formats a Date as a MySQL DATETIME(3) literal in UTC: "2025-01-01 00:01:00.000". */
function toDatetime(d: Date): string {
  return d.toISOString().slice(0, 23).replace("T", " ");
}

function params(m: CnfMetric): [string, string, string, number, string, string] {
  return toParams(m, toDatetime(m.timestamp));
}

function metricOf(r: CnfRow): CnfMetric {
  return fromRow(r, new Date(`${r.timestamp.replace(" ", "T")}Z`));
}
