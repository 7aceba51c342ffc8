import { fileURLToPath } from "node:url";
import { defineConfig } from "@playwright/test";
import { useDebianFfmpeg } from "./e2e/support/playwright-ffmpeg.js";

const videos = useDebianFfmpeg(fileURLToPath(new URL("node_modules/.cache/playwright-ffmpeg", import.meta.url)));
if (!videos && process.env.TEST_WORKER_INDEX === undefined) {
  console.warn("No /usr/bin/ffmpeg (Debian package ffmpeg): failed tests keep no video.");
}

/**
 * The page's tests (e2e/page/*.spec.ts) against the real server, built and
 * started as `npm start` does. It listens on a free port; its log line names
 * it, and Playwright hands the URL to the tests as SIMPLETEST_PAGE_URL.
 */
export default defineConfig({
  testDir: "e2e/page",
  testMatch: "*.spec.ts",
  outputDir: "test-results/page",
  reporter: [["list"], ["html", { outputFolder: "playwright-report", open: "never" }]],
  forbidOnly: !!process.env.CI,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  webServer: {
    command: "npm start",
    env: {
      HOST: "127.0.0.1",
      PORT: "0",
      LOG_LEVEL: "info",
      // Slow enough to watch messages arrive one by one and to cancel a stream in flight.
      GETLIST_INTERVAL_MS: "300",
    },
    wait: { stdout: /listening at (?<simpletest_page_url>http:\/\/127\.0\.0\.1:\d+)/ },
    timeout: 180_000,
    gracefulShutdown: { signal: "SIGTERM", timeout: 10_000 },
  },
  use: {
    baseURL: process.env.SIMPLETEST_PAGE_URL,
    browserName: "chromium",
    viewport: { width: 1000, height: 760 },
    // Debian's Chromium: Playwright's own browser downloads (`playwright install`) cannot work
    // here. The flags keep it off the network and quiet in a container.
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    actionTimeout: 10_000,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    video: videos ? "retain-on-failure" : "off",
  },
});
