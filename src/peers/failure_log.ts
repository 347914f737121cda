/**
 * Logs failed peer calls without flooding the log while a peer is down: the first failure of a peer is
 * written at once, later ones at most every ten seconds with a count of those left out.
 * @module
 */
import { log } from "../log.ts";

const INTERVAL_MS = 10_000;

/** Failures of one peer since its last log line. */
interface PeerFailures {
  loggedAt: number;
  suppressed: number;
}

/** Throttles the warnings about each peer's failed calls. */
export class FailureLog {
  readonly #peers = new Map<string, PeerFailures>();
  readonly #now: () => number;
  readonly #write: (peer: string, message: string, suppressed: number) => void;

  /**
   * @param write Writes one warning; defaults to the node's log.
   * @param now Clock in milliseconds.
   */
  constructor(
    write: (peer: string, message: string, suppressed: number) => void = (peer, message, suppressed) =>
      log("warn", "peer call failed", { peer, error: message, suppressed }),
    now: () => number = Date.now,
  ) {
    this.#write = write;
    this.#now = now;
  }

  /** Records a failed call to `peer`, writing a warning unless one was written recently. */
  failed(peer: string, message: string): void {
    const now = this.#now();
    const state = this.#peers.get(peer);
    if (state && now - state.loggedAt < INTERVAL_MS) {
      state.suppressed++;
      return;
    }
    this.#write(peer, message, state?.suppressed ?? 0);
    this.#peers.set(peer, { loggedAt: now, suppressed: 0 });
  }
}
