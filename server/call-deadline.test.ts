import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { Code, ConnectError, createContextValues, createHandlerContext } from "@connectrpc/connect";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { SimpleTest } from "../gen/simpletest/simple_test_pb.js";
import { createCallDeadline } from "./call-deadline.js";

const deadline = createCallDeadline({
  maxTimeoutMs: 50,
  unbounded: ["/grpc.health.v1.Health/Watch"],
  stuckStreamGraceMs: 1_000,
});

function contextFor(
  method: typeof SimpleTest.method.postList | typeof Health.method.watch,
  timeoutMs?: number,
  contextValues = createContextValues(),
) {
  return createHandlerContext({
    service: method.parent,
    method,
    protocolName: "grpc",
    requestMethod: "POST",
    url: "http://localhost/",
    timeoutMs,
    contextValues,
  });
}

const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;

describe("createCallDeadline", () => {
  it("aborts a call that set no deadline with deadline_exceeded at the maximum", async () => {
    const context = contextFor(SimpleTest.method.postList);
    deadline.requestGate(context);
    await new Promise((resolve) => context.signal.addEventListener("abort", resolve));
    assert.equal(ConnectError.from(context.signal.reason).code, Code.DeadlineExceeded);
  });

  it("leaves a call with a deadline within the maximum, and an unbounded procedure, to themselves", async () => {
    const own = contextFor(SimpleTest.method.postList, 40);
    const watch = contextFor(Health.method.watch);
    const before = timers();
    deadline.requestGate(own);
    deadline.requestGate(watch);
    assert.equal(timers(), before);
    own.abort();
    watch.abort();
  });

  it("leaves no timer behind once calls end", () => {
    const before = timers();
    const contexts = Array.from({ length: 100 }, () => contextFor(SimpleTest.method.postList, 60_000));
    for (const context of contexts) deadline.requestGate(context);
    assert.ok(timers() >= before + 100);
    for (const context of contexts) context.abort();
    assert.equal(timers(), before);
  });

  it("makes a body read that waits for bytes reject with the call's abort reason", async () => {
    const body = new Readable({ read() {} });
    const values = deadline.watchBody(createContextValues(), body);
    const context = contextFor(SimpleTest.method.postList, 60_000, values);
    deadline.requestGate(context);
    body.push(Buffer.from("first"));
    const reading = (async () => {
      const chunks: string[] = [];
      for await (const chunk of body) chunks.push(String(chunk));
      return chunks;
    })();
    setTimeout(() => context.abort(new ConnectError("gone", Code.Unavailable)), 10);
    await assert.rejects(reading, (e) => ConnectError.from(e).code === Code.Unavailable);
  });
});

describe("capTimeoutHeaders: a deadline header over the maximum asks for the maximum", () => {
  const capped = (maxTimeoutMs: number, headers: Record<string, string>) => {
    const copy = { ...headers };
    createCallDeadline({ maxTimeoutMs, unbounded: [], stuckStreamGraceMs: 1_000 }).capTimeoutHeaders(copy);
    return copy;
  };

  it("rewrites a longer grpc-timeout or connect-timeout-ms, in each protocol's syntax", () => {
    assert.deepEqual(capped(300_000, { "grpc-timeout": "99999999H" }), { "grpc-timeout": "300000m" });
    assert.deepEqual(capped(300_000, { "connect-timeout-ms": "9999999999" }), { "connect-timeout-ms": "300000" });
  });

  it("writes whole seconds, rounded down, for a maximum that needs more than 8 digits of milliseconds", () => {
    assert.deepEqual(capped(2 ** 31 - 1, { "grpc-timeout": "999H" }), { "grpc-timeout": "2147483S" });
  });

  it("leaves shorter deadlines and malformed values to the protocol's own parser", () => {
    const untouched = { "grpc-timeout": "1S", "connect-timeout-ms": "300000" };
    assert.deepEqual(capped(300_000, untouched), untouched);
    assert.deepEqual(capped(300_000, { "grpc-timeout": "1x" }), { "grpc-timeout": "1x" });
    assert.deepEqual(capped(300_000, { "connect-timeout-ms": "-1" }), { "connect-timeout-ms": "-1" });
  });
});
