import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { createSimpleTestClient, type Protocol } from "../client/simple-test-client.js";
import { eventually } from "../testkit/eventually.js";
import { type OtlpReceiver, startOtlpReceiver } from "./support/otlp-receiver.js";
import { refusingImports } from "./support/refused-imports.js";
import { assertStillServing, freePort, spawnServer } from "./support/server.js";

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const callerSpanId = "00f067aa0ba902b7";
const traceparent = `00-${traceId}-${callerSpanId}-01`;

async function getOne(url: string, protocol: Protocol, headers: Record<string, string> = {}): Promise<void> {
  const client = createSimpleTestClient({ baseUrl: url, protocol });
  try {
    await client.getOne({ hello: "exported" }, { headers });
  } finally {
    client.close();
  }
}

describe("the built server exports its spans over OTLP/HTTP to a collector (npm run build first)", () => {
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await startOtlpReceiver();
  });
  after(() => receiver?.close());

  it("in protobuf by default, with service.name simpletest, flushed when it stops", async () => {
    receiver.spans.length = 0;
    const server = await spawnServer({ OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    try {
      await getOne(server.url, "grpc", { traceparent });
      await getOne(server.url, "connect");
    } finally {
      // The batch would go out after 5 s; stopping sends it at once.
      await server.close();
    }
    assert.equal(await server.exited, 0);
    assert.ok(
      receiver.contentTypes.every((type) => type === "application/x-protobuf"),
      `${receiver.contentTypes}`,
    );
    const [grpc, connect, ...more] = receiver.spans;
    assert.deepEqual(more, []);
    assert.equal(grpc.name, "simpletest.SimpleTest/GetOne");
    assert.equal(grpc.kind, 2);
    assert.equal(grpc.traceId, traceId);
    assert.equal(grpc.parentSpanId, callerSpanId);
    assert.equal(grpc.resource["service.name"], "simpletest");
    const { "network.peer.port": port, ...attributes } = grpc.attributes;
    assert.equal(typeof port, "number");
    assert.deepEqual(attributes, {
      "rpc.system": "grpc",
      "rpc.service": "simpletest.SimpleTest",
      "rpc.method": "GetOne",
      "rpc.grpc.status_code": 0,
      "network.protocol.version": "2",
      "network.peer.address": "127.0.0.1",
    });
    // The call's log line leads to its trace.
    const logged = server.lines
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line))
      .find((line) => line.msg === "rpc" && line.protocol === "grpc");
    assert.equal(logged?.trace_id, traceId);
    assert.equal(logged?.span_id, grpc.spanId);
    assert.equal(logged?.trace_flags, "01");
    assert.equal(connect.attributes["rpc.system"], "connect_rpc");
    assert.equal(connect.parentSpanId, "");
    assert.notEqual(connect.traceId, traceId);
  });

  it("in JSON with OTEL_EXPORTER_OTLP_PROTOCOL=http/json, to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, named by OTEL_SERVICE_NAME", async () => {
    receiver.spans.length = 0;
    receiver.contentTypes.length = 0;
    const server = await spawnServer({
      OTEL_TRACES_EXPORTER: "otlp",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
      OTEL_SERVICE_NAME: "checkout",
    });
    try {
      await getOne(server.url, "grpc-web", { traceparent });
    } finally {
      await server.close();
    }
    assert.equal(await server.exited, 0);
    assert.deepEqual(receiver.contentTypes, ["application/json"]);
    const [span] = receiver.spans;
    assert.equal(span.name, "simpletest.SimpleTest/GetOne");
    assert.equal(span.parentSpanId, callerSpanId);
    assert.equal(span.attributes["rpc.system"], "grpc");
    assert.equal(span.resource["service.name"], "checkout");
  });

  it("from every worker with WORKERS=2, each with its own SDK, each flushing as it stops", async () => {
    receiver.spans.length = 0;
    const server = await spawnServer({
      WORKERS: "2",
      OTEL_TRACES_EXPORTER: "otlp",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    });
    const calls = 12;
    try {
      // spawnServer returns once the first worker listens; the other may still be starting.
      await eventually(() => server.lines.filter((l) => l.includes("listening at")).length >= 2, {
        timeoutMs: 20_000,
        what: "both workers to listen",
      });
      // A new connection each: the primary hands connections to the workers in turn.
      for (let i = 0; i < calls; i++) await getOne(server.url, "grpc", { traceparent });
    } finally {
      await server.close();
    }
    assert.equal(await server.exited, 0);
    assert.equal(receiver.spans.length, calls);
    const pids = new Set(receiver.spans.map((span) => span.resource["process.pid"]));
    assert.equal(pids.size, 2, `spans came from ${[...pids].join(", ")}`);
    assert.ok(receiver.spans.every((span) => span.parentSpanId === callerSpanId));
  });
});

describe("tracing off, by default", () => {
  // Any import of OpenTelemetry beyond its API (which prom-client loads anyway) fails.
  const NODE_OPTIONS = refusingImports("^@opentelemetry/(?!api$)");

  it("loads no part of the SDK: the server serves where no SDK module can be imported", async () => {
    const server = await spawnServer({ NODE_OPTIONS });
    try {
      await getOne(server.url, "grpc");
      await getOne(server.url, "connect");
    } finally {
      await server.close();
    }
    assert.equal(await server.exited, 0);
  });

  it("(the hook does stop a server that traces)", async () => {
    await assert.rejects(spawnServer({ NODE_OPTIONS, OTEL_TRACES_EXPORTER: "console" }), /imported @opentelemetry\//);
  });
});

describe("a collector that is down", () => {
  it("costs a warning in the log, never a call, and the server still stops cleanly", async () => {
    const closed = await freePort();
    const server = await spawnServer({
      OTEL_TRACES_EXPORTER: "otlp",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closed}`,
      OTEL_EXPORTER_OTLP_TIMEOUT: "1000",
    });
    try {
      await getOne(server.url, "grpc");
      await assertStillServing(server.url);
    } finally {
      await server.close();
    }
    assert.equal(await server.exited, 0);
    const warnings = server.lines.filter((line) => line.startsWith("{") && JSON.parse(line).level === 40);
    assert.ok(
      warnings.some((line) => line.includes("ECONNREFUSED")),
      `no warning of the failed export in:\n${server.lines.join("\n")}`,
    );
  });
});

describe("OTEL_TRACES_EXPORTER=console, as the README types it", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const recipe = /^OTEL_TRACES_EXPORTER=console npm start$/m;

  it("is in the README", () => {
    assert.match(readme, recipe);
  });

  it("prints each span to the server's stdout, between the JSON log lines", async () => {
    // What `npm start` runs, once built.
    const server = await spawnServer({ OTEL_TRACES_EXPORTER: "console" });
    try {
      await getOne(server.url, "grpc", { traceparent });
      await eventually(() => server.lines.some((l) => l.includes(callerSpanId)), { what: "the span on stdout" });
    } finally {
      await server.close();
    }
    const output = server.lines.join("\n");
    assert.match(output, /name: 'simpletest\.SimpleTest\/GetOne'/);
    assert.match(output, new RegExp(`traceId: '${traceId}'`));
    assert.match(output, new RegExp(`parentSpanContext: \\{[^}]*spanId: '${callerSpanId}'`));
    assert.match(output, /'rpc\.system': 'grpc'/);
    // The log lines are still JSON, one per line; the exporter's own lines may start with "{" too.
    assert.ok(server.lines.some((line) => line.startsWith('{"') && JSON.parse(line).procedure !== undefined));
  });
});
