import cluster from "node:cluster";
import { setMaxListeners } from "node:events";
import type { Server } from "node:http";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ConnectRouterOptions,
  createContextValues,
  createServiceImplSpec,
  type ServiceImplSpec,
} from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import fastifyCors from "@fastify/cors";
import type { SpanProcessor } from "@opentelemetry/sdk-trace";
import { type FastifyInstance, fastify, LogController } from "fastify";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { SimpleTest } from "../gen/simpletest/simple_test_pb.js";
import { buildAdminApp } from "./admin-app.js";
import { createCallDeadline } from "./call-deadline.js";
import { type CallGate, gatesOffTheLane, requestGate } from "./call-gates.js";
import type { Config } from "./config.js";
import { corsOf } from "./cors.js";
import type { RequestInfo } from "./fast-lane/exchange.js";
import { createFastLane, type FastLane } from "./fast-lane/fast-lane.js";
import { healthz } from "./healthz.js";
import { lazySchemaController } from "./lazy-schema-compilers.js";
import { createOnePortServer, type OnePortServer, type RequestListener } from "./listen/one-port.js";
import { createMeteredRequestBodies } from "./metered-request-body.js";
import { logDroppedConnections } from "./observe/dropped-connections.js";
import { hideInternalErrors } from "./observe/hide-internal-errors.js";
import { type LogDestination, stdoutLogDestination } from "./observe/log-destination.js";
import { metricsRoute } from "./observe/metrics-route.js";
import { requestIdSequence } from "./observe/request-ids.js";
import type { RpcLogger } from "./observe/rpc-log-line.js";
import { callTransportKey, notePeer, observeRpcs, peerOfCall, protocolOf } from "./observe/rpc-observer.js";
import type { Tracing } from "./observe/tracing.js";
import {
  undecodableStreamsAreInvalidArgument,
  undecodableUnaryIsInvalidArgument,
} from "./observe/undecodable-requests.js";
import { createRequestBodyBudget } from "./request-body-budget.js";
import { refuseBadEnvelopeFlags } from "./request-checks/envelope-flags.js";
import { strictUtf8JsonOptions } from "./request-checks/strict-utf8-json.js";
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
  /** `/metrics` and `/healthz` for ADMIN_PORT, when set; with WORKERS=N the primary serves them instead. */
  readonly admin?: FastifyInstance;
  /** OpenTelemetry, when OTEL_TRACES_EXPORTER switches it on: shut down after the last call, to export its spans. */
  readonly tracing?: { shutdown(): Promise<void> };
  /** The fast lane, when it serves (FAST_PATH=on): how many calls it answered, which tests read to know the path. */
  readonly fastLane?: Pick<FastLane, "answered">;
}

export interface BuildOptions {
  /** Where spans go instead of OTEL_TRACES_EXPORTER's exporters, when tracing is on (tests: an in-memory exporter). */
  readonly spanProcessors?: readonly SpanProcessor[];
  /**
   * What the router serves, and the fast lane too for the calls it takes; health
   * reports each. Default: the product's (productServices).
   */
  readonly services?: readonly ServiceImplSpec[];
  /** Where log lines go instead of stdout, the admin port's too (tests: a list to read). */
  readonly logStream?: LogDestination;
}

/** The product's services: SimpleTest. */
export function productServices(config: Config): ServiceImplSpec[] {
  const simpleTest = createSimpleTestService({ getListIntervalMs: config.getListIntervalMs });
  return [createServiceImplSpec<typeof SimpleTest>(SimpleTest, simpleTest)];
}

/**
 * Wires the whole server, top to bottom. Nothing listens yet: the caller
 * listens (main.ts on the configured port, tests on port 0) and closes.
 * Another set of services (the interop server's) gets the same stack.
 */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<App> {
  const services = options.services ?? productServices(config);
  let front: OnePortServer | undefined;
  // Health/Watch is meant to stay open until the client cancels or the server stops.
  const deadline = createCallDeadline({
    maxTimeoutMs: config.maxTimeoutMs,
    unbounded: [`/${Health.typeName}/${Health.method.watch.name}`],
    stuckStreamGraceMs: 1_000,
  });
  // Request bytes read and not yet handled, bounded per connection and server, and timed.
  const bodyBudget = createRequestBodyBudget(config.requestBodies);
  const meteredBodies = createMeteredRequestBodies(bodyBudget);
  // What every call passes before its body is read, on either path (call-gates.ts).
  const gates: CallGate[] = [
    {
      name: "request body budget",
      gate: meteredBodies.requestGate,
      onLane: {
        equivalent:
          "the lane admits each call with the same bodyBudget.admit and reads its body through bodyBudget.meter",
      },
    },
    {
      name: "deadline",
      gate: deadline.requestGate,
      onLane: {
        equivalent:
          "the lane asks deadline.limit for the same limit and reason, keeps its own timer, and stops reading the body when the call ends",
      },
    },
    {
      name: "undecodable unary is invalid_argument",
      gate: undecodableUnaryIsInvalidArgument,
      onLane: { equivalent: "the lane hands a request it cannot decode to connect-es, before any interceptor" },
    },
  ];
  const cors = corsOf(config.corsOrigins);
  // In front of Fastify, so that the calls it serves skip Fastify's per-request
  // work too; it hands everything else (and everything, until it serves) to Fastify.
  // FAST_PATH=off, or a gate it does not apply: none of it exists, and with no
  // takeStream the front leaves node:http2's private "stream" listener alone: its
  // header-list limit and reset guard run on the public "request" event
  // (docs/internals.md).
  const fastLane = config.fastPath && gatesOffTheLane(gates).length === 0 ? createFastLane() : undefined;
  const logController = new LogController({ disableRequestLogging: true });
  const nextRequestId = requestIdSequence();
  const app = fastify({
    // The lines of one event-loop turn go out together (in writes of up to 4 KB), not one write(2) per RPC.
    logger: { level: config.logLevel, stream: options.logStream ?? stdoutLogDestination() },
    logController,
    genReqId: nextRequestId,
    schemaController: lazySchemaController(),
    // Fastify's types tie one request type to one server type; the front feeds
    // it both HTTP/1.1 and HTTP/2 compatibility requests, which it handles alike.
    serverFactory: (handler) => {
      const next = handler as RequestListener;
      const serve = fastLane ? fastLane.wrap(next) : next;
      // Both ways in cap the deadline headers before the lane or connect-es reads them.
      front = createOnePortServer(
        (req, res) => {
          deadline.capTimeoutHeaders(req.headers);
          serve(req, res);
        },
        {
          takeStream:
            fastLane &&
            ((stream, headers, rawHeaders, compat) => {
              deadline.capTimeoutHeaders(headers);
              return fastLane.takeStream(stream, headers, rawHeaders, compat);
            }),
          tls: config.tls,
          onStream: notePeer,
          maxConnections: config.maxConnections,
          http1: config.http1,
          http2: config.http2,
        },
      );
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

  await app.register(fastifyCors, cors.options);
  await app.register(webPage, { apiOrigins: config.pageApiOrigins });

  // SERVING once the port is open; NOT_SERVING for good the moment shutdown begins.
  const health = createHealthStatus(services.map((spec) => spec.service.typeName));
  app.addHook("onListen", async () => health.set(ServingStatus.SERVING));
  app.addHook("preClose", async () => health.shutdown());
  const isServing = () => health.get("") === ServingStatus.SERVING;
  await app.register(healthz, { isServing });

  // Off, prom-client is never loaded and calls are not counted.
  const metrics = config.metrics
    ? (await import("./observe/server-metrics.js")).createServerMetrics(() => bodyBudget.held())
    : undefined;
  // With an admin port, /metrics leaves the public port.
  if (metrics && config.admin === undefined) await app.register(metricsRoute, { registry: metrics.source });
  const admin =
    config.admin === undefined || cluster.isWorker
      ? undefined
      : await buildAdminApp({
          logLevel: config.logLevel,
          metrics: metrics?.source,
          isServing,
          logStream: options.logStream,
        });

  // Off, the SDK is never loaded and no interceptor is added: tracing then costs nothing.
  let tracing: Tracing | undefined;
  if (config.tracing) {
    const { startTracing } = await import("./observe/tracing.js");
    tracing = await startTracing(config.tracing, { log: app.log, spanProcessors: options.spanProcessors });
  }

  // What connect-es and the fast lane alike apply to every call, besides the gates.
  const rpcOptions = {
    readMaxBytes: config.maxMessageBytes,
    writeMaxBytes: config.maxMessageBytes,
    acceptCompression: [compressionGzip, compressionBrotli],
    // The front caps deadline headers at config.maxTimeoutMs (capTimeoutHeaders)
    // and the deadline gate caps calls without one: connect-es never sees a longer one.
    maxTimeoutMs: config.maxTimeoutMs,
    // curl users should not have to send Connect-Protocol-Version.
    requireConnectProtocolHeader: false,
    // JSON that is not UTF-8 is refused, as a protobuf string would be.
    jsonOptions: strictUtf8JsonOptions,
    shutdownSignal: shutdown.signal,
    // Outermost first: the observer sees the code the client gets.
    interceptors: [
      ...(tracing ? [tracing.interceptor] : []),
      observeRpcs(metrics?.rpcs, app.log),
      hideInternalErrors(app.log),
      undecodableStreamsAreInvalidArgument(),
    ],
  } satisfies ConnectRouterOptions;
  const callTransport = (raw: RequestInfo, log: RpcLogger) =>
    createContextValues().set(callTransportKey, {
      protocol: protocolOf(raw.headers["content-type"]),
      httpVersion: raw.httpVersion,
      peer: peerOfCall(raw),
      headers: raw.headers,
      log,
    });
  await app.register(fastifyConnectPlugin, {
    routes: (router: ConnectRouter) => {
      for (const spec of services) {
        for (const method of Object.values(spec.methods)) router.rpc(method.method, method.impl);
      }
      router.service(Health, createHealthService(health, { maxWatchStreams: config.maxWatchStreams }));
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
    requestGate: requestGate(gates),
    contextValues: (request) =>
      deadline.watchBody(
        meteredBodies.watchBody(callTransport(request.raw, request.log), refuseBadEnvelopeFlags(request.raw)),
        request.raw,
      ),
  });
  // The services' unary and server-streaming calls of the common shapes, through the same
  // implementation and interceptors, without connect-es's per-call streams; FAST_PATH=off turns it off.
  if (fastLane) {
    // A lane call's logger, made as Fastify makes request.log: the same id
    // sequence, label and child factory.
    const requestLog = (raw: RequestInfo): RpcLogger =>
      app.childLoggerFactory.call(
        app,
        app.log,
        { [logController.requestIdLogLabel]: nextRequestId() },
        {},
        raw as never,
      );
    fastLane.serve({
      ...rpcOptions,
      gates,
      deadline,
      bodyBudget,
      services,
      contextValues: (raw) => callTransport(raw, requestLog(raw)),
      corsHeaders: cors.headersFor,
      log: app.log,
    });
    app.addHook("preClose", async () => fastLane.stop());
  }

  app.setNotFoundHandler(answerNotFound);

  await app.ready();
  if (front === undefined) throw new Error("fastify did not call the server factory");
  logDroppedConnections(front, app.log, { maxConnections: config.maxConnections, everyMs: 10_000 });
  return { fastify: app, front, health, admin, tracing, fastLane };
}
