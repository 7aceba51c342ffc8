// Builds the browser page (web/ into web/dist/) when it is missing or older
// than anything it is made of. `npm start` runs this first, and so do the
// browser tests, so neither serves a stale page nor waits for a needless build.
import { join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { mtime, mtimesIn } from "../testkit/mtimes.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const builtAt = mtime(join(repo, "web/dist/index.html"));
const sourcesAt = Math.max(
  mtime(join(repo, "package-lock.json")),
  ...mtimesIn(join(repo, "web"), (path) => path !== "dist" && !path.startsWith(`dist${sep}`)),
  ...mtimesIn(join(repo, "gen"), () => true),
);

if (builtAt < sourcesAt) {
  const { build } = await import("vite");
  await build({ configFile: join(repo, "web/vite.config.ts"), logLevel: "warn" });
  console.log("built the page into web/dist/");
}
