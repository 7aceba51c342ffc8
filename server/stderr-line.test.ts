import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { evaluating } from "../testkit/node-eval.js";
import { fillingLine, isNonBlocking } from "../testkit/pipe-filling.js";
import { spawnWithPipedStdout } from "../testkit/piped-stdout.js";

const lineModule = JSON.stringify(new URL("./stderr-line.ts", import.meta.url).href);

describe("writeStderrLine", () => {
  it("writes every line whole and in order to a non-blocking stderr pipe whose reader lags", async () => {
    const piped = spawnWithPipedStdout(
      process.execPath,
      evaluating(`
        import { readFileSync } from "node:fs";
        import { writeStderrLine } from ${lineModule};
        // Node makes its stderr pipe non-blocking once process.stderr is used.
        process.stderr;
        writeStderrLine(${isNonBlocking(2)} ? "non-blocking" : "blocking");
        const fillingLine = ${fillingLine.toString()};
        for (let i = 0; i < 500; i++) writeStderrLine(fillingLine(i).slice(0, -1));
        process.exit(0);
      `),
      { firstReadMs: 300, stderrToo: true },
    );
    assert.equal(await piped.closed, 0);
    const out = piped.stdout();
    const firstEnd = out.indexOf("\n");
    assert.equal(out.slice(0, firstEnd), "non-blocking");
    assert.ok(
      out.slice(firstEnd + 1) === Array.from({ length: 500 }, (_, i) => fillingLine(i)).join(""),
      "lines lost or cut",
    );
  });
});
