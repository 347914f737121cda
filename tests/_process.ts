/**
 * A child process for tests and benchmarks: its stderr kept for error messages, a wait until it is ready,
 * and a stop that cannot hang.
 * @module
 */

/** A running child process. */
export interface Watched {
  readonly pid: number;
  /** Everything it wrote to stderr so far. */
  log(): string;
  /** Sends `signal` (SIGKILL after `graceMs`) and resolves to the exit code. */
  stop(signal?: Deno.Signal, graceMs?: number): Promise<number>;
  /**
   * Polls `ready` every 50 ms until it answers true; throws with the process's stderr when the process
   * exits first or `timeoutMs` passes (then the process is killed). `what` completes "it was …", e.g.
   * "ready" or "listening on 2222".
   */
  waitUntil(ready: () => Promise<boolean>, what: string, timeoutMs?: number): Promise<void>;
}

/** Spawns `command` with stdout discarded and stderr kept. */
export function spawnWatched(command: string, args: string[], env?: Record<string, string>): Watched {
  const child = new Deno.Command(command, { args, env, stdout: "null", stderr: "piped" }).spawn();
  let stderr = "";
  const reading = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stop = async (signal: Deno.Signal = "SIGTERM", graceMs = 10_000) => {
    if (!exited) child.kill(signal);
    const timer = setTimeout(() => exited || child.kill("SIGKILL"), graceMs);
    const s = await status;
    clearTimeout(timer);
    await reading;
    return s.code;
  };
  return {
    pid: child.pid,
    log: () => stderr,
    stop,
    async waitUntil(ready, what, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!exited) {
        if (await ready().catch(() => false)) return;
        if (Date.now() > deadline) {
          await stop("SIGKILL");
          throw new Error(`${command} was not ${what} within ${timeoutMs / 1000} s:\n${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      await reading;
      throw new Error(`${command} exited before it was ${what}:\n${stderr}`);
    },
  };
}

/**
 * Ports for servers the tests start come from below the kernel's ephemeral range (32768-60999 on Linux),
 * so a client socket's local port can never take one between the check here and the server's bind. A
 * process hands each port out once, starting from a random place so that two test runs rarely overlap.
 */
const PORT_LOW = 20_000;
const PORT_HIGH = 32_000;
let nextPort = PORT_LOW + Math.floor(Math.random() * (PORT_HIGH - PORT_LOW));

/** A loopback port nothing listens on, not handed out before by this process, outside the ephemeral range. */
export function freePort(): number {
  for (let tries = 0; tries < PORT_HIGH - PORT_LOW; tries++) {
    const port = nextPort;
    nextPort = nextPort + 1 >= PORT_HIGH ? PORT_LOW : nextPort + 1;
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch (e) {
      if (!(e instanceof Deno.errors.AddrInUse)) throw e;
    }
  }
  throw new Error(`no free loopback port in ${PORT_LOW}-${PORT_HIGH - 1}`);
}
