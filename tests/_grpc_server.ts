/** A test's gRPC server on a free loopback port. @module */
import * as grpc from "@grpc/grpc-js";

/** Binds `server` to a free loopback port without TLS and returns the port. */
export function bindLoopback(server: grpc.Server): Promise<number> {
  return new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (e, port) => e ? reject(e) : resolve(port),
    )
  );
}
