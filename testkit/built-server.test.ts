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

  // Where npm is not used, a replica runs that command by hand: no copy of it in the README may drift from npm start's.
  it("are the README's, wherever it gives the command", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8").replace(/\s+/g, " ");
    const given = [...readme.matchAll(/`(node --[^`]*dist\/server\/main\.js)`/g)].map((match) => match[1]);
    assert.ok(given.length > 0, "README.md gives no `node ... dist/server/main.js` command");
    for (const command of given) assert.equal(command, `node ${startNodeFlags().join(" ")} dist/server/main.js`);
  });
});
