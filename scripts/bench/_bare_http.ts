/**
 * The baseline of the http benchmark: a bare `Deno.serve` answering every request with fixed bytes and
 * fixed headers, as a node answers a cache hit, with nothing else on the path. With `url`, the handler
 * takes the request and reads its method and URL first, as any server that routes must: Deno makes no
 * `Request` at all for a handler declared without parameters, so the plain baseline skips work no cache
 * can skip, and this one shows how much.
 *
 * Run: `deno run --allow-net scripts/bench/_bare_http.ts <port> <body as base64> <headers as JSON> [url]`
 * @module
 */
const [port, body64, headersJson, mode] = Deno.args;
if (!port || body64 === undefined || !headersJson || (mode !== undefined && mode !== "url")) {
  console.error("usage: _bare_http.ts <port> <body as base64> <headers as JSON> [url]");
  Deno.exit(2);
}
const body = Uint8Array.from(atob(body64), (c) => c.charCodeAt(0));
const headers: Record<string, string> = JSON.parse(headersJson);

// The same array every time: Deno copies a Uint8Array body out, it does not take it over.
const answer = () => new Response(body, { status: 200, headers });
const readingUrl = (req: Request) =>
  req.method === "GET" && req.url.indexOf("/", 8) !== -1 ? answer() : new Response(null, { status: 404 });
const server = Deno.serve(
  { hostname: "127.0.0.1", port: Number(port), onListen: () => {} },
  mode === "url" ? readingUrl : answer,
);
Deno.addSignalListener("SIGTERM", () => server.shutdown().then(() => Deno.exit(0)));
