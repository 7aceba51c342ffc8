import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createSimpleTestClient } from "../client/simple-test-client.js";
import { total } from "./support/prometheus.js";
import { freePort, type ServerProcess, spawnServer } from "./support/server.js";

/** GET over a connection of its own, so that with workers each request may reach another one. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

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
      for (let i = 0; server.lines.filter((l) => l.includes("listening at")).length < workers; i++) {
        assert.ok(i < 400, "the workers did not all start");
        await sleep(50);
      }
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

    it("answers NOT_SERVING on the admin port once shutdown begins, and metrics through the drain", async () => {
      server.child.kill("SIGTERM");
      for (let i = 0; server.lines.filter((l) => l.includes('"msg":"shutting down"')).length < workers; i++) {
        assert.ok(i < 100, "shutdown did not begin");
        await sleep(20);
      }
      assert.deepEqual(await get(`${admin}/healthz`), { status: 503, body: "NOT_SERVING\n" });
      assert.equal((await get(`${server.url}/healthz`)).status, 503);
      assert.equal(handled((await get(`${admin}/metrics`)).body), 4 * workers);
      assert.equal(await server.exited, 0);
      await assert.rejects(get(`${admin}/healthz`), /ECONNREFUSED/);
    });
  });
}
