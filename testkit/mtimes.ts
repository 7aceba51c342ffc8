import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** When each file under `dir` that `include` accepts was last modified, in ms. */
export function mtimesIn(dir: string, include: (path: string) => boolean): number[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter(include)
    .map((path) => mtime(join(dir, path)));
}

/** When `path` was last modified, in ms; 0 when it does not exist. */
export function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
