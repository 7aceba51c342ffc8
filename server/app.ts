import type { Server } from "node:http";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import { type FastifyInstance, fastify, LogController } from "fastify";
import { SimpleTest } from "../gen/simpletest/simple_test_pb.js";
import type { Config } from "./config.js";
import { createOnePortServer, type OnePortServer, type RequestListener } from "./listen/one-port.js";
import { createSimpleTestService } from "./services/simple-test.js";

export interface App {
  readonly fastify: FastifyInstance;
  readonly front: OnePortServer;
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

  const simpleTest = createSimpleTestService({ getListIntervalMs: config.getListIntervalMs });
  await app.register(fastifyConnectPlugin, {
    routes: (router: ConnectRouter) => router.service(SimpleTest, simpleTest),
    readMaxBytes: config.maxMessageBytes,
    writeMaxBytes: config.maxMessageBytes,
    maxTimeoutMs: config.maxTimeoutMs,
    // curl users should not have to send Connect-Protocol-Version.
    requireConnectProtocolHeader: false,
    shutdownSignal: shutdown.signal,
  });

  await app.ready();
  if (front === undefined) throw new Error("fastify did not call the server factory");
  return { fastify: app, front };
}
