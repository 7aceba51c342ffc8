import { test as base, expect } from "@playwright/test";
import { type RunningServer, type ServerProcess, spawnServer, startServer } from "../support/server.js";
import { SimpleTestPage } from "./simple-test-page.js";

export interface OwnServers {
  /** The app built in the test's worker, on a free port (or `env.PORT`), closed after the test. */
  start(env?: Record<string, string>): Promise<RunningServer>;
  /** The built server in its own process, as `npm start` runs it; killed after the test if still running. */
  spawn(env?: Record<string, string>): Promise<ServerProcess>;
}

interface PageFixtures {
  /** Set where a test makes the page break its CSP on purpose. */
  cspViolationsExpected: boolean;
  /** The console's Content-Security-Policy reports; none is allowed unless expected. */
  cspViolations: string[];
  simpleTest: SimpleTestPage;
  /** Servers of the test's own, beside the one playwright.config.ts starts: to stop, or to configure. */
  servers: OwnServers;
}

export const test = base.extend<PageFixtures>({
  cspViolationsExpected: [false, { option: true }],
  cspViolations: [
    async ({ page, cspViolationsExpected }, use) => {
      const violations: string[] = [];
      page.on("console", (message) => {
        if (message.text().includes("Content Security Policy")) violations.push(message.text());
      });
      await use(violations);
      if (!cspViolationsExpected) expect(violations, "the page must work within its own CSP").toEqual([]);
    },
    { auto: true },
  ],
  simpleTest: async ({ page }, use) => {
    await use(new SimpleTestPage(page));
  },
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads what a hook or fixture needs from this pattern
  servers: async ({}, use) => {
    const running: RunningServer[] = [];
    await use({
      start: async (env) => {
        const server = await startServer(env);
        running.push(server);
        return server;
      },
      spawn: async (env) => {
        const server = await spawnServer(env);
        running.push(server);
        return server;
      },
    });
    await Promise.all(running.map((server) => server.close()));
  },
});

export { expect };
