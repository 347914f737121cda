/**
 * distcache node entry point: reads config/config.yml and the flags, starts one node, and stops it
 * gracefully on SIGINT or SIGTERM (the node itself re-reads its token files on SIGHUP).
 *
 * Run: `deno task start [--http-port 2222] [--grpc-port 9999] [--peers http://127.0.0.1:2223,...]`
 * @module
 */
import { ConfigError, loadConfig, usage } from "./src/config.ts";
import { log } from "./src/log.ts";
import { startNode } from "./src/node.ts";

async function main(): Promise<number> {
  let config;
  try {
    config = await loadConfig(Deno.args, (name) => Deno.env.get(name));
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`distcache: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (config === "help") {
    console.log(usage);
    return 0;
  }
  // A stray rejection somewhere in a library must not take the node down with it.
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    log("error", "unhandled rejection", { error: e.reason });
  });
  let node;
  try {
    node = await startNode(config);
  } catch (e) {
    console.error(`distcache: ${(e as Error).message}`);
    // A token file that cannot be read or a token refused on this host is a configuration error.
    return e instanceof ConfigError ? 2 : 1;
  }
  const stopped = Promise.withResolvers<void>();
  let stopping = false;
  const stop = (signal: string) => {
    // A second signal (a supervisor repeating itself) must not restart the shutdown.
    if (stopping) return;
    stopping = true;
    log("info", "shutting down", { signal });
    node.close().then(stopped.resolve, stopped.reject);
  };
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  await stopped.promise;
  return 0;
}

Deno.exit(await main());
