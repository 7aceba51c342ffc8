import { expect, test } from "./fixtures.js";
import { getListIntervalMs, transports } from "./simple-test-page.js";

for (const transport of transports) {
  test.describe(`over ${transport.label}`, () => {
    test.beforeEach(async ({ simpleTest }) => {
      await simpleTest.open(transport.label);
    });

    test("GetOne shows Hello !! <name>, labelled with the transport it used", async ({ page, simpleTest }) => {
      const request = page.waitForRequest(/\/simpletest\.SimpleTest\/GetOne$/);
      await simpleTest.name.fill("Ada Lovelace");
      await simpleTest.getOne.click();

      await expect(simpleTest.answer).toHaveText("Hello !! Ada Lovelace");
      await expect(simpleTest.call).toHaveText(`GetOne · ${transport.label}`);
      await expect(simpleTest.status).toHaveText(/^Answered in /);
      expect((await request).headers()["content-type"]).toBe(transport.contentType);
    });

    test("GetList shows test0..test4 in order, each as it arrives, then that the stream finished", async ({
      simpleTest,
    }, testInfo) => {
      const statuses = await simpleTest.recordStatuses();
      await simpleTest.getList.click();

      await expect(simpleTest.status).toHaveText(/^Stream finished: 5 messages in /);
      await expect(simpleTest.streamed.locator(".text")).toHaveText(["test0", "test1", "test2", "test3", "test4"]);
      await expect(simpleTest.streamed.locator(".index")).toHaveText(["#0", "#1", "#2", "#3", "#4"]);
      await expect(simpleTest.call).toHaveText(`GetList · ${transport.label}`);
      // The page counted each message as it came, one at a time and in order
      // (recorded, as a state that lasts one interval is easily polled past)...
      expect(await statuses()).toEqual([
        "Streaming…",
        "Streaming… 1 message so far",
        "Streaming… 2 messages so far",
        "Streaming… 3 messages so far",
        "Streaming… 4 messages so far",
        "Streaming… 5 messages so far",
        expect.stringMatching(/^Stream finished: 5 messages in /),
      ]);
      // ...and showed them as they arrived: a page that waited for the whole
      // stream would have shown all five at once.
      const shownAt = await simpleTest.shownAtMs();
      expect(shownAt).toEqual([...shownAt].sort((a, b) => a - b));
      expect(shownAt[4] - shownAt[0], "the five messages appeared within this many ms").toBeGreaterThanOrEqual(
        3.5 * getListIntervalMs,
      );
      await testInfo.attach(`GetList over ${transport.label}`, {
        body: await simpleTest.page.screenshot({ fullPage: true }),
        contentType: "image/png",
      });
    });

    test("Cancel stops a stream in flight, says so, and leaves the page usable", async ({ page, simpleTest }) => {
      await expect(simpleTest.cancel).toBeDisabled();
      const stream = page.waitForEvent("requestfailed", (request) => request.url().endsWith("/GetList"));
      await simpleTest.getList.click();
      await expect(simpleTest.streamed.first()).toBeVisible();
      await expect(simpleTest.cancel).toBeEnabled();
      await simpleTest.cancel.click();

      await expect(simpleTest.status).toHaveText(/^Cancelled after \d messages? \(/);
      // The browser dropped the stream itself, not only the page's view of it.
      expect((await stream).failure()?.errorText).toBe("net::ERR_ABORTED");
      const shown = await simpleTest.streamed.count();
      expect(shown, "every message arrived before Cancel").toBeLessThan(5);
      await expect(simpleTest.status).toContainText(`after ${shown} message`);
      await page.waitForTimeout(2 * getListIntervalMs);
      await expect(simpleTest.streamed, "messages kept arriving after Cancel").toHaveCount(shown);
      await expect(simpleTest.cancel).toBeDisabled();

      await simpleTest.getOne.click();
      await expect(simpleTest.answer).toHaveText("Hello !! world");
    });

    test("a call the server refuses shows its code and message", async ({ simpleTest, servers }) => {
      const strict = await servers.start({ MAX_MESSAGE_BYTES: "64" });
      await simpleTest.open(transport.label, `${strict.url}/`);
      await simpleTest.name.fill("a name longer than this server's 64-byte limit on messages, by far");
      await simpleTest.getOne.click();

      await expect(simpleTest.status).toHaveText(/^Failed after /);
      await expect(simpleTest.errorCode).toHaveText("resource_exhausted");
      await expect(simpleTest.alert).toContainText(/message size \d+ is larger than configured readMaxBytes 64/);
      await expect(simpleTest.answer).toBeHidden();

      await simpleTest.name.fill("Ada");
      await simpleTest.getOne.click();
      await expect(simpleTest.answer).toHaveText("Hello !! Ada");
      await expect(simpleTest.alert).toBeHidden();
    });
  });
}
