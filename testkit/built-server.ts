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

/** The compiled form of `script`, a path from the repository's root that tsconfig.build.json compiles. */
export function built(script: string): string {
  const compiled = join(repo, "dist", script.replace(/\.ts$/, ".js"));
  // tsc rewrites only the outputs that changed: `npm run build` stamps dist/.built when it succeeds.
  const builtAt = mtime(compiled) && mtime(join(repo, "dist/.built"));
  if (builtAt === 0) throw new Error(`dist/ has no build of ${script}: run \`npm run build\``);
  const sources = (path: string) => path.endsWith(".ts") && !path.endsWith(".test.ts");
  const newest = Math.max(...["server", "gen", "bench/peers"].flatMap((dir) => mtimesIn(join(repo, dir), sources)));
  if (builtAt < newest) throw new Error("dist/ is older than the sources: run `npm run build`");
  return compiled;
}
