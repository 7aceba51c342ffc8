import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { createSimpleTestClient } from "../client/simple-test-client.js";
import { buildApp } from "../server/app.js";
import { loadConfig } from "../server/config.js";
import { describeTransport, transports } from "./support/matrix.js";
import { h2cRequest } from "./support/raw-http.js";
import { bodyOf, goodMessage, methods, outcomeOf, pathOf } from "./support/raw-rpc.js";
import { finishedSpans, startTracedServer, type TracedServer } from "./support/traced-server.js";

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const callerSpanId = "00f067aa0ba902b7";
const traceparent = `00-${traceId}-${callerSpanId}-01`;
const tracestate = "vendor=opaque";

for (const fastPath of ["on", "off"]) {
  describe(`one server span per RPC, continuing the caller's trace (FAST_PATH=${fastPath})`, () => {
    let server: TracedServer;
    before(async () => {
      server = await startTracedServer({
        OTEL_TRACES_EXPORTER: "otlp",
        FAST_PATH: fastPath,
        GETLIST_INTERVAL_MS: "200",
      });
    });
    after(() => server?.app.fastify.close());
    beforeEach(() => server.exporter.reset());

    for (const transport of transports) {
      const system = transport.protocol === "connect" ? "connect_rpc" : "grpc";
      it(`GetOne over ${describeTransport(transport)}`, async () => {
        const client = createSimpleTestClient({ baseUrl: server.url, ...transport });
        try {
          await client.getOne({ hello: "traced" }, { headers: { traceparent, tracestate } });
        } finally {
          client.close();
        }
        const [span, ...more] = await finishedSpans(server.exporter, 1);
        assert.deepEqual(more, []);
        assert.equal(span.name, "simpletest.SimpleTest/GetOne");
        assert.equal(span.kind, SpanKind.SERVER);
        assert.equal(span.spanContext().traceId, traceId);
        assert.equal(span.parentSpanContext?.spanId, callerSpanId);
        assert.equal(span.parentSpanContext?.isRemote, true);
        assert.equal(span.spanContext().traceState?.serialize(), tracestate);
        assert.equal(span.status.code, SpanStatusCode.UNSET);
        const { "network.peer.port": peerPort, ...attributes } = span.attributes;
        assert.equal(typeof peerPort, "number");
        assert.deepEqual(attributes, {
          "rpc.system": system,
          "rpc.service": "simpletest.SimpleTest",
          "rpc.method": "GetOne",
          "network.protocol.version": transport.httpVersion,
          "network.peer.address": "127.0.0.1",
          ...(system === "grpc" ? { "rpc.grpc.status_code": 0 } : {}),
        });
      });
    }

    it("a server stream's span lasts until its last message", async () => {
      const client = createSimpleTestClient({ baseUrl: server.url, protocol: "grpc" });
      const started = performance.now();
      try {
        for await (const _ of client.getList({ hello: "x" }, { headers: { traceparent } }));
      } finally {
        client.close();
      }
      const [span] = await finishedSpans(server.exporter, 1);
      assert.equal(span.name, "simpletest.SimpleTest/GetList");
      assert.equal(span.parentSpanContext?.spanId, callerSpanId);
      assert.equal(span.attributes["rpc.grpc.status_code"], 0);
      const ms = span.duration[0] * 1000 + span.duration[1] / 1e6;
      // Five messages 200 ms apart.
      assert.ok(ms >= 700 && ms <= performance.now() - started + 50, `span lasted ${ms} ms`);
    });

    it("without a traceparent, the span starts a trace of its own", async () => {
      const client = createSimpleTestClient({ baseUrl: server.url, protocol: "grpc" });
      try {
        await client.getOne({ hello: "root" });
      } finally {
        client.close();
      }
      const [span] = await finishedSpans(server.exporter, 1);
      assert.equal(span.parentSpanContext, undefined);
      assert.match(span.spanContext().traceId, /^[0-9a-f]{32}$/);
      assert.notEqual(span.spanContext().traceId, traceId);
    });

    // Sent raw, so that the server's deadline ends the call, not the client giving up first.
    const deadlineHeaders = {
      grpc: { "content-type": "application/grpc", te: "trailers", "grpc-timeout": "300m" },
      connect: { "content-type": "application/connect+proto", "connect-timeout-ms": "300" },
    };
    for (const protocol of ["grpc", "connect"] as const) {
      it(`an error is recorded with its code, and a server-side one sets the status ERROR (${protocol})`, async () => {
        const getList = methods[1];
        const answer = await h2cRequest(
          server.url,
          pathOf(getList),
          { ...deadlineHeaders[protocol], traceparent },
          bodyOf(protocol, getList, [goodMessage("proto", getList)]),
        );
        assert.equal(outcomeOf(protocol, getList, answer).code, "deadline_exceeded");
        const [span] = await finishedSpans(server.exporter, 1);
        assert.equal(span.name, "simpletest.SimpleTest/GetList");
        assert.equal(span.parentSpanContext?.spanId, callerSpanId);
        assert.equal(span.status.code, SpanStatusCode.ERROR);
        if (protocol === "grpc") assert.equal(span.attributes["rpc.grpc.status_code"], Code.DeadlineExceeded);
        else assert.equal(span.attributes["rpc.connect_rpc.error_code"], "deadline_exceeded");
      });
    }

    it("a client that cancels leaves a span with code canceled and no ERROR status (not the server's fault)", async () => {
      const client = createSimpleTestClient({ baseUrl: server.url, protocol: "grpc" });
      const abort = new AbortController();
      try {
        const stream = client.getList({ hello: "bye" }, { signal: abort.signal });
        for await (const _ of stream) abort.abort();
      } catch {
        // The client's own cancellation.
      } finally {
        client.close();
      }
      const [span] = await finishedSpans(server.exporter, 1);
      assert.equal(span.attributes["rpc.grpc.status_code"], Code.Canceled);
      assert.equal(span.status.code, SpanStatusCode.UNSET);
    });
  });
}

describe("tracing off (OTEL_TRACES_EXPORTER unset)", () => {
  it("adds no interceptor and loads no SDK: buildApp reports no tracing", async () => {
    const app = await buildApp(loadConfig({ LOG_LEVEL: "silent" }));
    try {
      assert.equal(app.tracing, undefined);
    } finally {
      await app.fastify.close();
    }
  });
});
