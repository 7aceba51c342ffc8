import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { TracerProvider } from "@opentelemetry/sdk-trace";
import { createSimpleTestClient, type Protocol, protocols } from "../client/simple-test-client.js";
import { finishedSpans, startTracedServer, type TracedServer } from "./support/traced-server.js";

describe("the Node client sends the caller's trace, when the application has an OpenTelemetry SDK", () => {
  let server: TracedServer;
  before(async () => {
    // What an application that traces does at start-up, before it makes clients.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(new TracerProvider());
    server = await startTracedServer();
  });
  after(async () => {
    await server?.app.fastify.close();
    trace.disable();
    context.disable();
    propagation.disable();
  });
  beforeEach(() => server.exporter.reset());

  const getOne = async (protocol: Protocol) => {
    const client = createSimpleTestClient({ baseUrl: server.url, protocol });
    try {
      await client.getOne({ hello: "traced" });
    } finally {
      client.close();
    }
  };

  for (const protocol of protocols) {
    it(`the server's span is a child of the caller's active span (${protocol})`, async () => {
      const caller = trace.getTracer("caller").startSpan("caller");
      await context.with(trace.setSpan(context.active(), caller), () => getOne(protocol));
      caller.end();
      const [span] = await finishedSpans(server.exporter, 1);
      assert.equal(span.spanContext().traceId, caller.spanContext().traceId);
      assert.equal(span.parentSpanContext?.spanId, caller.spanContext().spanId);
    });
  }

  it("without an active span, or without an SDK at all, it sends no trace and the server starts one", async () => {
    await getOne("grpc");
    trace.disable();
    context.disable();
    propagation.disable();
    await getOne("grpc");
    const spans = await finishedSpans(server.exporter, 2);
    assert.equal(spans.length, 2);
    for (const span of spans) assert.equal(span.parentSpanContext, undefined);
  });
});
