import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createSimpleTestClient } from "../client/simple-test-client.js";
import { type ServerProcess, spawnServer } from "./support/server.js";

describe("WORKERS=2: two server processes on the one port", () => {
  let server: ServerProcess;
  before(async () => {
    server = await spawnServer({ WORKERS: "2", LOG_LEVEL: "info" });
    // spawnServer returns once the first worker listens; the second may still be starting.
    for (let i = 0; i < 200 && server.lines.filter((l) => l.includes("listening at")).length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  after(() => server?.close());

  it("answers over gRPC and Connect, from both workers", async () => {
    const clients = [
      createSimpleTestClient({ baseUrl: server.url, protocol: "grpc" }),
      createSimpleTestClient({ baseUrl: server.url, protocol: "connect", httpVersion: "1.1", codec: "json" }),
    ];
    try {
      for (const client of clients) assert.equal((await client.getOne({ hello: "w" })).result, "Hello !! w");
      // Each new connection goes to the next worker in turn.
      for (let i = 0; i < 6; i++) {
        const client = createSimpleTestClient({ baseUrl: server.url, protocol: "grpc" });
        await client.getOne({ hello: String(i) });
        client.close();
      }
    } finally {
      for (const client of clients) client.close();
    }
    const pids = new Set(server.lines.filter((l) => l.includes('"msg":"rpc"')).map((l) => JSON.parse(l).pid));
    assert.equal(pids.size, 2, `calls were served by ${[...pids].join(", ")}`);
  });

  it("stops every worker and exits 0 on SIGTERM", async () => {
    server.child.kill("SIGTERM");
    assert.equal(await server.exited, 0);
    const stopped = server.lines.filter((l) => l.includes('"msg":"stopped"'));
    assert.equal(stopped.length, 2);
  });
});
