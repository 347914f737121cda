/**
 * gRPC server reflection (`grpc.reflection.v1.ServerReflection` and the older `v1alpha`), so that grpcurl,
 * Postman, Kreya or evans can list a node's services and call any method with no .proto at hand. The
 * service list is what the server registers, read at each request; descriptors come from proto/.
 * Reflection only reads.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { malformed, serviceClient, serviceNames, tolerantService } from "./proto.ts";
import { ProtoFiles } from "./proto_files.ts";

const PROTO_DIR = new URL("../../proto/", import.meta.url).pathname;

/** A decoded ServerReflectionRequest (proto-loader, oneofs named by `message_request`). */
interface ReflectionRequest {
  host?: string;
  message_request?: string;
  file_by_filename?: string;
  file_containing_symbol?: string;
  file_containing_extension?: { containing_type?: string; extension_number?: number };
  all_extension_numbers_of_type?: string;
  list_services?: string;
}

type Stream = grpc.ServerDuplexStream<ReflectionRequest, Record<string, unknown>>;

/**
 * Adds reflection to `server` and records every service added to it from now on (reflection's own
 * included), so that a service registered later is listed without anything more. Call it before the
 * other `addService` calls.
 *
 * A reflection stream stays open until its client half-closes, so a server shutting down ends the open
 * ones with {@linkcode Reflection.endStreams}; otherwise a tool left connected holds the shutdown until
 * its timeout.
 *
 * @param server The node's gRPC server.
 * @param protoDir Where the services' .proto files are (default: the project's proto/).
 * @returns A handle that ends the open streams.
 * @example
 * ```ts
 * const server = new grpc.Server();
 * addReflection(server);
 * server.addService(groupCacheService(), groupCacheHandlers(deps)); // now listed
 * ```
 */
export function addReflection(server: grpc.Server, protoDir: string = PROTO_DIR): Reflection {
  const files = new ProtoFiles(protoDir);
  const open = new Set<Stream>();
  const services = new Map<string, number>();
  const add = server.addService.bind(server);
  const remove = server.removeService.bind(server);
  server.addService = (service, implementation) => {
    add(service, implementation);
    for (const name of serviceNames(service)) services.set(name, (services.get(name) ?? 0) + 1);
  };
  server.removeService = (service) => {
    remove(service);
    for (const name of serviceNames(service)) {
      const n = (services.get(name) ?? 1) - 1;
      if (n === 0) services.delete(name);
      else services.set(name, n);
    }
  };
  const handlers = {
    ServerReflectionInfo: (call: Stream) => {
      open.add(call);
      call.on("close", () => open.delete(call));
      answer(call, files, () => [...services.keys()]);
    },
  };
  for (const pkg of ["grpc.reflection.v1", "grpc.reflection.v1alpha"]) {
    const file = pkg.endsWith("v1") ? "reflection.proto" : "reflection_v1alpha.proto";
    server.addService(tolerantService(serviceClient(file, `${pkg}.ServerReflection`).service), handlers);
  }
  return {
    endStreams() {
      for (const call of open) call.end();
      open.clear();
    },
  };
}

/** The reflection service added to a server. */
export interface Reflection {
  /** Ends every open reflection stream with status OK, as a server does when it shuts down. */
  endStreams(): void;
}

/** Answers each request on the stream in order, until the client half-closes. */
function answer(call: Stream, files: ProtoFiles, services: () => string[]): void {
  const sent = new Set<string>();
  call.on("data", (req: ReflectionRequest) => {
    call.write({
      valid_host: req.host ?? "",
      original_request: echo(req),
      ...respond(req, files, sent, services),
    });
  });
  call.on("end", () => call.end());
  call.on("error", () => call.end());
}

/** The request as the client sent it, with only its one request field set. */
function echo(req: ReflectionRequest): Record<string, unknown> {
  const kind = req.message_request as keyof ReflectionRequest | undefined;
  return kind === undefined || malformed(req) !== undefined
    ? { host: req.host ?? "" }
    : { host: req.host ?? "", [kind]: req[kind] };
}

function failure(code: grpc.status, message: string): Record<string, unknown> {
  return { error_response: { error_code: code, error_message: message } };
}

/**
 * The requested file followed by those of its dependencies (transitively) not yet sent on this stream,
 * the way the reference servers answer, so a client never waits on a second round trip for an import.
 */
function withDependencies(files: ProtoFiles, first: string, sent: Set<string>): Record<string, unknown> {
  const out: Uint8Array[] = [];
  const queue = [first];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const file = files.file(name);
    if (!file) continue;
    if (name === first || !sent.has(name)) {
      out.push(file.bytes);
      sent.add(name);
    }
    queue.push(...file.dependencies);
  }
  return { file_descriptor_response: { file_descriptor_proto: out } };
}

function respond(
  req: ReflectionRequest,
  files: ProtoFiles,
  sent: Set<string>,
  services: () => string[],
): Record<string, unknown> {
  const broken = malformed(req);
  if (broken !== undefined) {
    return failure(grpc.status.INVALID_ARGUMENT, `malformed ServerReflectionRequest: ${broken}`);
  }
  switch (req.message_request) {
    case "list_services":
      return { list_services_response: { service: services().sort().map((name) => ({ name })) } };
    case "file_by_filename": {
      const name = req.file_by_filename ?? "";
      if (!files.file(name)) return failure(grpc.status.NOT_FOUND, `no file "${name}"`);
      return withDependencies(files, name, sent);
    }
    case "file_containing_symbol": {
      const symbol = req.file_containing_symbol ?? "";
      const file = files.fileDefining(symbol);
      if (!file) return failure(grpc.status.NOT_FOUND, `no symbol "${symbol}"`);
      return withDependencies(files, file.name, sent);
    }
    case "file_containing_extension": {
      const ext = req.file_containing_extension ?? {};
      return failure(
        grpc.status.NOT_FOUND,
        `no extension ${ext.extension_number ?? 0} of "${
          ext.containing_type ?? ""
        }": no file declares extensions`,
      );
    }
    case "all_extension_numbers_of_type": {
      const type = req.all_extension_numbers_of_type ?? "";
      if (!files.fileDefining(type)) return failure(grpc.status.NOT_FOUND, `no type "${type}"`);
      return { all_extension_numbers_response: { base_type_name: type, extension_number: [] } };
    }
    default:
      return failure(
        grpc.status.INVALID_ARGUMENT,
        "ServerReflectionRequest sets none of file_by_filename, file_containing_symbol, " +
          "file_containing_extension, all_extension_numbers_of_type, list_services",
      );
  }
}
