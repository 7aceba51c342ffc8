import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { startNodeFlags } from "./built-server.js";

describe("npm start's Node flags", () => {
  it("are read from package.json's start script", () => {
    assert.deepEqual(startNodeFlags(), ["--max-semi-space-size=8", "--heap-growing-percent=100"]);
  });

  // V8 flags come and go between Node versions, and node refuses to start with one it does not know.
  it("are taken by this Node", () => {
    assert.equal(execFileSync(process.execPath, [...startNodeFlags(), "-p", "1"], { encoding: "utf8" }).trim(), "1");
  });
});
