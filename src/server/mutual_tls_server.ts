/**
 * An HTTPS server that asks every client for a certificate and refuses the connection unless the
 * certificate is signed by the configured client CA (mutual TLS). `Deno.serve` cannot request client
 * certificates in Deno 2.8.3; `node:https` can, so this serves the same fetch-style handler through it.
 * Used only when `tls.client_ca_file` is set.
 * @module
 */
import { Buffer } from "node:buffer";
import type { IncomingMessage, ServerResponse } from "node:http";
import * as https from "node:https";
import { Readable } from "node:stream";

/** What {@linkcode serveMutualTls} needs. */
export interface MutualTlsOptions {
  hostname: string;
  port: number;
  /** The server's certificate chain and key (PEM). */
  cert: string;
  key: string;
  /** The CA (PEM) a client's certificate must be signed by. */
  clientCa: string;
  /** Answers a handler that threw. */
  onError: (error: unknown) => Response;
}

/** A running server: its address, and a shutdown that lets requests in flight finish. */
export interface MutualTlsServer {
  addr: Deno.NetAddr;
  shutdown(): Promise<void>;
}

/**
 * Serves `handler` over HTTPS with client certificates required.
 *
 * @param options Address, server certificate and the client CA.
 * @param handler The fetch-style handler, as for `Deno.serve`.
 * @returns Once listening.
 * @throws When the address cannot be bound.
 */
export async function serveMutualTls(
  options: MutualTlsOptions,
  handler: (req: Request) => Response | Promise<Response>,
): Promise<MutualTlsServer> {
  const server = https.createServer({
    cert: options.cert,
    key: options.key,
    ca: [options.clientCa],
    requestCert: true,
    rejectUnauthorized: true,
  }, (req, res) => void answer(req, res));
  let inFlight = 0;
  let drained: (() => void) | undefined;

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    inFlight++;
    try {
      let response: Response;
      try {
        response = await handler(toRequest(req, options));
      } catch (e) {
        response = options.onError(e);
      }
      const headers: Record<string, string> = {};
      response.headers.forEach((v, k) => headers[k] = v);
      res.writeHead(response.status, headers);
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch {
      // The client went away while the answer was written.
      res.destroy();
    } finally {
      if (--inFlight === 0) drained?.();
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return {
    addr: { transport: "tcp", hostname: options.hostname, port },
    async shutdown() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (inFlight > 0) await new Promise<void>((resolve) => drained = resolve);
      server.closeAllConnections();
      await closed;
    },
  };
}

function toRequest(req: IncomingMessage, options: MutualTlsOptions): Request {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  return new Request(`https://${options.hostname}:${req.socket.localPort}${req.url ?? "/"}`, {
    method,
    headers,
    body: hasBody ? Readable.toWeb(req) as ReadableStream<Uint8Array> : undefined,
  });
}
