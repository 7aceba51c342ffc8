import { createServiceImplSpec } from "@connectrpc/connect";
import { TestService } from "../gen/grpc/testing/test_pb.js";
import { type App, buildApp } from "./app.js";
import type { Config } from "./config.js";
import { createInteropTestService } from "./services/interop-test.js";

/**
 * The product's whole stack (one-port front, fast lane, interceptors, limits,
 * health, reflection) serving grpc.testing.TestService instead of SimpleTest,
 * for gRPC's interop clients. grpc.testing.UnimplementedService is not served.
 */
export function buildInteropApp(config: Config): Promise<App> {
  const testService = createInteropTestService({ maxPayloadBytes: config.maxMessageBytes });
  return buildApp(config, { services: [createServiceImplSpec<typeof TestService>(TestService, testService)] });
}
