import { freePort, type RunningServer, startServer } from "../support/server.js";
import { finishedSpans, startTracedServer, type TracedServer } from "../support/traced-server.js";
import { expect, test } from "./fixtures.js";
import { transports } from "./simple-test-page.js";

test.describe("one trace from the browser page to the server", () => {
  /** Serves the page; the page calls `api`, another origin, as a page deployed apart from its API does. */
  let site: RunningServer;
  let api: TracedServer;
  test.beforeAll(async () => {
    const [sitePort, apiPort] = await Promise.all([freePort(), freePort()]);
    const origin = (port: number) => `http://127.0.0.1:${port}`;
    [site, api] = await Promise.all([
      startServer({ PORT: String(sitePort), PAGE_API_ORIGINS: origin(apiPort) }),
      startTracedServer({ PORT: String(apiPort), CORS_ORIGINS: origin(sitePort) }),
    ]);
  });
  test.afterAll(async () => {
    await Promise.all([site?.close(), api?.app.fastify.close()]);
  });
  test.beforeEach(() => api.exporter.reset());

  for (const transport of transports) {
    test(`the server's span continues the traceparent the page sends, across origins (${transport.label})`, async ({
      page,
      simpleTest,
    }) => {
      await simpleTest.open(transport.label, `${site.url}/?api=${api.url}`);
      const request = page.waitForRequest((r) => r.url().endsWith("/GetOne") && r.method() === "POST");
      await simpleTest.getOne.click();
      const sent = (await (await request).allHeaders()).traceparent;
      await expect(simpleTest.answer).toHaveText("Hello !! world");
      const [, traceId, parentId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(sent ?? "") ?? [];
      expect(traceId, `traceparent: ${sent}`).toBeTruthy();
      const [span] = await finishedSpans(api.exporter, 1);
      expect(span?.name).toBe("simpletest.SimpleTest/GetOne");
      expect(span?.spanContext().traceId).toBe(traceId);
      expect(span?.parentSpanContext?.spanId).toBe(parentId);
    });
  }
});
