/**
 * The node's transport security, read once at start from the PEM files in config: what the HTTP and gRPC
 * servers listen with, and what HTTP peer clients trust. Peers talk HTTP when TLS is on: grpc-js cannot
 * open a TLS channel under Deno 2.8.3 (its handshake fails in Deno's node:http2), though outside gRPC
 * clients reach the TLS gRPC server fine. With a client CA (mutual TLS) both servers require client
 * certificates signed by it, and the HTTP peer client presents the node's own certificate.
 * @module
 */
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import type { Config } from "../config.ts";
import { ConfigError } from "../config.ts";

/** How this node's servers and peer clients connect. */
export interface Transport {
  /** "https" when the servers speak TLS. */
  scheme: "http" | "https";
  /** Extra options for `Deno.serve`. */
  serve: { cert?: string; key?: string };
  /** The CA (PEM) clients' certificates must be signed by, when mutual TLS is on. */
  clientCa?: string;
  /** Credentials of the gRPC server. */
  grpcServer: grpc.ServerCredentials;
  /** What HTTP peer clients use: a client holding the CA to check peers against. */
  peer: { httpClient?: Deno.HttpClient };
  /** Releases the HTTP client. */
  close(): void;
}

async function read(path: string, field: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new ConfigError(`${field}: cannot read ${path}: ${(e as Error).message}`);
  }
}

/**
 * Reads the configured certificate, key and CA.
 *
 * @param tls The `tls` section of the configuration.
 * @returns Plain-text transport when no certificate is configured.
 * @throws {ConfigError} When a file cannot be read.
 */
export async function loadTransport(tls: Config["tls"]): Promise<Transport> {
  const ca = tls.caFile ? await read(tls.caFile, "tls.ca_file") : undefined;
  if (!tls.certFile) {
    const httpClient = ca ? Deno.createHttpClient({ caCerts: [ca] }) : undefined;
    return {
      scheme: "http",
      serve: {},
      grpcServer: grpc.ServerCredentials.createInsecure(),
      peer: { httpClient },
      close: () => httpClient?.close(),
    };
  }
  const cert = await read(tls.certFile, "tls.cert_file");
  const key = await read(tls.keyFile, "tls.key_file");
  const clientCa = tls.clientCaFile ? await read(tls.clientCaFile, "tls.client_ca_file") : undefined;
  // With mutual TLS the node shows its own certificate to the peers it calls, as they ask it to.
  const identity = clientCa ? { cert, key } : {};
  let httpClient: Deno.HttpClient | undefined;
  if (ca || clientCa) {
    try {
      httpClient = Deno.createHttpClient({ ...(ca ? { caCerts: [ca] } : {}), ...identity });
    } catch (e) {
      throw new ConfigError(
        `tls.cert_file / tls.key_file: not usable as a client certificate: ${(e as Error).message}`,
      );
    }
  }
  return {
    scheme: "https",
    serve: { cert, key },
    clientCa,
    // grpc-js would otherwise load the whole system root store as the server's CA list, which Deno's TLS
    // then sends to every client: a handshake message larger than OpenSSL clients accept. With mutual TLS
    // the list is the client CA, and a client without a certificate signed by it is refused.
    grpcServer: grpc.ServerCredentials.createSsl(Buffer.from(clientCa ?? ca ?? cert), [
      { cert_chain: Buffer.from(cert), private_key: Buffer.from(key) },
    ], clientCa !== undefined),
    peer: { httpClient },
    close: () => httpClient?.close(),
  };
}
