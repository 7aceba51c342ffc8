import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mtime, mtimesIn } from "./mtimes.js";

const repo = fileURLToPath(new URL("..", import.meta.url));

/**
 * The server as `npm start` runs it, compiled by `npm run build` into dist/
 * (`npm test` builds first). Throws, saying what to run, when the build is
 * missing or older than the sources it is made of.
 */
export function builtServerMain(): string {
  return built("server/main.ts");
}

/**
 * The compiled form of `script`, a path from the repository's root that
 * tsconfig.build.json compiles; `root` is another checkout of it (the
 * bench's `--against`).
 */
export function built(script: string, root = repo): string {
  const dist = join(root, "dist");
  const compiled = join(dist, script.replace(/\.ts$/, ".js"));
  // tsc rewrites only the outputs that changed: `npm run build` stamps dist/.built when it succeeds.
  const builtAt = mtime(compiled) && mtime(join(dist, ".built"));
  if (builtAt === 0) throw new Error(`${dist} has no build of ${script}: run \`npm run build\``);
  const sources = (path: string) => path.endsWith(".ts") && !path.endsWith(".test.ts");
  const newest = Math.max(...["server", "gen", "bench/peers"].flatMap((dir) => mtimesIn(join(root, dir), sources)));
  if (builtAt < newest) throw new Error(`${dist} is older than the sources: run \`npm run build\``);
  return compiled;
}

/**
 * The Node flags `npm start` gives the server (package.json's start script is
 * their one source): the test kit and the bench start it with them too.
 */
export function startNodeFlags(root = repo): string[] {
  const { scripts } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: { start: string } };
  const match = /^exec node ((?:--\S+ )*)dist\/server\/main\.js$/.exec(scripts.start);
  if (!match)
    throw new Error(`package.json's start is not "exec node [--flag ...] dist/server/main.js": ${scripts.start}`);
  return match[1].split(" ").filter((flag) => flag !== "");
}
