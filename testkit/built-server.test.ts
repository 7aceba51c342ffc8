import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { startNodeFlags } from "./built-server.js";

describe("npm start's Node flags", () => {
  it("are read from package.json's start script", () => {
    const flags = startNodeFlags();
    assert.ok(flags.length > 0, "npm start gives node no flag");
    for (const flag of flags) assert.match(flag, /^--[a-z0-9-]+(=\S+)?$/);
  });

  // V8 flags come and go between Node versions, and node refuses to start with one it does not know.
  it("are taken by this Node", () => {
    assert.equal(execFileSync(process.execPath, [...startNodeFlags(), "-p", "1"], { encoding: "utf8" }).trim(), "1");
  });

  // Where npm is not used, a replica runs that command by hand: it must not drift from npm start's.
  it("are the README's command for a replica", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8").replace(/\s+/g, " ");
    const command = `node ${startNodeFlags().join(" ")} dist/server/main.js`;
    assert.ok(readme.includes(`\`${command}\``), `README.md has no \`${command}\``);
  });
});
