import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { describeSource, sourceState } from "./source-state.js";

describe("what a bench run says it measured", () => {
  const dir = mkdtempSync(join(tmpdir(), "source-state-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: dir, encoding: "utf8" });

  it("names no commit outside a git checkout", () => {
    assert.deepEqual(sourceState(dir), { commit: undefined, dirty: false });
    assert.equal(describeSource(sourceState(dir)), "ours from a directory git does not know");
  });

  it("names the commit of a clean checkout", () => {
    git("init", "-q");
    writeFileSync(join(dir, "a.txt"), "a\n");
    git("add", "a.txt");
    git("commit", "-q", "-m", "a");
    const commit = git("rev-parse", "HEAD").trim();
    assert.deepEqual(sourceState(dir), { commit, dirty: false });
    assert.equal(describeSource(sourceState(dir)), `ours at ${commit.slice(0, 7)}`);
  });

  it("says so when a tracked file was changed, or a file is not tracked", () => {
    const commit = git("rev-parse", "HEAD").trim();
    writeFileSync(join(dir, "a.txt"), "b\n");
    assert.deepEqual(sourceState(dir), { commit, dirty: true });
    git("checkout", "-q", "a.txt");
    writeFileSync(join(dir, "b.txt"), "b\n");
    assert.equal(describeSource(sourceState(dir)), `ours at ${commit.slice(0, 7)} and changes not committed`);
  });
});
