import assert from "node:assert/strict";
import { loadConfig } from "../src/config.ts";

const LOG = new URL("../src/log.ts", import.meta.url).href;

/** Runs `code` (with log.ts imported as `L`) in a child process and returns its stderr lines. */
async function stderrOf(code: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `import * as L from "${LOG}"; ${code}`],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stderr).split("\n").filter((l) => l !== "");
}

Deno.test("log writes one JSON object per line with time, level, node, event and fields", async () => {
  const lines = await stderrOf(`
    L.log("info", "before the node is known");
    L.setLogNode("http://127.0.0.1:2222");
    L.log("warn", "peer call failed", { peer: "http://127.0.0.1:2223", error: new Error("refused"), n: 2n });
  `);
  assert.equal(lines.length, 2);
  const [first, second] = lines.map((l) => JSON.parse(l));
  assert.deepEqual(Object.keys(first), ["time", "level", "node", "event", "fields"]);
  assert.equal(first.node, null);
  assert.deepEqual(first.fields, {});
  assert.ok(!Number.isNaN(Date.parse(first.time)), first.time);
  assert.deepEqual({ ...second, time: "" }, {
    time: "",
    level: "warn",
    node: "http://127.0.0.1:2222",
    event: "peer call failed",
    fields: { peer: "http://127.0.0.1:2223", error: "refused", n: "2" },
  });
});

Deno.test("a key holding a newline or NUL stays inside one escaped log line", async () => {
  const lines = await stderrOf(`
    L.log("warn", "ignoring a malformed member in etcd", { key: "GroupCache/a\\nb\\u0000c", error: new Error("x\\ny") });
  `);
  assert.equal(lines.length, 1);
  assert.ok(!lines[0].includes("\u0000"), "no raw NUL");
  assert.match(lines[0], /"key":"GroupCache\/a\\nb\\u0000c"/);
  assert.deepEqual(JSON.parse(lines[0]).fields, { key: "GroupCache/a\nb\u0000c", error: "x\ny" });
});

Deno.test("log writes nothing below the level set", async () => {
  const lines = await stderrOf(`
    L.setLogLevel("warn");
    for (const level of L.LEVELS) L.log(level, level + " line");
  `);
  assert.deepEqual(lines.map((l) => JSON.parse(l).event), ["warn line", "error line"]);
});

Deno.test("log level comes from log.level and --log-level, the flag winning", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/c.yml`;
    const env = () => undefined;
    await t.step("default info", async () => {
      await Deno.writeTextFile(file, "");
      const c = await loadConfig(["--config", file], env);
      assert.equal(c !== "help" && c.log.level, "info");
    });
    await t.step("config file, then flag", async () => {
      await Deno.writeTextFile(file, "log:\n  level: warn\n");
      const fromFile = await loadConfig(["--config", file], env);
      assert.equal(fromFile !== "help" && fromFile.log.level, "warn");
      const fromFlag = await loadConfig(["--config", file, "--log-level", "debug"], env);
      assert.equal(fromFlag !== "help" && fromFlag.log.level, "debug");
    });
    await t.step("a wrong level names the field and the choices", async () => {
      await assert.rejects(
        loadConfig(["--config", file, "--log-level", "loud"], env),
        /--log-level must be one of debug, info, warn, error \(got "loud"\)/,
      );
      await Deno.writeTextFile(file, "log:\n  level: trace\n");
      await assert.rejects(loadConfig(["--config", file], env), /log\.level must be one of/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
