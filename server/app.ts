import { setMaxListeners } from "node:events";
import type { Server } from "node:http";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ConnectRouterOptions,
  createContextValues,
  createServiceImplSpec,
} from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import fastifyCors from "@fastify/cors";
import { type FastifyInstance, fastify, LogController } from "fastify";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { SimpleTest } from "../gen/simpletest/simple_test_pb.js";
import { createCallDeadline } from "./call-deadline.js";
import type { Config } from "./config.js";
import { corsOptions } from "./cors.js";
import type { RequestInfo } from "./fast-lane/exchange.js";
import { createFastLane } from "./fast-lane/fast-lane.js";
import { healthz } from "./healthz.js";
import { createOnePortServer, type OnePortServer, type RequestListener } from "./listen/one-port.js";
import { createMeteredRequestBodies } from "./metered-request-body.js";
import { hideInternalErrors } from "./observe/hide-internal-errors.js";
import { stdoutLogDestination } from "./observe/log-destination.js";
import { metricsRoute } from "./observe/metrics-route.js";
import type { RpcLogger } from "./observe/rpc-log-line.js";
import { createRpcMetrics } from "./observe/rpc-metrics.js";
import { callTransportKey, observeRpcs, peerOf, protocolOf } from "./observe/rpc-observer.js";
import {
  undecodableStreamsAreInvalidArgument,
  undecodableUnaryIsInvalidArgument,
} from "./observe/undecodable-requests.js";
import { createRequestBodyBudget } from "./request-body-budget.js";
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
  // In front of Fastify, so that the calls it serves skip Fastify's per-request
  // work too; it hands everything else (and everything, until it serves) to Fastify.
  const fastLane = createFastLane();
  const app = fastify({
    // The lines of one event-loop turn go out in one write, not one write(2) per RPC.
    logger: { level: config.logLevel, stream: stdoutLogDestination() },
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify's types tie one request type to one server type; the front feeds
    // it both HTTP/1.1 and HTTP/2 compatibility requests, which it handles alike.
    serverFactory: (handler) => {
      front = createOnePortServer(fastLane.wrap(handler as RequestListener), {
        takeStream: fastLane.takeStream,
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
  // Every call in flight listens to it (and lets go when it ends): thousands
  // at once are expected, not a leak for Node to warn about.
  setMaxListeners(0, shutdown.signal);
  app.addHook("preClose", async () => {
    const timer = setTimeout(
      () => shutdown.abort(new ConnectError("the server is shutting down", Code.Unavailable)),
      config.shutdownGraceMs,
    );
    timer.unref();
  });

  await app.register(fastifyCors, corsOptions(config.corsOrigins));
  await app.register(webPage, { apiOrigins: config.pageApiOrigins });

  // SERVING once the port is open; NOT_SERVING for good the moment shutdown begins.
  const health = createHealthStatus([SimpleTest.typeName]);
  app.addHook("onListen", async () => health.set(ServingStatus.SERVING));
  app.addHook("preClose", async () => health.shutdown());
  await app.register(healthz, { isServing: () => health.get("") === ServingStatus.SERVING });

  // One registry per app, so that tests may build several side by side.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const rpcMetrics = createRpcMetrics(registry);
  // Request bytes read and not yet handled, bounded per connection and server, and timed.
  const bodyBudget = createRequestBodyBudget(config.requestBodies);
  const meteredBodies = createMeteredRequestBodies(bodyBudget);
  new Gauge({
    name: "simpletest_request_bytes_held",
    help: "Request body bytes read and not yet handed to a handler (bounded by REQUEST_BUFFER_BYTES).",
    registers: [registry],
    collect() {
      this.set(bodyBudget.held());
    },
  });
  if (config.metrics) await app.register(metricsRoute, { registry });

  const simpleTest = createSimpleTestService({ getListIntervalMs: config.getListIntervalMs });
  // Health/Watch is meant to stay open until the client cancels or the server stops.
  const deadline = createCallDeadline({
    maxTimeoutMs: config.maxTimeoutMs,
    unbounded: [`/${Health.typeName}/${Health.method.watch.name}`],
    stuckStreamGraceMs: 1_000,
  });
  // What connect-es and the fast lane alike apply to every call.
  const rpcOptions = {
    readMaxBytes: config.maxMessageBytes,
    writeMaxBytes: config.maxMessageBytes,
    acceptCompression: [compressionGzip, compressionBrotli],
    // The deadline gate caps calls at config.maxTimeoutMs; this only refuses
    // deadlines no timer can hold (Node would fire them after 1 ms).
    maxTimeoutMs: 2 ** 31 - 1,
    // curl users should not have to send Connect-Protocol-Version.
    requireConnectProtocolHeader: false,
    shutdownSignal: shutdown.signal,
    // Outermost first: the observer sees the code the client gets.
    interceptors: [
      observeRpcs(rpcMetrics, app.log),
      hideInternalErrors(app.log),
      undecodableStreamsAreInvalidArgument(),
    ],
    requestGate: (context) => {
      meteredBodies.requestGate(context);
      deadline.requestGate(context);
      undecodableUnaryIsInvalidArgument(context);
    },
  } satisfies ConnectRouterOptions;
  const callTransport = (raw: RequestInfo, log: RpcLogger) =>
    createContextValues().set(callTransportKey, {
      protocol: protocolOf(raw.headers["content-type"]),
      httpVersion: raw.httpVersion,
      peer: peerOf(raw.socket),
      log,
    });
  await app.register(fastifyConnectPlugin, {
    routes: (router: ConnectRouter) => {
      router
        .service(SimpleTest, simpleTest)
        .service(Health, createHealthService(health, { maxWatchStreams: config.maxWatchStreams }));
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
    ...rpcOptions,
    contextValues: (request) =>
      deadline.watchBody(meteredBodies.watchBody(callTransport(request.raw, request.log), request.raw), request.raw),
  });
  // SimpleTest's unary and server-streaming calls of the common shapes, through the same
  // implementation and interceptors, without connect-es's per-call streams; FAST_PATH=off turns it off.
  if (config.fastPath) {
    const { requestGate: _, ...laneOptions } = rpcOptions;
    fastLane.serve({
      ...laneOptions,
      deadline,
      bodyBudget,
      services: [createServiceImplSpec<typeof SimpleTest>(SimpleTest, simpleTest)],
      contextValues: (raw) => callTransport(raw, app.log),
      // @fastify/cors, given an origin function (server/cors.ts), varies every response by Origin.
      fastifyHeaders: { vary: "Origin" },
      log: app.log,
    });
    app.addHook("preClose", async () => fastLane.stop());
  }

  app.setNotFoundHandler(answerNotFound);

  await app.ready();
  if (front === undefined) throw new Error("fastify did not call the server factory");
  return { fastify: app, front, health };
}
