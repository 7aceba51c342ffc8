import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eventually } from "../../testkit/eventually.js";
import { evaluating } from "../../testkit/node-eval.js";
import { fillingLine, isNonBlocking } from "../../testkit/pipe-filling.js";
import { spawnWithPipedStdout } from "../../testkit/piped-stdout.js";

const writerModule = JSON.stringify(new URL("./fd-writer.ts", import.meta.url).href);

describe("createFdWriter", () => {
  it("writes every chunk whole and in order to a non-blocking pipe whose reader lags, before the process exits", async () => {
    const piped = spawnWithPipedStdout(
      process.execPath,
      evaluating(`
        import { readFileSync } from "node:fs";
        import { createFdWriter } from ${writerModule};
        // Node makes its stdout pipe non-blocking once process.stdout is used.
        process.stdout;
        console.error(${isNonBlocking(1)} ? "non-blocking" : "blocking");
        const writer = createFdWriter(1, (error) => console.error(error.code));
        const fillingLine = ${fillingLine.toString()};
        for (let i = 0; i < 500; i++) writer.write(fillingLine(i));
        process.exit(0);
      `),
      { firstReadMs: 300 },
    );
    assert.equal(await piped.closed, 0);
    assert.equal(piped.stderr(), "non-blocking\n");
    assert.equal(piped.stdout(), Array.from({ length: 500 }, (_, i) => fillingLine(i)).join(""));
  });

  it("reports a reader gone once, drops what follows and lets the process go on", async () => {
    const piped = spawnWithPipedStdout(
      process.execPath,
      evaluating(`
        import { setTimeout as sleep } from "node:timers/promises";
        import { createFdWriter } from ${writerModule};
        let failures = 0;
        const writer = createFdWriter(1, (error) => {
          failures++;
          console.error("failed:", error.code);
        });
        for (let i = 0; failures === 0 && i < 5000; i++) {
          writer.write("line " + i + "\\n");
          await sleep(2);
        }
        for (let i = 0; i < 10; i++) writer.write("after\\n");
        console.error("went on");
      `),
    );
    await eventually(() => piped.stdout().startsWith("line 0\n"), { what: "the first line" });
    // The pipe's reader (cat) dies on its next write here; the writer's next write fails.
    piped.child.stdout?.destroy();
    assert.equal(await piped.closed, 0);
    assert.equal(piped.stderr(), "failed: EPIPE\nwent on\n");
  });
});
