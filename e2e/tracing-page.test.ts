import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, beforeEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Browser } from "playwright-core";
import { launchChromium } from "./support/chromium.js";
import { freePort, type RunningServer, startServer } from "./support/server.js";
import { finishedSpans, startTracedServer, type TracedServer } from "./support/traced-server.js";

const repo = fileURLToPath(new URL("..", import.meta.url));

describe("one trace from the browser page to the server", () => {
  let browser: Browser;
  /** Serves the page; the page calls `api`, another origin, as a page deployed apart from its API does. */
  let site: RunningServer;
  let api: TracedServer;
  before(async () => {
    await promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/build-web-if-stale.ts"], { cwd: repo });
    const [sitePort, apiPort] = await Promise.all([freePort(), freePort()]);
    const origin = (port: number) => `http://127.0.0.1:${port}`;
    [browser, site, api] = await Promise.all([
      launchChromium(),
      startServer({ PORT: String(sitePort), PAGE_API_ORIGINS: origin(apiPort) }),
      startTracedServer({ PORT: String(apiPort), CORS_ORIGINS: origin(sitePort) }),
    ]);
  });
  after(async () => {
    await browser?.close();
    await Promise.all([site?.close(), api?.app.fastify.close()]);
  });
  beforeEach(() => api.exporter.reset());

  for (const transport of ["Connect (JSON)", "Connect (binary)", "gRPC-Web"]) {
    it(`the page sends a traceparent that the server's span continues, across origins (${transport})`, async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        page.setDefaultTimeout(10_000);
        await page.goto(`${site.url}/?api=${api.url}`);
        await page.getByLabel("Transport").selectOption({ label: transport });
        const request = page.waitForRequest((r) => r.url().endsWith("/GetOne") && r.method() === "POST");
        await page.getByRole("button", { name: "GetOne" }).click();
        const sent = (await (await request).allHeaders()).traceparent;
        await page.getByText("Hello !! world").waitFor();
        const [, traceId, parentId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(sent ?? "") ?? [];
        assert.ok(traceId, `traceparent: ${sent}`);
        const [span] = await finishedSpans(api.exporter, 1);
        assert.equal(span.name, "simpletest.SimpleTest/GetOne");
        assert.equal(span.spanContext().traceId, traceId);
        assert.equal(span.parentSpanContext?.spanId, parentId);
      } finally {
        await context.close();
      }
    });
  }
});
