/**
 * Keeps a node's tokens in step with their files: re-read on SIGHUP, and polled for changes. Polling
 * (a read of each small file every `auth.reload_interval_ms`) rather than `Deno.watchFs` because mounted
 * secrets are replaced by swapping a symlink to a new directory (Kubernetes), which a watch on the old
 * file never reports, and because a poll needs no permission beyond reading the files themselves.
 * @module
 */
import { log } from "../log.ts";
import type { NodeMetrics } from "../metrics.ts";
import type { Credentials } from "./credentials.ts";

/** A running watch; `close` stops it. */
export interface CredentialWatch {
  /** Reloads now, as SIGHUP does; resolves once the reload has finished (failed or not). */
  reload(trigger: string): Promise<void>;
  close(): void;
}

/**
 * Starts reloading `credentials` on SIGHUP and, when any token comes from a file and `intervalMs` > 0,
 * whenever a file's tokens change. A failed reload keeps the tokens in force and logs a warning (once
 * per distinct failure while polling, so a missing file does not flood the log).
 *
 * @param credentials The node's credentials.
 * @param intervalMs How often to poll the files; 0 for SIGHUP only.
 * @param metrics Where reloads are counted.
 * @returns The watch.
 */
export function watchCredentials(
  credentials: Credentials,
  intervalMs: number,
  metrics: NodeMetrics,
): CredentialWatch {
  let lastFailure = "";
  const reload = async (trigger: string) => {
    try {
      const changed = await credentials.reload();
      lastFailure = "";
      if (!changed && trigger === "poll") return;
      metrics.credentialReload(changed ? "changed" : "unchanged");
      const { peer, client } = credentials.counts();
      log("info", "tokens reloaded", { trigger, changed, peer_tokens: peer, client_tokens: client });
    } catch (e) {
      const message = (e as Error).message;
      if (trigger === "poll" && message === lastFailure) return;
      lastFailure = message;
      metrics.credentialReload("failed");
      log("warn", "token reload failed; the tokens in force stay", { trigger, error: message });
    }
  };
  const onHangup = () => void reload("SIGHUP");
  Deno.addSignalListener("SIGHUP", onHangup);
  let timer: ReturnType<typeof setInterval> | undefined;
  if (intervalMs > 0 && credentials.hasFiles) {
    const id = setInterval(() => void reload("poll"), intervalMs);
    Deno.unrefTimer(id);
    timer = id;
  }
  return {
    reload,
    close() {
      Deno.removeSignalListener("SIGHUP", onHangup);
      clearInterval(timer);
    },
  };
}
