import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repo } from "./source-state.js";

/** Another build of this server, to measure a change against (`npm run bench -- --against REV`). */
export interface Baseline {
  /** e.g. `simpletest@42d764c` */
  readonly name: string;
  /** A checkout of the revision, built as `npm run build` builds it. */
  readonly root: string;
}

/**
 * The server as it was at `revision` (anything git names a commit by),
 * exported from this repository's history into a directory of its own and
 * built there. It keeps the dependencies of this checkout when its lockfile
 * is the same, and installs its own (`npm ci`) when not. Kept in the system's
 * temporary directory by commit, so a second run reuses it.
 */
export function buildBaseline(revision: string): Baseline {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, encoding: "utf8" });
  let commit: string;
  try {
    commit = git("rev-parse", "--verify", "--quiet", `${revision}^{commit}`).trim();
  } catch {
    throw new Error(`--against ${revision}: git knows no commit by that name in ${repo}`);
  }
  const name = `simpletest@${commit.slice(0, 7)}`;
  const root = join(tmpdir(), `simpletest-at-${commit}`);
  if (existsSync(join(root, "dist/.built"))) return { name, root };

  // Built beside its final place and moved there whole, so an interrupted build is never reused.
  const building = mkdtempSync(join(tmpdir(), `simpletest-at-${commit.slice(0, 7)}-`));
  try {
    execFileSync("sh", ["-c", `git archive --format=tar "$1" | tar -x -C "$2"`, "sh", commit, building], {
      cwd: repo,
      stdio: ["ignore", "ignore", "inherit"],
    });
    const lockfile = (dir: string) => readFileSync(join(dir, "package-lock.json"), "utf8");
    const run = (command: string, args: string[]) =>
      execFileSync(command, args, { cwd: building, stdio: ["ignore", process.stderr, "inherit"] });
    if (lockfile(building) === lockfile(repo)) symlinkSync(join(repo, "node_modules"), join(building, "node_modules"));
    else run("npm", ["ci", "--no-audit", "--no-fund"]);
    process.stderr.write(`building ${name} in ${root}\n`);
    run("npm", ["run", "build"]);
    rmSync(root, { recursive: true, force: true });
    renameSync(building, root);
  } catch (e) {
    rmSync(building, { recursive: true, force: true });
    throw e;
  }
  return { name, root };
}
