import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createSimpleTestClient } from "../client/simple-test-client.js";
import { listenAdmin } from "../server/admin-app.js";
import { eventually } from "../testkit/eventually.js";
import { getOnNewConnection as get } from "./support/new-connection.js";
import { total } from "./support/prometheus.js";
import { freePort, type ServerProcess, spawnServer, startServer } from "./support/server.js";

async function getOnes(url: string, calls: number): Promise<void> {
  for (let i = 0; i < calls; i++) {
    const client = createSimpleTestClient({ baseUrl: url, protocol: "grpc" });
    assert.equal((await client.getOne({ hello: `${i}` })).result, `Hello !! ${i}`);
    client.close();
  }
}

const handled = (text: string) => total(text, "grpc_server_handled_total", { grpc_method: "GetOne", grpc_code: "OK" });

for (const workers of [1, 2]) {
  describe(`ADMIN_PORT with WORKERS=${workers}: /metrics and /healthz on a port of their own`, () => {
    let server: ServerProcess;
    let admin: string;
    before(async () => {
      const port = await freePort();
      admin = `http://127.0.0.1:${port}`;
      server = await spawnServer({ WORKERS: String(workers), ADMIN_PORT: String(port), SHUTDOWN_DELAY_MS: "2000" });
      await eventually(() => server.lines.filter((l) => l.includes("listening at")).length >= workers, {
        timeoutMs: 20_000,
        what: "every worker to listen",
      });
    });
    after(() => server?.close());

    it("serves the whole server's metrics on the admin port, on loopback by default", async () => {
      assert.ok(
        server.lines.some((l) => l.includes(`admin endpoints (/metrics, /healthz) at ${admin}`)),
        server.lines.join("\n"),
      );
      const calls = 4 * workers;
      await getOnes(server.url, calls);
      for (let i = 0; i < 3; i++) {
        const scrape = await get(`${admin}/metrics`);
        assert.equal(scrape.status, 200);
        assert.equal(handled(scrape.body), calls);
      }
    });

    it("no longer serves /metrics on the public port; /healthz stays there too", async () => {
      for (let i = 0; i < 2 * workers; i++) {
        assert.equal((await get(`${server.url}/metrics`)).status, 404);
        assert.equal((await get(`${server.url}/healthz`)).status, 200);
      }
      assert.deepEqual(await get(`${admin}/healthz`), { status: 200, body: "SERVING\n" });
    });

    it("counts a worker that does not answer with the figures it sent last", { skip: workers === 1 }, async () => {
      const pids = new Set(server.lines.filter((l) => l.includes('"msg":"rpc"')).map((l) => JSON.parse(l).pid));
      assert.equal(pids.size, workers);
      const [stuck] = pids;
      process.kill(stuck, "SIGSTOP");
      try {
        const started = Date.now();
        const scrape = await get(`${admin}/metrics`);
        const waitedMs = Date.now() - started;
        assert.equal(handled(scrape.body), 4 * workers);
        assert.ok(waitedMs >= 1_500 && waitedMs < 10_000, `the scrape took ${waitedMs} ms`);
      } finally {
        process.kill(stuck, "SIGCONT");
      }
    });

    it("answers NOT_SERVING on the admin port once shutdown begins, and metrics through the drain", async () => {
      server.child.kill("SIGTERM");
      await eventually(() => server.lines.filter((l) => l.includes('"msg":"shutting down"')).length >= workers, {
        intervalMs: 20,
        what: "every worker to begin shutting down",
      });
      assert.deepEqual(await get(`${admin}/healthz`), { status: 503, body: "NOT_SERVING\n" });
      assert.equal((await get(`${server.url}/healthz`)).status, 503);
      assert.equal(handled((await get(`${admin}/metrics`)).body), 4 * workers);
      assert.equal(await server.exited, 0);
      await assert.rejects(get(`${admin}/healthz`), /ECONNREFUSED/);
    });
  });
}

describe("ADMIN_PORT in process", () => {
  it("logs where buildApp's logStream goes, as the public port does", async () => {
    const lines: string[] = [];
    const server = await startServer(
      { ADMIN_PORT: "0", LOG_LEVEL: "info" },
      { logStream: { write: (line) => lines.push(line) } },
    );
    try {
      const { admin } = server.app;
      assert.ok(admin);
      try {
        await listenAdmin(admin, { host: "127.0.0.1", port: 0 });
        assert.ok(
          lines.some((l) => l.includes("admin endpoints (/metrics, /healthz) at http://127.0.0.1:")),
          lines.join(""),
        );
      } finally {
        await admin.close();
      }
    } finally {
      await server.close();
    }
  });
});
