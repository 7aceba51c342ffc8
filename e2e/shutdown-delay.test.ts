import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createHealthClient } from "../client/health-client.js";
import { createSimpleTestClient } from "../client/simple-test-client.js";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { eventually } from "../testkit/eventually.js";
import { type ServerProcess, spawnServer } from "./support/server.js";

const healthz = async (url: string) => (await fetch(`${url}/healthz`, { headers: { connection: "close" } })).status;

describe("SHUTDOWN_DELAY_MS: after SIGTERM, NOT_SERVING at once but calls still taken for the delay", () => {
  let server: ServerProcess;
  before(async () => {
    server = await spawnServer({ SHUTDOWN_DELAY_MS: "1500" });
  });
  after(() => server?.close());

  it("reports NOT_SERVING, answers new calls on new connections, then stops and exits 0", async () => {
    assert.equal(await healthz(server.url), 200);
    const signalled = performance.now();
    server.child.kill("SIGTERM");
    await eventually(async () => (await healthz(server.url)) === 503, {
      intervalMs: 20,
      what: "/healthz to answer 503",
    });

    const health = createHealthClient({ baseUrl: server.url, protocol: "grpc" });
    assert.equal((await health.check({ service: "" })).status, ServingStatus.NOT_SERVING);
    health.close();
    for (const protocol of ["connect", "grpc", "grpc-web"] as const) {
      const client = createSimpleTestClient({ baseUrl: server.url, protocol });
      assert.equal((await client.getOne({ hello: protocol })).result, `Hello !! ${protocol}`);
      client.close();
    }
    assert.equal(server.child.exitCode, null, "still running while the delay lasts");

    assert.equal(await server.exited, 0);
    assert.ok(performance.now() - signalled >= 1_500, "exited before the delay was over");
    await assert.rejects(healthz(server.url));
  });
});
