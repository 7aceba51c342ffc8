import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runCommand } from "./run-command.js";

describe("runCommand", () => {
  it("runs a command that exits without reading its input, however much is given", async () => {
    const result = await runCommand("true", [], { input: "x".repeat(4 << 20) });
    assert.equal(result.code, 0);
  });

  it("gives a command with no input an empty stdin, so one that reads it ends", async () => {
    const result = await runCommand("cat", []);
    assert.deepEqual(result, { code: 0, stdout: "", stderr: "" });
  });

  it("hands the input to a command that reads it", async () => {
    const result = await runCommand("cat", [], { input: "hello\n" });
    assert.equal(result.stdout, "hello\n");
  });
});
