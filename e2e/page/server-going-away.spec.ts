import { expect, test } from "./fixtures.js";
import { transports } from "./simple-test-page.js";

for (const transport of transports) {
  test.describe(`over ${transport.label}, when the server goes away`, () => {
    test("a call while it is stopped shows unavailable, and a call once it is back works", async ({
      simpleTest,
      servers,
    }) => {
      const server = await servers.start();
      await simpleTest.open(transport.label, `${server.url}/`);
      await server.close();

      for (const method of [simpleTest.getOne, simpleTest.getList]) {
        await method.click();
        await expect(simpleTest.status).toHaveText(/^Failed after /);
        await expect(simpleTest.errorCode).toHaveText("unavailable");
        await expect(simpleTest.alert).toContainText("cannot reach the server");
      }

      await servers.start({ PORT: String(server.port) });
      await simpleTest.getOne.click();
      await expect(simpleTest.answer).toHaveText("Hello !! world");
      await expect(simpleTest.alert).toBeHidden();
    });

    test("a stream in flight when it shuts down runs to its end", async ({ simpleTest, servers }) => {
      const server = await servers.start({ GETLIST_INTERVAL_MS: "300" });
      await simpleTest.open(transport.label, `${server.url}/`);
      await simpleTest.getList.click();
      await expect(simpleTest.streamed.first()).toBeVisible();
      const stopped = server.close();

      await expect(simpleTest.status).toHaveText(/^Stream finished: 5 messages in /);
      await stopped;
      await simpleTest.getOne.click();
      await expect(simpleTest.errorCode).toHaveText("unavailable");
    });

    test("a stream cut off by a server that dies shows unavailable and keeps what arrived", async ({
      simpleTest,
      servers,
    }) => {
      const server = await servers.spawn({ GETLIST_INTERVAL_MS: "300" });
      await simpleTest.open(transport.label, `${server.url}/`);
      await simpleTest.getList.click();
      await expect(simpleTest.streamed.first()).toBeVisible();
      server.child.kill("SIGKILL");

      await expect(simpleTest.status).toHaveText(/^Failed after /);
      await expect(simpleTest.errorCode).toHaveText("unavailable");
      await expect(simpleTest.alert).toContainText("the connection to the server broke");
      const shown = await simpleTest.streamed.count();
      expect(shown).toBeGreaterThanOrEqual(1);
      expect(shown).toBeLessThan(5);
      await expect(simpleTest.streamed.locator(".text").first()).toHaveText("test0");
      await expect(simpleTest.cancel).toBeDisabled();
    });
  });
}
