import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { createServiceClient, type ServiceClient, type ServiceClientOptions } from "./service-client.js";

export type HealthClient = ServiceClient<typeof Health>;

/** A typed grpc.health.v1.Health client, with the same transport options as the SimpleTest client. */
export function createHealthClient(options: ServiceClientOptions): HealthClient {
  return createServiceClient(Health, options);
}
