import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createSimpleTestClient } from "../client/simple-test-client.js";
import { eventually } from "../testkit/eventually.js";
import { sample, scrape, scrapeUntil } from "./support/prometheus.js";
import { refusingImports } from "./support/refused-imports.js";
import {
  assertStillServing,
  freePort,
  type RunningServer,
  type ServerProcess,
  spawnServer,
  startServer,
} from "./support/server.js";

describe("GET /metrics", () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ GETLIST_INTERVAL_MS: "200" });
  });
  after(() => server.close());

  it("counts calls by method, protocol and gRPC code name", async () => {
    for (const protocol of ["connect", "grpc", "grpc-web"] as const) {
      const client = createSimpleTestClient({ baseUrl: server.url, protocol });
      await client.getOne({ hello: "x" });
      client.close();
    }
    const text = await scrape(server.url);
    for (const protocol of ["connect", "grpc", "grpc_web"]) {
      const labels = { grpc_method: "GetOne", grpc_type: "unary", protocol, grpc_code: "OK" };
      assert.equal(sample(text, "grpc_server_handled_total", labels), 1, protocol);
      assert.equal(sample(text, "grpc_server_started_total", { grpc_method: "GetOne", protocol }), 1);
    }
    assert.match(text, /^grpc_server_handling_seconds_bucket\{/m);
    assert.match(text, /^process_resident_memory_bytes /m);
  });

  it("shows a stream the client abandons released at once: in-flight back to 0, code Canceled", async () => {
    const client = createSimpleTestClient({ baseUrl: server.url, protocol: "grpc" });
    const abort = new AbortController();
    const stream = client.getList({}, { signal: abort.signal });
    for await (const _ of stream) {
      const during = await scrape(server.url);
      assert.equal(sample(during, "grpc_server_in_flight", { grpc_method: "GetList" }), 1);
      abort.abort();
      break;
    }
    client.close();
    // The next message is 200 ms away: a handler still running would still be in flight.
    const text = await scrapeUntil(server.url, "grpc_server_in_flight", { grpc_method: "GetList" }, 0);
    assert.equal(sample(text, "grpc_server_in_flight", { grpc_method: "GetList" }), 0);
    assert.equal(sample(text, "grpc_server_handled_total", { grpc_method: "GetList", grpc_code: "Canceled" }), 1);
    assert.equal(sample(text, "grpc_server_msg_sent_total", { grpc_method: "GetList" }), 1);
  });

  it("can be switched off with METRICS=off", async () => {
    const quiet = await startServer({ METRICS: "off" });
    try {
      assert.equal((await fetch(`${quiet.url}/metrics`)).status, 404);
    } finally {
      await quiet.close();
    }
  });

  describe("off, loads no prom-client: the server serves where it cannot be imported", () => {
    const NODE_OPTIONS = refusingImports("^prom-client(/|$)");

    it("in one process", async () => {
      const server = await spawnServer({ NODE_OPTIONS, METRICS: "off" });
      try {
        await assertStillServing(server.url);
        assert.equal((await fetch(`${server.url}/metrics`)).status, 404);
      } finally {
        await server.close();
      }
      assert.equal(await server.exited, 0);
    });

    it("with WORKERS=2 and an admin port, which serves /healthz and no /metrics", async () => {
      const adminPort = await freePort();
      const server = await spawnServer({ NODE_OPTIONS, METRICS: "off", WORKERS: "2", ADMIN_PORT: String(adminPort) });
      try {
        await assertStillServing(server.url);
        const admin = `http://127.0.0.1:${adminPort}`;
        assert.equal((await fetch(`${admin}/healthz`)).status, 200);
        assert.equal((await fetch(`${admin}/metrics`)).status, 404);
      } finally {
        await server.close();
      }
      assert.equal(await server.exited, 0);
    });

    it("(the hook does stop a server that keeps metrics)", async () => {
      await assert.rejects(spawnServer({ NODE_OPTIONS }), /imported prom-client/);
    });
  });
});

describe("the log", () => {
  let server: ServerProcess;
  before(async () => {
    server = await spawnServer();
  });
  after(() => server.close());

  it("has one structured line per RPC, with procedure, protocol, HTTP version, code, duration and peer", async () => {
    const client = createSimpleTestClient({ baseUrl: server.url, protocol: "grpc-web", httpVersion: "1.1" });
    await client.getOne({ hello: "a secret the log must not hold" });
    client.close();
    const rpcLines = () => server.lines.filter((l) => l.includes('"msg":"rpc"')).map((l) => JSON.parse(l));
    await eventually(() => rpcLines().length > 0, { intervalMs: 20, what: "the call's log line" });
    const [line, ...rest] = rpcLines();
    assert.equal(rest.length, 0);
    assert.equal(line.procedure, "/simpletest.SimpleTest/GetOne");
    assert.equal(line.protocol, "grpc_web");
    assert.equal(line.httpVersion, "1.1");
    assert.equal(line.code, "ok");
    assert.equal(typeof line.durationMs, "number");
    assert.match(line.peer, /^127\.0\.0\.1:\d+$/);
    assert.ok(!server.lines.join("\n").includes("a secret the log must not hold"));
  });
});
