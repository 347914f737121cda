/**
 * Settings shared by the HTTP and gRPC peer clients.
 * @module
 */
import type { NodeMetrics } from "../metrics.ts";
import type { BreakerOptions } from "./breaker.ts";
import type { FailureLog } from "./failure_log.ts";

/** How a node calls its peers. */
export interface PeerOptions {
  /**
   * The peer token to send, read on every call so a reloaded token file takes effect at once. Sent with
   * every call (reads too), so peers whose reads require a token still answer forwarded reads.
   */
  token: () => string;
  /** Deadline of every call, in milliseconds. */
  timeoutMs: number;
  /** Where call latencies are recorded. */
  metrics?: NodeMetrics;
  /** Where failed calls are logged. */
  failures?: FailureLog;
  /** When to skip a peer that keeps failing. */
  breaker?: BreakerOptions;
  /** The HTTP client for peer calls (one for all peers, holding the CA to check them against). */
  httpClient?: Deno.HttpClient;
}

/** Records the outcome of one peer call. */
export type PeerCallRecorder = (result: "ok" | "not_found" | "error") => void;
