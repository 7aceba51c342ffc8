import AxeBuilder from "@axe-core/playwright";
import type { Locator, Page } from "@playwright/test";
import { expect, test } from "./fixtures.js";

const phone = { width: 375, height: 740 };

/** Fails unless `target` has the focus and shows it: `:focus-visible`, drawn with a visible outline. */
async function expectVisibleFocus(target: Locator): Promise<void> {
  await expect(target).toBeFocused();
  const focus = await target.evaluate((element) => {
    const style = getComputedStyle(element);
    return { visible: element.matches(":focus-visible"), outline: style.outlineStyle, width: style.outlineWidth };
  });
  expect(focus.visible, "matches :focus-visible").toBe(true);
  expect(focus.outline).not.toBe("none");
  expect(Number.parseFloat(focus.width)).toBeGreaterThanOrEqual(2);
}

test.describe("from the keyboard alone", () => {
  test("Tab reaches the fields and buttons in order, each showing its focus; Enter and Space press them", async ({
    page,
    simpleTest,
    servers,
  }) => {
    // Streams slow enough that Cancel is still there when the keys reach it.
    const slow = await servers.start({ GETLIST_INTERVAL_MS: "2000" });
    await simpleTest.open("Connect (JSON)", `${slow.url}/`);
    await page.keyboard.press("Tab");
    await expectVisibleFocus(simpleTest.name);
    await page.keyboard.press("ControlOrMeta+A");
    await page.keyboard.type("Grace");
    await page.keyboard.press("Enter");
    await expect(simpleTest.answer).toHaveText("Hello !! Grace");
    await expect(simpleTest.call).toHaveText("GetOne · Connect (JSON)");

    await page.keyboard.press("Tab");
    await expectVisibleFocus(simpleTest.transport);
    await page.keyboard.press("ArrowDown");
    await expect(simpleTest.transport.locator("option:checked")).toHaveText("Connect (binary)");

    await page.keyboard.press("Tab");
    await expectVisibleFocus(simpleTest.getOne);
    await page.keyboard.press("Space");
    await expect(simpleTest.call).toHaveText("GetOne · Connect (binary)");
    await expect(simpleTest.answer).toHaveText("Hello !! Grace");

    await page.keyboard.press("Tab");
    await expectVisibleFocus(simpleTest.getList);
    await page.keyboard.press("Enter");
    await expect(simpleTest.status).toHaveText(/^Streaming…/);
    await page.keyboard.press("Tab"); // Cancel, enabled while the stream runs
    await expectVisibleFocus(simpleTest.cancel);
    await page.keyboard.press("Enter");
    await expect(simpleTest.status).toHaveText(/^Cancelled after /);
    // Cancel is disabled again, so focus goes back to where the call began.
    await expectVisibleFocus(simpleTest.getList);

    await page.keyboard.press("Space");
    await expect(simpleTest.status).toHaveText(/^Streaming…/);
    await page.keyboard.press("Tab");
    await page.keyboard.press("Space");
    await expect(simpleTest.status).toHaveText(/^Cancelled after /);
    await expectVisibleFocus(simpleTest.getList);
  });

  test("Tab skips Cancel while there is nothing to cancel", async ({ page, simpleTest }) => {
    await simpleTest.open("gRPC-Web");
    await simpleTest.getList.focus();
    await page.keyboard.press("Tab");
    await expect(simpleTest.cancel).not.toBeFocused();
    await expect(simpleTest.getList).not.toBeFocused();
  });
});

test.describe("on a phone-width screen", () => {
  test.use({ viewport: phone });

  test("fits without sideways scrolling", async ({ page, simpleTest }, testInfo) => {
    await simpleTest.open("gRPC-Web");
    await simpleTest.getList.click();
    await expect(simpleTest.status).toHaveText(/^Stream finished/);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(phone.width);
    await testInfo.attach("GetList on a phone", {
      body: await page.screenshot({ fullPage: true }),
      contentType: "image/png",
    });
  });
});

/** WCAG 2.0, 2.1 and 2.2, levels A and AA: what axe-core checks of them. */
const wcagAA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

async function expectNoAxeViolations(page: Page, state: string): Promise<void> {
  // Colours are judged as they end up, not halfway through a fade-in; the
  // endless pulse of the status dot has no text to judge.
  await page.evaluate(() =>
    Promise.all(
      document
        .getAnimations()
        .filter((animation) => animation.effect?.getTiming().iterations !== Number.POSITIVE_INFINITY)
        .map((animation) => animation.finished),
    ),
  );
  const { violations } = await new AxeBuilder({ page }).withTags(wcagAA).analyze();
  const found = violations.map(({ id, help, nodes }) => ({ id, help, targets: nodes.map((node) => node.target) }));
  expect(found, `accessibility violations ${state}`).toEqual([]);
}

for (const colorScheme of ["light", "dark"] as const) {
  for (const [screen, viewport] of [
    ["desktop", { width: 1000, height: 760 }],
    ["phone", phone],
  ] as const) {
    test.describe(`in the ${colorScheme} colour scheme on a ${screen}`, () => {
      test.use({ colorScheme, viewport });

      test("has no WCAG A or AA violations that axe finds, in any state a call leaves it in", async ({
        page,
        simpleTest,
        servers,
      }) => {
        test.slow(true, "axe reads the whole page six times");
        await simpleTest.open("Connect (JSON)");
        await expectNoAxeViolations(page, "before any call");

        await simpleTest.getOne.click();
        await expect(simpleTest.answer).toBeVisible();
        await expectNoAxeViolations(page, "with an answer");

        await simpleTest.getList.click();
        await expect(simpleTest.status).toHaveText(/^Stream finished/);
        await expectNoAxeViolations(page, "after a stream");

        // Slow enough that the stream still runs while axe looks at the page.
        const slow = await servers.start({ GETLIST_INTERVAL_MS: "10000" });
        await simpleTest.open("Connect (binary)", `${slow.url}/`);
        await simpleTest.getList.click();
        await expect(simpleTest.streamed.first()).toBeVisible();
        await expectNoAxeViolations(page, "while a stream runs");
        await simpleTest.cancel.click();
        await expect(simpleTest.status).toHaveText(/^Cancelled/);
        await expectNoAxeViolations(page, "after Cancel");

        const stopped = await servers.start();
        await simpleTest.open("gRPC-Web", `${stopped.url}/`);
        await stopped.close();
        await simpleTest.getOne.click();
        await expect(simpleTest.alert).toBeVisible();
        await expectNoAxeViolations(page, "showing an error");
      });
    });
  }
}
