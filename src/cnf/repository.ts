/**
 * Defines where CNF metrics are stored (the source of truth behind the `metrics` cache group) and opens
 * the right store for a `--db` URL.
 * @module
 */
import { type DatabaseTarget, parseDatabaseUrl } from "./database_url.ts";
import type { CnfMetric } from "./cnf_metric.ts";
import { MysqlCnfRepository } from "./mysql_repository.ts";
import { SqliteCnfRepository } from "./sqlite_repository.ts";

/**
 * The table `cnf_metric` behind the cache. Every method validates its input before it reaches the
 * database, so a bad id or metric fails with a `CnfValidationError` and never becomes a query.
 */
export interface CnfRepository {
  /**
   * Reads one CNF's metric.
   * @returns The metric, or `null` when the CNF has none.
   */
  get(cnfId: string): Promise<CnfMetric | null>;
  /**
   * Stores a metric: inserts it, or replaces the CNF's current one. Atomic in the database, so two
   * writers of one CNF leave one of their rows, never a mix or an error.
   */
  upsert(metric: CnfMetric): Promise<void>;
  /**
   * Reads up to `limit` metrics in `cnf_id` order (byte order, the same in every store), starting after
   * `after`, so pages can be fetched one by one without gaps or repeats while rows change.
   *
   * @param after The last `cnf_id` of the previous page, or `""` for the first page.
   * @param limit The most rows to return, 1 or more.
   */
  list(after: string, limit: number): Promise<CnfMetric[]>;
  /**
   * Replaces the metric of a CNF that has one.
   * @returns `true` if a row was replaced, `false` if the CNF had none (nothing is inserted).
   */
  update?(metric: CnfMetric): Promise<boolean>;
  /**
   * Removes a CNF's metric.
   * @returns `true` if a row was removed, `false` if the CNF had none.
   */
  delete?(cnfId: string): Promise<boolean>;
  /** The number of CNFs with a metric. */
  count(): Promise<number>;
  /**
   * How many times {@linkcode CnfRepository.get} has queried the store since it was opened, so tests and
   * benchmarks can show how many reads the cache saved. Writes and counts are not included.
   */
  readonly reads: number;
  /** Releases the connection(s); no method may be called afterwards. */
  close(): Promise<void>;
}

/** How to reach the store, beyond its URL. */
export interface RepositoryOptions {
  /**
   * Longest wait for one database operation, connection included, in milliseconds (default 2000); past it
   * the operation fails, so a hung database cannot hold a request. Applies to MySQL; SQLite calls are
   * local and synchronous.
   */
  timeoutMs?: number;
}

/**
 * Opens the store a `--db` URL names, creating table `cnf_metric` and seeding it when it is empty.
 *
 * - `sqlite::memory:`: a private in-memory database, gone on close.
 * - `sqlite:<path>`: a file (relative to the working directory); missing parent directories are made.
 * - `mysql://user:pass@host:port/db`: MySQL or MariaDB; user and password are percent-decoded, the port
 *   defaults to 3306.
 *
 * @param url The database URL.
 * @param options How long an operation may take.
 * @returns The open repository.
 * @throws {Error} When the URL has another shape (the message never includes the password) or the
 *   database cannot be reached.
 * @example
 * ```ts
 * const repo = await openRepository("sqlite::memory:");
 * await repo.count(); // 100
 * await repo.close();
 * ```
 */
export async function openRepository(url: string, options: RepositoryOptions = {}): Promise<CnfRepository> {
  let target: DatabaseTarget;
  try {
    target = parseDatabaseUrl(url);
  } catch (e) {
    throw new Error(`--db: ${(e as Error).message}`);
  }
  if (target.kind === "sqlite") return SqliteCnfRepository.open(target.path);
  const { kind: _, ...mysql } = target;
  return await MysqlCnfRepository.open({ ...mysql, timeoutMs: options.timeoutMs });
}
