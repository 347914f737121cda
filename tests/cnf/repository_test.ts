import assert from "node:assert/strict";
import { openRepository } from "../../src/cnf/repository.ts";

Deno.test("openRepository rejects URLs of other shapes, saying which shapes it takes", async (t) => {
  const bad = [
    "postgres://u:p@localhost:5432/db",
    "sqlite:",
    "sqlite://cnf.db",
    "mysql://localhost:3306/distcache",
    "mysql://u:p@localhost:3306/",
    "mysql://u:p@localhost:3306/a/b",
    "mysql://u:p@localhost:99999/db",
    "memory",
    "",
  ];
  for (const url of bad) {
    await t.step(url || "(empty)", async () => {
      await assert.rejects(openRepository(url), (err: Error) => {
        assert.match(err.message, /^--db: /);
        assert.match(
          err.message,
          /expected sqlite:<path>, sqlite::memory: or mysql:\/\/user:pass@host:port\/db/,
        );
        return true;
      });
    });
  }
});

Deno.test("openRepository never puts a password in its errors", async () => {
  for (
    const url of [
      "mysql://admin:s3cret@host:3306",
      "mysql://admin:s3cret@host:3306/",
      "mysqlx://admin:s3cret@h/db",
    ]
  ) {
    await assert.rejects(openRepository(url), (err: Error) => {
      assert.ok(!err.message.includes("s3cret"), err.message);
      return true;
    });
  }
});

Deno.test("openRepository names the MySQL server it cannot reach", async () => {
  // Bind then release a port so nothing listens on it.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  await assert.rejects(openRepository(`mysql://u:s3cret@127.0.0.1:${port}/distcache`), (err: Error) => {
    assert.match(
      err.message,
      new RegExp(`^cannot open MySQL repository at 127\\.0\\.0\\.1:${port}/distcache: `),
    );
    assert.ok(!err.message.includes("s3cret"));
    return true;
  });
});
