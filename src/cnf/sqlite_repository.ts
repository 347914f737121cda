/**
 * The embedded store: table `cnf_metric` in SQLite through `node:sqlite`, so a node runs with no database
 * server (the default `--db`).
 * @module
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { type CnfMetric, validateCnfId, validateCnfMetric } from "./cnf_metric.ts";
import { checkLimit, type CnfRow, COLUMNS, fromRow, toParams } from "./_row.ts";
import type { CnfRepository } from "./repository.ts";
import { seedMetrics } from "./seed.ts";

// Timestamps are stored as RFC 3339 text (toISOString), which sorts in time order and reads well in the
// sqlite3 shell. STRICT makes SQLite reject a wrongly typed value instead of silently storing it.
const SCHEMA = `CREATE TABLE IF NOT EXISTS cnf_metric (
  cnf_id      TEXT NOT NULL PRIMARY KEY,
  timestamp   TEXT NOT NULL,
  metric_type TEXT NOT NULL,
  value       REAL NOT NULL,
  unit        TEXT NOT NULL,
  status      TEXT NOT NULL
) STRICT`;

const COLUMN_LIST = COLUMNS.join(", ");

/** A {@linkcode CnfRepository} over one SQLite database file, or a private in-memory database. */
export class SqliteCnfRepository implements CnfRepository {
  readonly #db: DatabaseSync;
  readonly #select: StatementSync;
  readonly #insert: StatementSync;
  readonly #upsert: StatementSync;
  readonly #list: StatementSync;
  readonly #update: StatementSync;
  readonly #delete: StatementSync;
  readonly #count: StatementSync;
  #reads = 0;

  private constructor(db: DatabaseSync) {
    this.#db = db;
    this.#select = db.prepare(`SELECT ${COLUMN_LIST} FROM cnf_metric WHERE cnf_id = ?`);
    // Seeding must not overwrite rows another process wrote first.
    this.#insert = db.prepare(
      `INSERT INTO cnf_metric (${COLUMN_LIST}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (cnf_id) DO NOTHING`,
    );
    this.#upsert = db.prepare(
      `INSERT INTO cnf_metric (${COLUMN_LIST}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (cnf_id) DO UPDATE SET ` +
        COLUMNS.slice(1).map((c) => `${c} = excluded.${c}`).join(", "),
    );
    // TEXT compares as bytes (BINARY collation), the order MySQL's ascii_bin cnf_id column gives.
    this.#list = db.prepare(`SELECT ${COLUMN_LIST} FROM cnf_metric WHERE cnf_id > ? ORDER BY cnf_id LIMIT ?`);
    this.#update = db.prepare(
      "UPDATE cnf_metric SET timestamp = ?, metric_type = ?, value = ?, unit = ?, status = ? WHERE cnf_id = ?",
    );
    this.#delete = db.prepare("DELETE FROM cnf_metric WHERE cnf_id = ?");
    this.#count = db.prepare("SELECT COUNT(*) AS n FROM cnf_metric");
  }

  /**
   * Opens (creating if missing) the database at `path`, creates table `cnf_metric` if missing and seeds
   * it when it is empty. Re-opening an existing file keeps its rows and does not seed again.
   *
   * @param path A file path (its parent directories are made if missing) or `":memory:"`.
   * @returns The open repository.
   * @example
   * ```ts
   * const repo = SqliteCnfRepository.open(":memory:");
   * await repo.get("CNF-001");
   * ```
   */
  static open(path: string): SqliteCnfRepository {
    let db: DatabaseSync | undefined;
    try {
      if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
      db = new DatabaseSync(path);
      // Several nodes may share one file on a developer machine: wait for a lock rather than fail.
      db.exec("PRAGMA busy_timeout = 5000");
      db.exec(SCHEMA);
      const repo = new SqliteCnfRepository(db);
      repo.#seedIfEmpty();
      return repo;
    } catch (err) {
      if (db?.isOpen) db.close();
      throw new Error(`cannot open SQLite repository "${path}": ${(err as Error).message}`, { cause: err });
    }
  }

  #seedIfEmpty(): void {
    // IMMEDIATE takes the write lock before the emptiness check, so two processes opening the same new
    // file cannot both seed it.
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      if (this.#countNow() === 0) { for (const m of seedMetrics()) this.#insert.run(...params(m)); }
      this.#db.exec("COMMIT");
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  /** Source reads made by {@linkcode SqliteCnfRepository.get} since opening. */
  get reads(): number {
    return this.#reads;
  }

  /** Reads one CNF's metric, or `null` if it has none. */
  get(cnfId: string): Promise<CnfMetric | null> {
    // Promise.try turns a synchronous throw (validation, SQLite) into a rejection, as callers expect.
    return Promise.try(() => {
      const id = validateCnfId(cnfId);
      this.#reads++;
      const row = this.#select.get(id) as CnfRow | undefined;
      return row === undefined ? null : metricOf(row);
    });
  }

  /** Inserts a metric or replaces the CNF's current one, in one statement. */
  upsert(metric: CnfMetric): Promise<void> {
    return Promise.try(() => {
      this.#upsert.run(...params(validateCnfMetric(metric)));
    });
  }

  /** Up to `limit` metrics after `after`, in `cnf_id` byte order. */
  list(after: string, limit: number): Promise<CnfMetric[]> {
    return Promise.try(() => {
      if (after !== "") validateCnfId(after);
      checkLimit(limit);
      return (this.#list.all(after, limit) as unknown as CnfRow[]).map(metricOf);
    });
  }

  /** Replaces an existing metric; `false` if the CNF had none. */
  update(metric: CnfMetric): Promise<boolean> {
    return Promise.try(() => {
      const [cnfId, ...rest] = params(validateCnfMetric(metric));
      return Number(this.#update.run(...rest, cnfId).changes) > 0;
    });
  }

  /** Removes a CNF's metric; `false` if it had none. */
  delete(cnfId: string): Promise<boolean> {
    return Promise.try(() => Number(this.#delete.run(validateCnfId(cnfId)).changes) > 0);
  }

  /** The number of CNFs with a metric. */
  count(): Promise<number> {
    return Promise.try(() => this.#countNow());
  }

  #countNow(): number {
    return Number((this.#count.get() as { n: number }).n);
  }

  /** Closes the database; an in-memory one is discarded. */
  close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
    return Promise.resolve();
  }
}

function params(m: CnfMetric): [string, string, string, number, string, string] {
  return toParams(m, m.timestamp.toISOString());
}

function metricOf(r: CnfRow): CnfMetric {
  return fromRow(r, new Date(r.timestamp));
}
