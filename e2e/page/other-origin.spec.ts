import type { Page } from "@playwright/test";
import { freePort, type RunningServer, startServer } from "../support/server.js";
import { expect, test } from "./fixtures.js";
import { type SimpleTestPage, transports } from "./simple-test-page.js";

test.describe("served from another origin, calling the server named by ?api=", () => {
  let pageOrigin: RunningServer;
  let allowing: RunningServer;
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads what a hook or fixture needs from this pattern
  test.beforeAll(async ({}, testInfo) => {
    const { baseURL } = testInfo.project.use;
    // Each names the other: the page's CSP lets it call the API servers, and
    // one of them lets the page's origin call it. The API's port comes first.
    const allowingPort = await freePort();
    pageOrigin = await startServer({ PAGE_API_ORIGINS: `http://127.0.0.1:${allowingPort},${baseURL}` });
    allowing = await startServer({
      PORT: String(allowingPort),
      CORS_ORIGINS: `http://localhost:1,${pageOrigin.url}`,
    });
  });
  test.afterAll(async () => {
    await pageOrigin?.close();
    await allowing?.close();
  });

  test("works over every transport when the server lists that origin in CORS_ORIGINS", async ({ simpleTest }) => {
    await simpleTest.open("Connect (JSON)", `${pageOrigin.url}/?api=${allowing.url}`);
    await expect(simpleTest.server).toHaveText(allowing.url);
    for (const transport of transports) {
      await simpleTest.transport.selectOption({ label: transport.label });
      await simpleTest.getOne.click();
      await expect(simpleTest.call).toHaveText(`GetOne · ${transport.label}`);
      await expect(simpleTest.answer, transport.label).toHaveText("Hello !! world");
      await simpleTest.getList.click();
      await expect(simpleTest.status, transport.label).toHaveText(/^Stream finished: 5 messages/);
    }
  });

  test.describe("where the page's CSP does not list the origin it calls", () => {
    test.use({ cspViolationsExpected: true });

    test("cannot call an origin its server's PAGE_API_ORIGINS does not list: the CSP stops it", async ({
      page,
      simpleTest,
    }) => {
      await simpleTest.open("Connect (JSON)", `${pageOrigin.url}/?api=http://127.0.0.1:1/`);
      await expectRefusedGetOne(
        page,
        simpleTest,
        'violates the following Content Security Policy directive: "connect-src',
      );
    });
  });

  test("is refused by a server whose CORS_ORIGINS does not list that origin", async ({ page, simpleTest, baseURL }) => {
    await simpleTest.open("Connect (binary)", `${pageOrigin.url}/?api=${baseURL}`);
    await expectRefusedGetOne(page, simpleTest, "blocked by CORS policy");
  });
});

/** GetOne fails with `unavailable` on the page, and the browser's console says why (`because`). */
async function expectRefusedGetOne(page: Page, simpleTest: SimpleTestPage, because: string): Promise<void> {
  const console: string[] = [];
  page.on("console", (message) => console.push(message.text()));
  await simpleTest.getOne.click();
  await expect(simpleTest.status).toHaveText(/^Failed after /);
  await expect(simpleTest.errorCode).toHaveText("unavailable");
  expect(console.join("\n"), "the console says why").toContain(because);
}
