import { type Browser, chromium } from "playwright-core";

/**
 * Debian's Chromium, headless, driven by Playwright. Playwright's own browser
 * downloads cannot work here; the flags keep Chromium off the network and
 * quiet in a container.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
