import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { evaluating } from "../testkit/node-eval.js";
import { spawnWithPipedStdout } from "../testkit/piped-stdout.js";

const lineModule = JSON.stringify(new URL("./stderr-line.ts", import.meta.url).href);

/** Lines of 4,000 bytes, which a pipe takes whole or not at all, and every tenth of 100,000, which it takes in parts. */
const line = (i: number) => `${String(i).padStart(6, "0")}${"x".repeat((i % 10 === 9 ? 100_000 : 4000) - 7)}`;

describe("writeStderrLine", () => {
  it("writes every line whole and in order to a non-blocking stderr pipe whose reader lags", async () => {
    const piped = spawnWithPipedStdout(
      process.execPath,
      evaluating(`
        import { readFileSync } from "node:fs";
        import { writeStderrLine } from ${lineModule};
        // Node makes its stderr pipe non-blocking once process.stderr is used.
        process.stderr;
        const flags = Number.parseInt(/flags:\\s+(\\d+)/.exec(readFileSync("/proc/self/fdinfo/2", "utf8"))[1], 8);
        writeStderrLine(flags & 0o4000 ? "non-blocking" : "blocking");
        const line = ${line.toString()};
        for (let i = 0; i < 500; i++) writeStderrLine(line(i));
        process.exit(0);
      `),
      { firstReadMs: 300, stderrToo: true },
    );
    assert.equal(await piped.closed, 0);
    const lines = piped.stdout().split("\n");
    assert.equal(lines[0], "non-blocking");
    assert.ok(
      lines.slice(1).join("\n") === [...Array.from({ length: 500 }, (_, i) => line(i)), ""].join("\n"),
      "lines lost or cut",
    );
  });
});
