import assert from "node:assert/strict";
import { ip } from "../../scripts/_hosts.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("deno task cluster --hosts serves a Get on a host address; Ctrl-C removes every namespace and link", async () => {
  const launcher = new Deno.Command("deno", {
    args: ["task", "cluster", "--hosts", "2"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let output = "";
  const ready = Promise.withResolvers<void>();
  const reading = (async () => {
    for await (const chunk of launcher.stdout.pipeThrough(new TextDecoderStream())) {
      output += chunk;
      if (/try: curl/.test(output)) ready.resolve();
    }
  })();
  const draining = launcher.stderr.pipeTo(
    new WritableStream({ write: (c) => void (output += new TextDecoder().decode(c)) }),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      ready.promise,
      new Promise((_, reject) =>
        timer = setTimeout(() => reject(new Error(`not ready within 90 s:\n${output}`)), 90_000)
      ),
      launcher.status.then((s) => {
        throw new Error(`deno task cluster --hosts exited ${s.code} before it was ready:\n${output}`);
      }),
    ]);
    const url = /try: curl (http:\/\/[\d.]+:2222)\/_cache\/metrics\/CNF-001/.exec(output)?.[1];
    assert.ok(url, output);
    assert.doesNotMatch(url, /127\.0\.0\.1/);
    const res = await fetch(`${url}/_cache/metrics/CNF-001`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /"cnf_id":"CNF-001"/);
  } finally {
    clearTimeout(timer);
    launcher.kill("SIGINT");
  }
  const status = await launcher.status;
  await Promise.all([reading, draining]);
  assert.ok(status.code === 0 || status.code === 130, `exit ${status.code}:\n${output}`);
  const prefix = /namespace (distcache-[a-z0-9]+-\d+-)client/.exec(output)?.[1];
  const run = prefix?.split("-")[1];
  assert.ok(prefix && run, output);
  // deno task may return before its child has finished removing the hosts.
  const deadline = Date.now() + 20_000;
  let left: string[] = [];
  do {
    const namespaces = (await ip("netns", "list")).split("\n").filter((l) => l.startsWith(prefix));
    const links = (await ip("-o", "link", "show")).split("\n").filter((l) => l.includes(`dc${run}`));
    left = [...namespaces, ...links];
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < deadline);
  assert.deepEqual(left, [], "namespaces or links left behind");
  await assert.rejects(
    Deno.stat(`${ROOT}.cluster/hosts-${run}-${prefix.split("-")[2]}`),
    Deno.errors.NotFound,
  );
});
