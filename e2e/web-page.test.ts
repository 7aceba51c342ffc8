import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { after, before, describe, it, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "./support/chromium.js";
import { freePort, type RunningServer, startServer } from "./support/server.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const artifacts = fileURLToPath(new URL("../test-results/web-page/", import.meta.url));
/** Slow enough to watch messages arrive one by one and to cancel a stream in flight. */
const getListIntervalMs = 300;

/** Each `<option>` of the page, and the content type it puts on the wire. */
const transports = [
  { label: "Connect (JSON)", contentType: "application/json" },
  { label: "Connect (binary)", contentType: "application/proto" },
  { label: "gRPC-Web", contentType: "application/grpc-web+proto" },
] as const;

const desktop = { width: 1000, height: 760 };
const phone = { width: 375, height: 740 };

describe("the browser page, in Chromium", () => {
  let browser: Browser;
  let server: RunningServer;
  before(async () => {
    // The same step as `npm start`: a no-op when web/dist is up to date.
    await promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/build-web-if-stale.ts"], { cwd: repo });
    mkdirSync(artifacts, { recursive: true });
    [browser, server] = await Promise.all([
      launchChromium(),
      startServer({ GETLIST_INTERVAL_MS: String(getListIntervalMs) }),
    ]);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const transport of transports) {
    describe(`over ${transport.label}`, () => {
      it("GetOne shows Hello !! <name>, labelled with the transport it used", async (t) => {
        const page = await openPage(t, browser, `${server.url}/`, transport.label);
        const request = page.waitForRequest(/\/simpletest\.SimpleTest\/GetOne$/);
        await page.getByLabel("Name").fill("Ada Lovelace");
        await page.getByRole("button", { name: "GetOne" }).click();

        assert.equal(await answer(page), "Hello !! Ada Lovelace");
        assert.equal(await page.locator("#result-call").textContent(), `GetOne · ${transport.label}`);
        assert.equal((await request).headers()["content-type"], transport.contentType);
      });

      it("GetList shows test0..test4 in order, each as it arrives, then that the stream finished", async (t) => {
        const page = await openPage(t, browser, `${server.url}/`, transport.label);
        await page.getByRole("button", { name: "GetList" }).click();

        await status(page, "Streaming… 1 message so far").waitFor();
        await status(page, "Stream finished: 5 messages").waitFor();
        const items = streamed(page);
        assert.deepEqual(await items.locator(".text").allTextContents(), ["test0", "test1", "test2", "test3", "test4"]);
        assert.deepEqual(await items.locator(".index").allTextContents(), ["#0", "#1", "#2", "#3", "#4"]);
        // Shown as each arrived: a page that waited for the whole stream would
        // have shown all five at once.
        const shownAt = await items.evaluateAll((lis) => lis.map((li) => Number((li as HTMLElement).dataset.atMs)));
        const spread = shownAt[4] - shownAt[0];
        assert.ok(spread >= 3.5 * getListIntervalMs, `five messages shown within ${spread} ms`);
        assert.equal(await page.locator("#result-call").textContent(), `GetList · ${transport.label}`);
        await page.screenshot({ path: `${artifacts}get-list-${slug(transport.label)}.png`, fullPage: true });
      });

      it("Cancel stops a stream in flight, says so, and leaves the page usable", async (t) => {
        const page = await openPage(t, browser, `${server.url}/`, transport.label);
        const cancel = page.getByRole("button", { name: "Cancel" });
        assert.equal(await cancel.isDisabled(), true);
        await page.getByRole("button", { name: "GetList" }).click();
        await streamed(page).first().waitFor();
        await cancel.click();

        await status(page, "Cancelled after").waitFor();
        const shown = await streamed(page).count();
        await page.waitForTimeout(2 * getListIntervalMs);
        assert.equal(await streamed(page).count(), shown, "messages kept arriving after Cancel");
        assert.ok(shown < 5, `all ${shown} messages arrived before Cancel`);
        assert.equal(await cancel.isDisabled(), true);

        await page.getByRole("button", { name: "GetOne" }).click();
        assert.equal(await answer(page), "Hello !! world");
      });

      it("a call while the server is stopped shows unavailable and its message", async (t) => {
        const stopped = await startServer();
        const page = await openPage(t, browser, `${stopped.url}/`, transport.label);
        await stopped.close();

        for (const method of ["GetOne", "GetList"]) {
          await page.getByRole("button", { name: method }).click();
          await status(page, "Failed").waitFor();
          assert.equal(await page.locator("#result-error-code").textContent(), "unavailable", method);
          assert.match((await page.getByRole("alert").textContent()) ?? "", /cannot reach the server/, method);
        }
      });
    });
  }

  describe("for people", () => {
    it("works from the keyboard alone", async (t) => {
      const page = await openPage(t, browser, `${server.url}/`, "Connect (JSON)");
      await page.keyboard.press("Tab");
      assert.equal(await page.evaluate(() => document.activeElement?.id), "name");
      await page.keyboard.press("ControlOrMeta+A");
      await page.keyboard.type("Grace");
      await page.keyboard.press("Enter");
      assert.equal(await answer(page), "Hello !! Grace");

      await page.keyboard.press("Tab"); // transport
      await page.keyboard.press("Tab"); // GetOne
      await page.keyboard.press("Tab"); // GetList
      await page.keyboard.press("Enter");
      await status(page, "Streaming…").waitFor();
      await page.keyboard.press("Tab"); // Cancel, enabled while the stream runs
      await page.keyboard.press("Enter");
      await status(page, "Cancelled after").waitFor();
      // Cancel is disabled again, so focus goes back to where the call began.
      assert.equal(await page.evaluate(() => document.activeElement?.id), "get-list");
    });

    it("fits a phone-width screen without sideways scrolling", async (t) => {
      const page = await openPage(t, browser, `${server.url}/`, "gRPC-Web", phone);
      await page.getByRole("button", { name: "GetList" }).click();
      await status(page, "Stream finished").waitFor();
      assert.ok(await page.evaluate((width) => document.documentElement.scrollWidth <= width, phone.width));
      await page.screenshot({ path: `${artifacts}get-list-phone.png`, fullPage: true });
    });
  });

  describe("served from another origin, calling the server named by ?api=", () => {
    let pageOrigin: RunningServer;
    let allowing: RunningServer;
    before(async () => {
      // Each names the other: the page's CSP lets it call the API servers, and
      // one of them lets the page's origin call it. The API's port comes first.
      const allowingPort = await freePort();
      pageOrigin = await startServer({ PAGE_API_ORIGINS: `http://127.0.0.1:${allowingPort},${server.url}` });
      allowing = await startServer({
        PORT: String(allowingPort),
        CORS_ORIGINS: `http://localhost:1,${pageOrigin.url}`,
      });
    });
    after(async () => {
      await pageOrigin?.close();
      await allowing?.close();
    });

    it("works over every transport when the server lists that origin in CORS_ORIGINS", async (t) => {
      const page = await openPage(t, browser, `${pageOrigin.url}/?api=${allowing.url}`, "Connect (JSON)");
      assert.equal(await page.locator("#server").textContent(), allowing.url);
      for (const transport of transports) {
        await page.getByLabel("Transport").selectOption({ label: transport.label });
        await page.getByRole("button", { name: "GetOne" }).click();
        assert.equal(await answer(page), "Hello !! world", transport.label);
        await page.getByRole("button", { name: "GetList" }).click();
        await status(page, "Stream finished: 5 messages").waitFor();
      }
    });

    it("cannot call an origin its server's PAGE_API_ORIGINS does not list: the CSP stops it", async (t) => {
      const page = await openPage(t, browser, `${pageOrigin.url}/?api=http://127.0.0.1:1/`, "Connect (JSON)");
      await expectRefusedGetOne(page, 'violates the following Content Security Policy directive: "connect-src');
    });

    it("is refused by a server whose CORS_ORIGINS does not list that origin", async (t) => {
      const page = await openPage(t, browser, `${pageOrigin.url}/?api=${server.url}`, "Connect (binary)");
      await expectRefusedGetOne(page, "blocked by CORS policy");
    });
  });
});

async function openPage(
  t: TestContext,
  browser: Browser,
  url: string,
  transport: string,
  viewport = desktop,
): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  // The page must work within its own Content-Security-Policy.
  const violations: string[] = [];
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) violations.push(message.text());
  });
  t.after(async () => {
    await context.close();
    if (!url.includes("api=http://127.0.0.1:1/")) assert.deepEqual(violations, []);
  });
  page.setDefaultTimeout(10_000);
  const response = await page.goto(url);
  assert.match(response?.headers()["content-security-policy"] ?? "", /default-src 'self'/);
  await page.getByLabel("Transport").selectOption({ label: transport });
  return page;
}

async function answer(page: Page): Promise<string | null> {
  const answer = page.locator("#result-answer");
  await answer.waitFor();
  return answer.textContent();
}

const status = (page: Page, text: string) => page.getByRole("status").filter({ hasText: text });

/** GetOne fails with `unavailable` on the page, and the browser's console says why (`because`). */
async function expectRefusedGetOne(page: Page, because: string): Promise<void> {
  const console: string[] = [];
  page.on("console", (message) => console.push(message.text()));
  await page.getByRole("button", { name: "GetOne" }).click();
  await status(page, "Failed").waitFor();
  assert.equal(await page.locator("#result-error-code").textContent(), "unavailable");
  assert.ok(
    console.some((line) => line.includes(because)),
    `the console does not say "${because}":\n${console.join("\n")}`,
  );
}
const streamed = (page: Page) => page.getByRole("list", { name: "Streamed messages" }).getByRole("listitem");
const slug = (label: string) =>
  label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/-$/, "");
