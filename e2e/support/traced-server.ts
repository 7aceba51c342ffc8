import type { AddressInfo } from "node:net";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace";
import { type App, buildApp } from "../../server/app.js";
import { loadConfig } from "../../server/config.js";
import { eventually } from "../../testkit/eventually.js";

export interface TracedServer {
  readonly app: App;
  /** The server's spans, as its OTLP exporter would have sent them. */
  readonly exporter: InMemorySpanExporter;
  readonly url: string;
}

/** The real app with tracing on, listening on a free loopback port, its spans kept in memory. */
export async function startTracedServer(env: Record<string, string> = {}): Promise<TracedServer> {
  const exporter = new InMemorySpanExporter();
  const config = loadConfig({
    LOG_LEVEL: "silent",
    HOST: "127.0.0.1",
    PORT: "0",
    OTEL_TRACES_EXPORTER: "otlp",
    ...env,
  });
  const app = await buildApp(config, { spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  await app.fastify.listen({ host: config.host, port: config.port });
  const { port } = app.fastify.server.address() as AddressInfo;
  return { app, exporter, url: `http://127.0.0.1:${port}` };
}

/**
 * The spans exported so far, once there are `count`: a span reaches the
 * exporter a little after the client has its answer (a stream's ends as its
 * trailers go out, and the resource's detectors answer asynchronously).
 */
export async function finishedSpans(exporter: InMemorySpanExporter, count: number): Promise<ReadableSpan[]> {
  await eventually(() => exporter.getFinishedSpans().length >= count, {
    timeoutMs: 5_000,
    intervalMs: 20,
    what: `${count} finished spans (have ${exporter.getFinishedSpans().length})`,
  });
  return exporter.getFinishedSpans();
}
