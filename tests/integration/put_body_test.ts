import assert from "node:assert/strict";
import { startNodeProcess } from "../_node.ts";

const TOKEN = "put-body-token";
const encoder = new TextEncoder();

/**
 * Sends a chunked PUT over a raw connection, awaiting `between` after each chunk so that the chunks reach
 * the node separately, and returns the response's status line and body.
 */
async function chunkedPut(port: number, key: string, chunks: Uint8Array[], between: () => Promise<void>) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const head =
      `PUT /_cache/metrics/${key} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${TOKEN}\r\n` +
      "transfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    await conn.write(encoder.encode(head));
    for (const chunk of chunks) {
      await conn.write(encoder.encode(`${chunk.byteLength.toString(16)}\r\n`));
      // A large chunk may not fit the socket buffer at once: write all of it.
      for (let at = 0; at < chunk.byteLength;) at += await conn.write(chunk.subarray(at));
      await conn.write(encoder.encode("\r\n"));
      await between();
    }
    await conn.write(encoder.encode("0\r\n\r\n")).catch(() => 0);
    const answer = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
    return { status: Number(answer.split(" ")[1]), body: answer.slice(answer.indexOf("\r\n\r\n") + 4) };
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed by reading to the end.
    }
  }
}

Deno.test("a PUT body without Content-Length, arriving in several chunks, is stored whole; too large a one is 413", async (t) => {
  const node = await startNodeProcess({ args: ["--peer-token", TOKEN] });
  const port = Number(new URL(node.http).port);
  try {
    await t.step("three chunks sent 50 ms apart", async () => {
      const parts = ["first part, ", "second part, ", "third part"];
      const res = await chunkedPut(
        port,
        "chunked",
        parts.map((p) => encoder.encode(p)),
        () => new Promise((r) => setTimeout(r, 50)),
      );
      assert.equal(res.status, 204, res.body);
      const got = await fetch(`${node.http}/_cache/metrics/chunked`);
      assert.equal(got.status, 200);
      assert.equal(await got.text(), parts.join(""));
    });

    await t.step("chunks adding up to more than limits.max_value_bytes: 413, nothing stored", async () => {
      const chunk = new Uint8Array(256 * 1024).fill(0x61);
      const res = await chunkedPut(
        port,
        "too-big",
        Array.from({ length: 5 }, () => chunk),
        () => Promise.resolve(),
      );
      assert.equal(res.status, 413, res.body);
      assert.match(res.body, /value exceeds the limit of 1048576 bytes/);
      const got = await fetch(`${node.http}/_cache/metrics/too-big`);
      assert.equal(got.status, 404);
      await got.body?.cancel();
    });

    await t.step("an empty chunked body stores an empty value", async () => {
      const res = await chunkedPut(port, "empty", [], () => Promise.resolve());
      assert.equal(res.status, 204, res.body);
      const got = await fetch(`${node.http}/_cache/metrics/empty`);
      assert.equal(got.status, 200);
      assert.equal((await got.arrayBuffer()).byteLength, 0);
    });
  } finally {
    assert.equal(await node.stop(), 0, node.log());
  }
});
