/**
 * The CNF-metrics domain: the metric record and its JSON cache value, the seed data, the repositories
 * (SQLite or MySQL) behind group `metrics`, and the gRPC service `cnfmetricspb.CnfMetricsService`.
 * @module
 */
export * from "./cnf_metric.ts";
export * from "./cnf_metric_message.ts";
export * from "./seed.ts";
export * from "./repository.ts";
export * from "./sqlite_repository.ts";
export * from "./mysql_repository.ts";
export * from "./service.ts";
export * from "./page_token.ts";
