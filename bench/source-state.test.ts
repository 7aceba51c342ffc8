import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { describeSource, gitlessEnv, sourceState } from "./source-state.js";

describe("what a bench run says it measured", () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const newDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "source-state-"));
    dirs.push(dir);
    return dir;
  };
  // No user's settings (signing, hooks) and no hook's GIT_DIR reach these repositories.
  const git = (dir: string, ...args: string[]) =>
    execFileSync(
      "git",
      [
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "-c",
        "commit.gpgsign=false",
        "-c",
        "core.hooksPath=/dev/null",
        ...args,
      ],
      { cwd: dir, encoding: "utf8", env: gitlessEnv() },
    );
  /** A repository with one commit of `a.txt`, and that commit. */
  const committed = () => {
    const dir = newDir();
    git(dir, "init", "-q");
    writeFileSync(join(dir, "a.txt"), "a\n");
    git(dir, "add", "a.txt");
    git(dir, "commit", "-q", "-m", "a");
    return { dir, commit: git(dir, "rev-parse", "HEAD").trim() };
  };

  it("names no commit outside a git checkout", (t) => {
    const dir = newDir();
    try {
      git(dir, "rev-parse", "--git-dir");
      t.skip(`${tmpdir()} is inside a git checkout`);
      return;
    } catch {}
    assert.deepEqual(sourceState(dir), { commit: undefined, dirty: false });
    assert.equal(describeSource(sourceState(dir)), "ours from a directory git does not know");
  });

  it("names the commit of a clean checkout", () => {
    const { dir, commit } = committed();
    assert.deepEqual(sourceState(dir), { commit, dirty: false });
    assert.equal(describeSource(sourceState(dir)), `ours at ${commit.slice(0, 7)}`);
  });

  it("says so when a tracked file was changed", () => {
    const { dir, commit } = committed();
    writeFileSync(join(dir, "a.txt"), "b\n");
    assert.deepEqual(sourceState(dir), { commit, dirty: true });
    assert.equal(describeSource(sourceState(dir)), `ours at ${commit.slice(0, 7)} and changes not committed`);
  });

  it("says so when a file is not tracked", () => {
    const { dir, commit } = committed();
    writeFileSync(join(dir, "b.txt"), "b\n");
    assert.deepEqual(sourceState(dir), { commit, dirty: true });
  });
});
