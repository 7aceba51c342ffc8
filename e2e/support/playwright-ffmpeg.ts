import { existsSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const debianFfmpeg = "/usr/bin/ffmpeg";

/**
 * Lets Playwright record videos with Debian's ffmpeg (package `ffmpeg`): it
 * looks for its own build, which only `playwright install` downloads, as
 * `$PLAYWRIGHT_BROWSERS_PATH/ffmpeg-<revision>/ffmpeg-linux`, and calls it with
 * ordinary ffmpeg flags (matroska in, libvpx-vp9 out). This points that
 * variable at a folder holding a link to Debian's binary under that name; the
 * browser itself is Debian's Chromium by `executablePath`, so nothing else is
 * looked up there. Workers inherit the variable from the runner, which loads
 * the config before it starts them. False, changing nothing, without ffmpeg.
 */
export function useDebianFfmpeg(cacheDir: string): boolean {
  if (!existsSync(debianFfmpeg)) return false;
  // The playwright-core that Playwright Test runs, whose registry looks for ffmpeg.
  const playwright = createRequire(createRequire(import.meta.url).resolve("playwright/package.json"));
  const browsersJson = join(dirname(playwright.resolve("playwright-core/package.json")), "browsers.json");
  const { browsers } = JSON.parse(readFileSync(browsersJson, "utf8")) as {
    browsers: { name: string; revision: string }[];
  };
  const revision = browsers.find(({ name }) => name === "ffmpeg")?.revision;
  if (revision === undefined) return false;
  const link = join(cacheDir, `ffmpeg-${revision}`, "ffmpeg-linux");
  if (!existsSync(link)) {
    mkdirSync(dirname(link), { recursive: true });
    try {
      symlinkSync(debianFfmpeg, link);
    } catch (e) {
      // Another run made it meanwhile.
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
  process.env.PLAYWRIGHT_BROWSERS_PATH = cacheDir;
  return true;
}
