/**
 * Defines how a node learns who its peers are: a membership source that feeds the ring and reports
 * its state for health pages and gauges.
 * @module
 */

/** A source of cluster membership (static list or etcd). */
export interface Discovery {
  /** How many members are on the ring as this source last saw it, this node included. */
  members(): number;
  /** Whether the source is reachable now (a static list always is). */
  connected(): boolean;
  /** Leaves the cluster (an etcd lease is revoked) and stops watching; safe to call twice. */
  close(): Promise<void>;
}
