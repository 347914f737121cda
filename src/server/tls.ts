/**
 * The node's transport security, read once at start from the PEM files in config: what the HTTP and gRPC
 * servers listen with, and what HTTP peer clients trust. Peers talk HTTP when TLS is on: grpc-js cannot
 * open a TLS channel under Deno 2.8.3 (its handshake fails in Deno's node:http2), though outside gRPC
 * clients reach the TLS gRPC server fine.
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
  const httpClient = ca ? Deno.createHttpClient({ caCerts: [ca] }) : undefined;
  const peer = { httpClient };
  const close = () => httpClient?.close();
  if (!tls.certFile) {
    return { scheme: "http", serve: {}, grpcServer: grpc.ServerCredentials.createInsecure(), peer, close };
  }
  const cert = await read(tls.certFile, "tls.cert_file");
  const key = await read(tls.keyFile, "tls.key_file");
  return {
    scheme: "https",
    serve: { cert, key },
    // grpc-js would otherwise load the whole system root store as the server's CA list, which Deno's TLS
    // then sends to every client: a handshake message larger than OpenSSL clients accept.
    grpcServer: grpc.ServerCredentials.createSsl(Buffer.from(ca ?? cert), [
      { cert_chain: Buffer.from(cert), private_key: Buffer.from(key) },
    ], false),
    peer,
    close,
  };
}
