import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { createHealthClient, type HealthClient } from "../client/health-client.js";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { type App, buildApp } from "../server/app.js";
import { loadConfig } from "../server/config.js";
import { eventually } from "../testkit/eventually.js";
import { makePythonStubs, type PythonStubs, runPythonScript } from "./support/grpc-proto-python.js";
import { describeTransport, transports } from "./support/matrix.js";
import type { CommandResult } from "./support/run-command.js";
import { type ServerProcess, spawnServer } from "./support/server.js";

/** The real app on a free port, with its health status at hand to flip. */
async function startApp(): Promise<{ app: App; url: string }> {
  const config = loadConfig({ LOG_LEVEL: "silent", HOST: "127.0.0.1", PORT: "0" });
  const app = await buildApp(config);
  await app.fastify.listen({ host: config.host, port: 0 });
  return { app, url: `http://127.0.0.1:${(app.fastify.server.address() as AddressInfo).port}` };
}

/** Watches `service`, handing each status to `seen`; resolves when the call ends without error. */
async function watch(
  client: HealthClient,
  service: string,
  seen: (status: ServingStatus) => void,
  signal?: AbortSignal,
) {
  for await (const { status } of client.watch({ service }, { signal, timeoutMs: 20_000 })) seen(status);
}

function getHealthz1(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${url}/healthz`, { agent: false, timeout: 5_000 }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (chunk) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

function getHealthz2(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const stream = session.request({ ":path": "/healthz" });
    stream.setTimeout(5_000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    let status = 0;
    let body = "";
    stream.on("response", (headers) => {
      status = Number(headers[":status"]);
    });
    stream.setEncoding("utf8").on("data", (chunk) => {
      body += chunk;
    });
    stream.on("end", () => {
      session.close();
      resolve({ status, body });
    });
    stream.on("error", reject);
  });
}

describe("grpc.health.v1 and /healthz, from the project's Node client and plain HTTP", () => {
  let app: App;
  let url: string;
  before(async () => {
    ({ app, url } = await startApp());
  });
  after(() => app?.fastify.close());

  for (const transport of transports) {
    describe(describeTransport(transport), () => {
      let client: HealthClient;
      before(() => {
        client = createHealthClient({ baseUrl: url, ...transport });
      });
      after(() => client?.close());

      it('Check: "" and simpletest.SimpleTest are SERVING; an unknown service is NOT_FOUND', async () => {
        assert.equal((await client.check({ service: "" })).status, ServingStatus.SERVING);
        assert.equal((await client.check({ service: "simpletest.SimpleTest" })).status, ServingStatus.SERVING);
        await assert.rejects(
          client.check({ service: "nope.Nope" }),
          (e) => ConnectError.from(e).code === Code.NotFound,
        );
      });

      it("Watch streams the current status, then every change, until the caller cancels", async () => {
        const seen: ServingStatus[] = [];
        const abort = new AbortController();
        const watching = watch(client, "simpletest.SimpleTest", (s) => seen.push(s), abort.signal);
        try {
          await eventually(() => seen.length === 1, { intervalMs: 10, what: "the current status" });
          app.health.set(ServingStatus.NOT_SERVING);
          await eventually(() => seen.length === 2, { intervalMs: 10, what: "the change to NOT_SERVING" });
        } finally {
          app.health.set(ServingStatus.SERVING);
        }
        await eventually(() => seen.length === 3, { intervalMs: 10, what: "the change back to SERVING" });
        abort.abort();
        await assert.rejects(watching, (e) => ConnectError.from(e).code === Code.Canceled);
        assert.deepEqual(seen, [ServingStatus.SERVING, ServingStatus.NOT_SERVING, ServingStatus.SERVING]);
      });
    });
  }

  it("Watch of an unknown service answers SERVICE_UNKNOWN and keeps the call open", async () => {
    const client = createHealthClient({ baseUrl: url, protocol: "grpc" });
    const seen: ServingStatus[] = [];
    const abort = new AbortController();
    const watching = watch(client, "nope.Nope", (s) => seen.push(s), abort.signal);
    try {
      await eventually(() => seen.length === 1, { intervalMs: 10, what: "the first answer" });
      await sleep(100);
      abort.abort();
      await assert.rejects(watching, (e) => ConnectError.from(e).code === Code.Canceled);
      assert.deepEqual(seen, [ServingStatus.SERVICE_UNKNOWN]);
    } finally {
      client.close();
    }
  });

  for (const [version, get] of [
    ["HTTP/1.1", getHealthz1],
    ["HTTP/2", getHealthz2],
  ] as const) {
    it(`GET /healthz over ${version}: 200 while serving, 503 when not`, async () => {
      assert.deepEqual(await get(url), { status: 200, body: "SERVING\n" });
      app.health.set(ServingStatus.NOT_SERVING);
      try {
        // The body tells this 503 from the one Fastify answers while it closes.
        assert.deepEqual(await get(url), { status: 503, body: "NOT_SERVING\n" });
      } finally {
        app.health.set(ServingStatus.SERVING);
      }
      assert.equal((await get(url)).status, 200);
    });
  }
});

describe("grpc.health.v1, from Python grpcio", () => {
  let app: App;
  let url: string;
  let stubs: PythonStubs;
  before(async () => {
    stubs = makePythonStubs(["grpc/health/v1/health.proto"]);
    ({ app, url } = await startApp());
  });
  after(async () => {
    await app?.fastify.close();
    stubs?.remove();
  });

  const target = () => new URL(url).host;

  it('Check: "" and simpletest.SimpleTest are SERVING; an unknown service is NOT_FOUND', async () => {
    const result = await runPythonScript(
      "health_client.py",
      [target(), "check", "", "simpletest.SimpleTest", "nope.Nope"],
      stubs,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      result.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line)),
      [
        { service: "", status: "SERVING" },
        { service: "simpletest.SimpleTest", status: "SERVING" },
        { service: "nope.Nope", code: "NOT_FOUND" },
      ],
    );
  });
});

describe("on SIGTERM", () => {
  let stubs: PythonStubs;
  let server: ServerProcess;
  let client: HealthClient;
  const fromNode: ServingStatus[] = [];
  const fromPython: string[] = [];
  let nodeWatch: Promise<void>;
  let pythonWatch: Promise<CommandResult>;
  let termAt: number;
  before(async () => {
    stubs = makePythonStubs(["grpc/health/v1/health.proto"]);
    // A grace period longer than the whole test: Watch calls must not wait it out.
    server = await spawnServer({ SHUTDOWN_GRACE_MS: "20000" });
    client = createHealthClient({ baseUrl: server.url, protocol: "grpc" });
  });
  after(async () => {
    client?.close();
    await server?.close();
    stubs?.remove();
  });

  it("Watch from the Node client and from Python grpcio starts SERVING, and /healthz answers 200", async () => {
    nodeWatch = watch(client, "", (s) => fromNode.push(s));
    pythonWatch = runPythonScript("health_client.py", [`127.0.0.1:${server.port}`, "watch", ""], stubs, {
      onLine: (line) => fromPython.push(line),
    });
    await eventually(() => fromNode.length > 0 && fromPython.length > 0, {
      intervalMs: 10,
      what: "both watches to start",
    });
    assert.deepEqual(fromNode, [ServingStatus.SERVING]);
    assert.deepEqual(JSON.parse(fromPython[0]), { status: "SERVING" });
    assert.deepEqual(await getHealthz1(server.url), { status: 200, body: "SERVING\n" });
  });

  it("both see NOT_SERVING when the server is sent SIGTERM, then their calls end", async () => {
    termAt = performance.now();
    server.child.kill("SIGTERM");
    await nodeWatch;
    assert.deepEqual(fromNode, [ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    const python = await pythonWatch;
    assert.equal(python.code, 0, python.stderr);
    assert.deepEqual(
      fromPython.map((line) => JSON.parse(line)),
      [{ status: "SERVING" }, { status: "NOT_SERVING" }, { end: "OK" }],
    );
  });

  it("the server exits 0 without waiting out its grace period for them", async () => {
    assert.equal(await server.exited, 0);
    const exitMs = performance.now() - termAt;
    assert.ok(exitMs < 10_000, `the server took ${exitMs.toFixed(0)} ms to exit`);
  });
});
