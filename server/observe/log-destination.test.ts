import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { createLogDestination } from "./log-destination.js";

const recorder = () => {
  const writes: string[] = [];
  return { writes, out: { write: (chunk: string) => writes.push(chunk) > 0 } };
};

describe("createLogDestination", () => {
  it("writes the lines of one event-loop turn together, in order, at the end of the turn", async () => {
    const { writes, out } = recorder();
    const destination = createLogDestination(out);
    destination.write("a\n");
    destination.write("b\n");
    destination.write("c\n");
    assert.deepEqual(writes, []);
    await nextTurn();
    assert.deepEqual(writes, ["a\nb\nc\n"]);
  });

  it("writes the lines of later turns in writes of their own", async () => {
    const { writes, out } = recorder();
    const destination = createLogDestination(out);
    destination.write("a\n");
    await nextTurn();
    destination.write("b\n");
    await nextTurn();
    assert.deepEqual(writes, ["a\n", "b\n"]);
  });

  it("writes nothing when nothing was logged", async () => {
    const { writes, out } = recorder();
    createLogDestination(out).flush();
    await nextTurn();
    assert.deepEqual(writes, []);
  });

  it("loses no line when the process exits in the turn that logged it", async () => {
    const script = `
      import { stdoutLogDestination } from ${JSON.stringify(new URL("./log-destination.ts", import.meta.url).href)};
      const log = stdoutLogDestination();
      for (let i = 0; i < 1000; i++) log.write("line " + i + "\\n");
      process.exit(0);
    `;
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ["--import", "tsx", "--input-type=module", "--eval", script],
        { maxBuffer: 1 << 20 },
        (error, out) => (error ? reject(error) : resolve(out)),
      ),
    );
    const lines = stdout.trimEnd().split("\n");
    assert.equal(lines.length, 1000);
    assert.equal(lines[999], "line 999");
  });
});
