import type { Server } from "node:http";
import { Code, ConnectError, type ConnectRouter, createContextValues } from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import fastifyCors from "@fastify/cors";
import { type FastifyInstance, fastify, LogController } from "fastify";
import { collectDefaultMetrics, Registry } from "prom-client";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { SimpleTest } from "../gen/simpletest/simple_test_pb.js";
import type { Config } from "./config.js";
import { corsOptions } from "./cors.js";
import { healthz } from "./healthz.js";
import { createOnePortServer, type OnePortServer, type RequestListener } from "./listen/one-port.js";
import { hideInternalErrors } from "./observe/hide-internal-errors.js";
import { metricsRoute } from "./observe/metrics-route.js";
import { createRpcMetrics } from "./observe/rpc-metrics.js";
import { callTransportKey, observeRpcs } from "./observe/rpc-observer.js";
import { answerNotFound } from "./rpc-not-found.js";
import { createHealthService, createHealthStatus, type HealthStatus } from "./services/health.js";
import { createReflectionService } from "./services/reflection.js";
import { createSimpleTestService } from "./services/simple-test.js";
import { webPage } from "./web-page.js";

export interface App {
  readonly fastify: FastifyInstance;
  readonly front: OnePortServer;
  /** The serving status behind grpc.health.v1 and /healthz. */
  readonly health: HealthStatus;
}

/**
 * Wires the whole server, top to bottom. Nothing listens yet: the caller
 * listens (main.ts on the configured port, tests on port 0) and closes.
 */
export async function buildApp(config: Config): Promise<App> {
  let front: OnePortServer | undefined;
  const app = fastify({
    logger: { level: config.logLevel },
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify's types tie one request type to one server type; the front feeds
    // it both HTTP/1.1 and HTTP/2 compatibility requests, which it handles alike.
    serverFactory: (handler) => {
      front = createOnePortServer(handler as RequestListener, {
        tls: config.tls,
        http1: config.http1,
        http2: config.http2,
      });
      return front as unknown as Server;
    },
  });

  // Calls still running when the grace period ends are cancelled with
  // unavailable. Unlike connect-fastify's shutdownTimeoutMs, the timer does not
  // keep a process alive whose calls all finished in time.
  const shutdown = new AbortController();
  app.addHook("preClose", async () => {
    const timer = setTimeout(
      () => shutdown.abort(new ConnectError("the server is shutting down", Code.Unavailable)),
      config.shutdownGraceMs,
    );
    timer.unref();
  });

  await app.register(fastifyCors, corsOptions(config.corsOrigins));
  await app.register(webPage);

  // SERVING once the port is open; NOT_SERVING for good the moment shutdown begins.
  const health = createHealthStatus([SimpleTest.typeName]);
  app.addHook("onListen", async () => health.set(ServingStatus.SERVING));
  app.addHook("preClose", async () => health.shutdown());
  await app.register(healthz, { isServing: () => health.get("") === ServingStatus.SERVING });

  // One registry per app, so that tests may build several side by side.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const rpcMetrics = createRpcMetrics(registry);
  if (config.metrics) await app.register(metricsRoute, { registry });

  const simpleTest = createSimpleTestService({ getListIntervalMs: config.getListIntervalMs });
  await app.register(fastifyConnectPlugin, {
    routes: (router: ConnectRouter) => {
      router.service(SimpleTest, simpleTest).service(Health, createHealthService(health));
      // Registered last, so that it describes everything the router serves.
      if (config.reflection) {
        const reflection = createReflectionService([
          ...router.handlers.map((handler) => handler.service),
          ServerReflection,
          ServerReflectionV1alpha,
        ]);
        router.service(ServerReflection, reflection).service(ServerReflectionV1alpha, reflection);
      }
    },
    readMaxBytes: config.maxMessageBytes,
    writeMaxBytes: config.maxMessageBytes,
    maxTimeoutMs: config.maxTimeoutMs,
    // curl users should not have to send Connect-Protocol-Version.
    requireConnectProtocolHeader: false,
    shutdownSignal: shutdown.signal,
    // Outermost first: the observer sees the code the client gets.
    interceptors: [observeRpcs(rpcMetrics, app.log), hideInternalErrors(app.log)],
    contextValues: (request) =>
      createContextValues().set(callTransportKey, {
        httpVersion: request.raw.httpVersion,
        peer: `${request.socket.remoteAddress}:${request.socket.remotePort}`,
        log: request.log,
      }),
  });

  app.setNotFoundHandler(answerNotFound);

  await app.ready();
  if (front === undefined) throw new Error("fastify did not call the server factory");
  return { fastify: app, front, health };
}
