import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

const writerModule = JSON.stringify(new URL("./fd-writer.ts", import.meta.url).href);

/** Runs `script` (an ES module) in a Node process of its own, its stdout and stderr piped here. */
const run = (script: string) =>
  spawn(process.execPath, ["--import", "tsx", "--input-type=module", "--eval", script], {
    stdio: ["ignore", "pipe", "pipe"],
  });

/** Chunks of 4,000 bytes, which a pipe takes whole or not at all, and every tenth of 100,000, which it takes in parts. */
const chunk = (i: number) => `${String(i).padStart(6, "0")}${"x".repeat((i % 10 === 9 ? 100_000 : 4000) - 7)}\n`;

describe("createFdWriter", () => {
  it("writes every chunk whole and in order to a non-blocking pipe whose reader lags, before the process exits", async () => {
    const child = run(`
      import { readFileSync } from "node:fs";
      import { createFdWriter } from ${writerModule};
      // Node makes its stdout pipe non-blocking once process.stdout is used.
      process.stdout;
      const flags = Number.parseInt(/flags:\\s+(\\d+)/.exec(readFileSync("/proc/self/fdinfo/1", "utf8"))[1], 8);
      console.error(flags & 0o4000 ? "non-blocking" : "blocking");
      const writer = createFdWriter(1, (error) => console.error(error.code));
      const chunk = ${chunk.toString()};
      for (let i = 0; i < 500; i++) writer.write(chunk(i));
      process.exit(0);
    `);
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    const closed = once(child, "close");
    // For 300 ms nothing reads the pipe but this side's socket, up to its buffer's size.
    await sleep(300);
    const chunks: Buffer[] = [];
    child.stdout.on("data", (data: Buffer) => chunks.push(data));
    const [code] = await closed;
    assert.equal(code, 0);
    assert.equal(stderr, "non-blocking\n");
    assert.equal(Buffer.concat(chunks).toString(), Array.from({ length: 500 }, (_, i) => chunk(i)).join(""));
  });

  it("reports a reader gone once, drops what follows and lets the process go on", async () => {
    const child = run(`
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
    `);
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    const closed = once(child, "close");
    const [first] = (await once(child.stdout, "data")) as [Buffer];
    child.stdout.destroy();
    const [code] = await closed;
    assert.match(first.toString(), /^line 0\n/);
    assert.equal(code, 0);
    assert.equal(stderr, "failed: EPIPE\nwent on\n");
  });
});
