import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** This checkout's root. */
export const repo = fileURLToPath(new URL("..", import.meta.url));

/** Which source a run measured as "simpletest": the checkout's commit, and whether its files differed from it. */
export interface SourceState {
  /** The full commit id, or undefined outside a git checkout. */
  readonly commit: string | undefined;
  /** Tracked files changed or untracked files present (those git ignores, as bench/results, aside). */
  readonly dirty: boolean;
}

export function sourceState(dir = repo): SourceState {
  try {
    const git = (...args: string[]) =>
      execFileSync("git", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], env: gitlessEnv() });
    return {
      commit: git("rev-parse", "HEAD").trim(),
      dirty: git("--no-optional-locks", "status", "--porcelain").trim() !== "",
    };
  } catch {
    return { commit: undefined, dirty: false };
  }
}

/** As the run's setting line says it: `ours at 1a2b3c4`, with `and changes not committed` when dirty. */
export function describeSource({ commit, dirty }: SourceState): string {
  if (commit === undefined) return "ours from a directory git does not know";
  return `ours at ${commit.slice(0, 7)}${dirty ? " and changes not committed" : ""}`;
}

/** This process's environment less git's variables: the checkout git works on is the directory's, not a hook's GIT_DIR. */
export function gitlessEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("GIT_")));
}
