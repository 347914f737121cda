import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;
const FIXED_PORTS = [2379, 22379, 32379, 12380, 22380, 32380, 9999, 10000, 10001, 2222, 2223, 2224, 3306];

function portFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

async function running(pid: number): Promise<boolean> {
  return (await new Deno.Command("ps", { args: ["-p", String(pid)], stdout: "null" }).output()).success;
}

/**
 * The cluster's ports are fixed by contract, so another run of this test (or a developer's cluster) may
 * hold them for a while: wait for them, then fail naming the ports rather than skip. 3306 only decides
 * where MariaDB goes (the launcher picks a free port otherwise), so it is not waited for.
 */
async function waitForFixedPorts(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let busy = FIXED_PORTS.slice(0, -1).filter((p) => !portFree(p));
  while (busy.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    busy = FIXED_PORTS.slice(0, -1).filter((p) => !portFree(p));
  }
  assert.deepEqual(busy, [], `deno task cluster needs these ports free on 127.0.0.1; stop what holds them`);
}

Deno.test({
  name:
    "deno task cluster runs etcd, MariaDB and three nodes, serves a Get through each node, and cluster:stop leaves no process",
  async fn() {
    await waitForFixedPorts(180_000);
    const launcher = new Deno.Command("deno", {
      args: ["task", "cluster"],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let output = "";
    const ready = Promise.withResolvers<void>();
    const reading = (async () => {
      for await (const chunk of launcher.stdout.pipeThrough(new TextDecoderStream())) {
        output += chunk;
        if (output.includes("cluster ready")) ready.resolve();
      }
    })();
    // Drained, not cancelled: a closed pipe would kill the task with SIGPIPE.
    const draining = launcher.stderr.pipeTo(
      new WritableStream({ write: (c) => void (output += new TextDecoder().decode(c)) }),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        ready.promise,
        new Promise((_, reject) =>
          timer = setTimeout(() => reject(new Error(`not ready within 60 s:\n${output}`)), 60_000)
        ),
        launcher.status.then((s) => {
          throw new Error(`deno task cluster exited with ${s.code}:\n${output}`);
        }),
      ]);
      clearTimeout(timer);
      for (const name of ["etcd1", "etcd2", "etcd3", "node1", "node2", "node3"]) {
        assert.match(output, new RegExp(`^${name}\\s+\\| `, "m"), `prefixed lines of ${name}`);
      }
      assert.match(
        output,
        /database: MariaDB \(mysql:\/\//,
        "the cluster runs on MariaDB (scripts/setup.sh installs it)",
      );
      for (const port of [2222, 2223, 2224]) {
        const res = await fetch(`http://127.0.0.1:${port}/_cache/metrics/CNF-001`);
        assert.equal(res.status, 200);
        assert.equal(JSON.parse(await res.text()).cnf_id, "CNF-001");
        const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
        assert.equal(health.members.length, 3, `node on ${port} sees three members`);
      }
      const pids: { launcher: number; children: { pid: number }[] } = JSON.parse(
        await Deno.readTextFile(`${ROOT}.cluster/pids.json`),
      );
      const stop = await new Deno.Command("deno", { args: ["task", "cluster:stop"], cwd: ROOT }).output();
      assert.ok(stop.success, new TextDecoder().decode(stop.stderr));
      assert.equal((await launcher.status).code, 0);
      for (const pid of [pids.launcher, ...pids.children.map((c) => c.pid)]) {
        assert.equal(await running(pid), false, `pid ${pid} still runs`);
      }
      await assert.rejects(Deno.stat(`${ROOT}.cluster/pids.json`));
    } finally {
      clearTimeout(timer);
      try {
        launcher.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      await launcher.status;
      await reading;
      await draining;
    }
  },
});
