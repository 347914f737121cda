/**
 * Loads the service definitions in proto/ with @grpc/proto-loader, once per file.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** Loader options shared by every server and client, so both sides see the same shapes. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

const loaded = new Map<string, grpc.GrpcObject>();

/**
 * Returns the package object of `proto/<file>`.
 *
 * @param file A file name in proto/, e.g. "groupcache.proto".
 */
export function loadProto(file: string): grpc.GrpcObject {
  let pkg = loaded.get(file);
  if (!pkg) {
    const path = new URL(`../../proto/${file}`, import.meta.url).pathname;
    pkg = grpc.loadPackageDefinition(protoLoader.loadSync(path, LOADER_OPTIONS));
    loaded.set(file, pkg);
  }
  return pkg;
}

/** Returns the client constructor (with its `.service`) at a dotted path such as "groupcachepb.GroupCache". */
export function serviceClient(file: string, name: string): grpc.ServiceClientConstructor {
  let at: unknown = loadProto(file);
  for (const part of name.split(".")) at = (at as Record<string, unknown>)[part];
  if (typeof at !== "function") throw new Error(`proto/${file} has no service ${name}`);
  return at as grpc.ServiceClientConstructor;
}

/** Marks a request whose bytes did not decode, so the handler can answer INVALID_ARGUMENT. */
export const MALFORMED = Symbol("malformed request");

/**
 * Returns a copy of `service` whose request decoders do not throw: a message that fails to decode
 * reaches the handler as `{ [MALFORMED]: reason }`. Without this grpc-js answers INTERNAL, which tells
 * a client nothing about its own mistake.
 */
export function tolerantService(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(service)) {
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return method.requestDeserialize(bytes);
        } catch (e) {
          return { [MALFORMED]: (e as Error).message };
        }
      },
    };
  }
  return out as grpc.ServiceDefinition;
}

/** The reason a request did not decode, or undefined when it did. */
export function malformed(request: unknown): string | undefined {
  return (request as { [MALFORMED]?: string })?.[MALFORMED];
}

/**
 * The service names behind a grpc-js service definition, from its methods' paths ("/pkg.Svc/Method").
 *
 * @example
 * ```ts
 * import { serviceClient, serviceNames } from "./proto.ts";
 * serviceNames(serviceClient("health.proto", "grpc.health.v1.Health").service); // ["grpc.health.v1.Health"]
 * ```
 */
export function serviceNames(service: grpc.ServiceDefinition): string[] {
  return [...new Set(Object.values(service).map((m) => m.path.split("/")[1]))];
}
