import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { builtServerMain } from "../testkit/built-server.js";

function start(env: Record<string, string>, ...args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [builtServerMain(), ...args],
      { env: { ...process.env, ...env }, timeout: 20_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe("start-up with a bad configuration", () => {
  it("stops with exit code 2 and one line naming the bad value", async () => {
    const { code, stdout, stderr } = await start({ PORT: "eighty" });
    assert.equal(code, 2);
    assert.equal(stdout, "");
    assert.equal(stderr, 'simpletest: bad configuration: PORT must be an integer from 0 to 65535, got "eighty"\n');
  });

  it("names a bad flag the same way", async () => {
    const { code, stderr } = await start({}, "--port", "99999");
    assert.equal(code, 2);
    assert.equal(stderr, 'simpletest: bad configuration: --port must be an integer from 0 to 65535, got "99999"\n');
  });
});
