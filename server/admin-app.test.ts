import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Counter, Registry } from "prom-client";
import { buildAdminApp } from "./admin-app.js";

describe("buildAdminApp", () => {
  it("answers /healthz as the server's status says, 200 then 503", async () => {
    let serving = true;
    const app = await buildAdminApp({ logLevel: "silent", metrics: undefined, isServing: () => serving });
    assert.equal((await app.inject("/healthz")).statusCode, 200);
    serving = false;
    const answer = await app.inject("/healthz");
    assert.equal(answer.statusCode, 503);
    assert.equal(answer.body, "NOT_SERVING\n");
    await app.close();
  });

  it("serves /metrics from its source, and nothing there when metrics are off", async () => {
    const registry = new Registry();
    new Counter({ name: "calls_total", help: "Calls.", registers: [registry] }).inc(3);
    const on = await buildAdminApp({ logLevel: "silent", metrics: registry, isServing: () => true });
    const scrape = await on.inject("/metrics");
    assert.equal(scrape.statusCode, 200);
    assert.match(scrape.headers["content-type"] as string, /^text\/plain; version=0\.0\.4/);
    assert.match(scrape.body, /^calls_total 3$/m);
    await on.close();
    const off = await buildAdminApp({ logLevel: "silent", metrics: undefined, isServing: () => true });
    assert.equal((await off.inject("/metrics")).statusCode, 404);
    await off.close();
  });
});
