import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { spawnWithPipedStdout } from "../testkit/piped-stdout.js";

const lineModule = JSON.stringify(new URL("./stderr-line.ts", import.meta.url).href);

const line = (i: number) => `${String(i).padStart(6, "0")}${"x".repeat(3993)}`;

describe("writeStderrLine", () => {
  it("writes every line whole to a non-blocking stderr pipe whose reader lags", async () => {
    const piped = spawnWithPipedStdout(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "--eval",
        `
          import { readFileSync } from "node:fs";
          import { writeStderrLine } from ${lineModule};
          // Node makes its stderr pipe non-blocking once process.stderr is used.
          process.stderr;
          const flags = Number.parseInt(/flags:\\s+(\\d+)/.exec(readFileSync("/proc/self/fdinfo/2", "utf8"))[1], 8);
          writeStderrLine(flags & 0o4000 ? "non-blocking" : "blocking");
          const line = ${line.toString()};
          for (let i = 0; i < 100; i++) writeStderrLine(line(i));
          process.exit(0);
        `,
      ],
      { firstReadMs: 300, stderrToo: true },
    );
    assert.equal(await piped.closed, 0);
    const lines = piped.stdout().split("\n");
    assert.equal(lines[0], "non-blocking");
    assert.deepEqual(lines.slice(1), [...Array.from({ length: 100 }, (_, i) => line(i)), ""]);
  });
});
