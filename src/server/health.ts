/**
 * The standard gRPC health service (`grpc.health.v1.Health`): Check and Watch for the whole server
 * ("") and for each service the node serves.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { serviceClient, tolerantService } from "./proto.ts";
import { status } from "./grpc.ts";

type Status = "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";
type Watch = grpc.ServerWritableStream<{ service?: string }, { status: Status }>;

/** Serving state of a node's gRPC services, as the health protocol reports it. */
export class HealthService {
  readonly #services: Set<string>;
  #serving = true;
  readonly #watchers = new Set<Watch>();

  /** @param services Fully qualified names of the services this node serves. */
  constructor(services: string[]) {
    this.#services = new Set(["", "grpc.health.v1.Health", ...services]);
  }

  /** Marks every service not serving (on shutdown) and tells the watchers. */
  setServing(serving: boolean): void {
    this.#serving = serving;
    for (const w of this.#watchers) w.write({ status: this.#statusOf(w.request.service ?? "") });
  }

  #statusOf(service: string): Status {
    if (!this.#services.has(service)) return "SERVICE_UNKNOWN";
    return this.#serving ? "SERVING" : "NOT_SERVING";
  }

  /** The service definition. */
  definition(): grpc.ServiceDefinition {
    return tolerantService(serviceClient("health.proto", "grpc.health.v1.Health").service);
  }

  /** The handlers. */
  handlers(): grpc.UntypedServiceImplementation {
    return {
      Check: (
        call: grpc.ServerUnaryCall<{ service?: string }, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        const service = call.request.service ?? "";
        if (!this.#services.has(service)) {
          callback(status(grpc.status.NOT_FOUND, `unknown service "${service}"`));
          return;
        }
        callback(null, { status: this.#statusOf(service) });
      },
      Watch: (call: Watch) => {
        this.#watchers.add(call);
        call.write({ status: this.#statusOf(call.request.service ?? "") });
        call.on("cancelled", () => this.#watchers.delete(call));
        call.on("close", () => this.#watchers.delete(call));
      },
    };
  }

  /** Ends every open Watch stream, so that a server shutdown does not wait on them. */
  endWatches(): void {
    for (const w of this.#watchers) w.end();
    this.#watchers.clear();
  }
}
