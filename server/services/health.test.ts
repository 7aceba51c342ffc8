import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { createHealthService, createHealthStatus, type HealthStatus } from "./health.js";

function healthClient(status: HealthStatus, maxWatchStreams = 100) {
  return createClient(
    Health,
    createRouterTransport((router) => router.service(Health, createHealthService(status, { maxWatchStreams }))),
  );
}

describe("health status", () => {
  it("starts NOT_SERVING for the server and its services; other services are unknown", () => {
    const status = createHealthStatus(["a.A"]);
    assert.equal(status.get(""), ServingStatus.NOT_SERVING);
    assert.equal(status.get("a.A"), ServingStatus.NOT_SERVING);
    assert.equal(status.get("b.B"), undefined);
  });

  it("stays NOT_SERVING after shutdown, whatever is set", () => {
    const status = createHealthStatus([]);
    status.set(ServingStatus.SERVING);
    status.shutdown();
    status.set(ServingStatus.SERVING);
    assert.equal(status.get(""), ServingStatus.NOT_SERVING);
    assert.equal(status.isShutDown, true);
  });

  it("stops waiting for a change when the signal aborts", async () => {
    const status = createHealthStatus([]);
    const abort = new AbortController();
    const waiting = status.nextChange(abort.signal);
    abort.abort(new Error("call ended"));
    await assert.rejects(waiting, /call ended/);
    await assert.rejects(status.nextChange(abort.signal), /call ended/);
  });
});

describe("grpc.health.v1.Health", () => {
  it("Check answers the status of the server and of each of its services", async () => {
    const status = createHealthStatus(["a.A"]);
    const client = healthClient(status);
    status.set(ServingStatus.SERVING);
    assert.equal((await client.check({ service: "" })).status, ServingStatus.SERVING);
    assert.equal((await client.check({ service: "a.A" })).status, ServingStatus.SERVING);
    status.set(ServingStatus.NOT_SERVING);
    assert.equal((await client.check({ service: "a.A" })).status, ServingStatus.NOT_SERVING);
  });

  it("Check answers NOT_FOUND for a service the server does not have", async () => {
    const client = healthClient(createHealthStatus([]));
    await assert.rejects(client.check({ service: "b.B" }), (e) => ConnectError.from(e).code === Code.NotFound);
  });

  it("Watch sends the current status, then each change, and ends after shutdown", async () => {
    const status = createHealthStatus(["a.A"]);
    status.set(ServingStatus.SERVING);
    const seen: ServingStatus[] = [];
    for await (const { status: now } of healthClient(status).watch({ service: "a.A" })) {
      seen.push(now);
      if (seen.length === 1) {
        status.set(ServingStatus.SERVING);
        status.set(ServingStatus.NOT_SERVING);
      }
      if (seen.length === 2) status.set(ServingStatus.SERVING);
      if (seen.length === 3) status.shutdown();
    }
    assert.deepEqual(seen, [
      ServingStatus.SERVING,
      ServingStatus.NOT_SERVING,
      ServingStatus.SERVING,
      ServingStatus.NOT_SERVING,
    ]);
  });

  it("Watch of an unknown service sends SERVICE_UNKNOWN and stays open until the call ends", async () => {
    const abort = new AbortController();
    const seen: ServingStatus[] = [];
    const watching = (async () => {
      for await (const { status } of healthClient(createHealthStatus([])).watch(
        { service: "b.B" },
        { signal: abort.signal },
      )) {
        seen.push(status);
        setTimeout(() => abort.abort(), 50);
      }
    })();
    await assert.rejects(watching, (e) => ConnectError.from(e).code === Code.Canceled);
    assert.deepEqual(seen, [ServingStatus.SERVICE_UNKNOWN]);
  });
  it("Watch past maxWatchStreams is resource_exhausted, and a stream that ends frees its place", async () => {
    const status = createHealthStatus([]);
    status.set(ServingStatus.SERVING);
    const client = healthClient(status, 2);
    const open = [0, 1].map(() => client.watch({ service: "" })[Symbol.asyncIterator]());
    for (const watch of open) assert.equal((await watch.next()).value?.status, ServingStatus.SERVING);
    await assert.rejects(
      client.watch({ service: "" })[Symbol.asyncIterator]().next(),
      (e) => ConnectError.from(e).code === Code.ResourceExhausted,
    );
    status.shutdown();
    for (const watch of open) {
      assert.equal((await watch.next()).value?.status, ServingStatus.NOT_SERVING);
      assert.equal((await watch.next()).done, true);
    }
    const after: ServingStatus[] = [];
    for await (const { status: now } of client.watch({ service: "" })) after.push(now);
    assert.deepEqual(after, [ServingStatus.NOT_SERVING]);
  });
});
