/**
 * The baseline of the http benchmark: a bare `Deno.serve` answering every request with fixed bytes and
 * fixed headers, as a node answers a cache hit, with nothing else on the path.
 *
 * Run: `deno run --allow-net scripts/bench/_bare_http.ts <port> <body as base64> <headers as JSON>`
 * @module
 */
const [port, body64, headersJson] = Deno.args;
if (!port || body64 === undefined || !headersJson) {
  console.error("usage: _bare_http.ts <port> <body as base64> <headers as JSON>");
  Deno.exit(2);
}
const body = Uint8Array.from(atob(body64), (c) => c.charCodeAt(0));
const headers: Record<string, string> = JSON.parse(headersJson);

const server = Deno.serve(
  { hostname: "127.0.0.1", port: Number(port), onListen: () => {} },
  // The same array every time: Deno copies a Uint8Array body out, it does not take it over.
  () => new Response(body, { status: 200, headers }),
);
Deno.addSignalListener("SIGTERM", () => server.shutdown().then(() => Deno.exit(0)));
