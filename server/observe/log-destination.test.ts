import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { pino } from "pino";
import { shellWords } from "../../testkit/kernel-pipe.js";
import { evaluating } from "../../testkit/node-eval.js";
import { spawnWithPipedStdout } from "../../testkit/piped-stdout.js";
import { createLogDestination, WRITE_BYTES } from "./log-destination.js";

const destinationModule = JSON.stringify(new URL("./log-destination.ts", import.meta.url).href);

/**
 * A Node process that logs `count` lines through stdoutLogDestination,
 * `perTurn` to a turn, then exits at once (`process.exit`) or when it has
 * nothing left to do.
 */
const loggerArgs = (name: string, count: number, perTurn: number, exit: "at once" | "when done") =>
  evaluating(`
    import { stdoutLogDestination } from ${destinationModule};
    import { setImmediate as nextTurn } from "node:timers/promises";
    const log = stdoutLogDestination();
    for (let i = 0; i < ${count}; i++) {
      log.write("${name} " + i + " ${"x".repeat(60)}\\n");
      if (i % ${perTurn} === ${perTurn - 1}) await nextTurn();
    }
    ${exit === "at once" ? "process.exit(0);" : ""}
  `);

/** Runs `command` with its stdout a pipe read by a reader that lags, and returns the lines it wrote, once it has exited 0. */
async function linesThroughLaggingPipe(command: string, args: string[], firstReadMs: number, pauseMs: number) {
  const piped = spawnWithPipedStdout(command, args, { firstReadMs, pauseMs });
  assert.equal(await piped.closed, 0, piped.stderr());
  return piped.stdout().split("\n").slice(0, -1);
}

const recorder = () => {
  const writes: string[] = [];
  return { writes, out: { write: (chunk: string | Uint8Array) => writes.push(Buffer.from(chunk).toString()) > 0 } };
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

  it("splits a turn's lines into writes of whole lines, none over WRITE_BYTES, in order", async () => {
    const { writes, out } = recorder();
    const destination = createLogDestination(out);
    const lines = Array.from({ length: 100 }, (_, i) => `${"é".repeat(40)} line ${i}\n`);
    for (const line of lines) destination.write(line);
    await nextTurn();
    // 10 lines of 88 bytes and 90 of 89: 46, 46 and 8 to a write.
    assert.equal(writes.length, 3);
    for (const chunk of writes) {
      assert.ok(Buffer.byteLength(chunk) <= WRITE_BYTES, `a write of ${Buffer.byteLength(chunk)} bytes`);
      assert.ok(chunk.endsWith("\n"));
    }
    assert.equal(writes.join(""), lines.join(""));
  });

  it("fills a write to its last byte with 3- and 4-byte characters, and never cuts a line that does not fit", async () => {
    const { writes, out } = recorder();
    const destination = createLogDestination(out);
    const euros = `${"€".repeat(1000)}\n`; // 3,001 bytes: € takes 3 in UTF-8
    const fill = `${"😀".repeat(273)}ab\n`; // 1,095 bytes, the rest of a write: 😀 takes 4 (and two UTF-16 units)
    const more = `${"€".repeat(400)}\n`; // 1,201 bytes in 401 units: only its exact count says it does not fit after 3,001
    const lines = [euros, fill, euros, more];
    for (const line of lines) destination.write(line);
    await nextTurn();
    assert.deepEqual(
      writes.map((chunk) => Buffer.byteLength(chunk)),
      [WRITE_BYTES, 3001, 1201],
    );
    assert.equal(writes.join(""), lines.join(""));
  });

  it("writes a line longer than WRITE_BYTES in a write of its own", async () => {
    const { writes, out } = recorder();
    const destination = createLogDestination(out);
    const long = `${"x".repeat(WRITE_BYTES)}\n`;
    destination.write(long);
    destination.write("a\n");
    destination.write(long);
    destination.write("b\n");
    await nextTurn();
    assert.deepEqual(writes, [long, "a\n", long, "b\n"]);
  });

  it("writes what it holds before it calls back when pino's logger is flushed", () => {
    const { writes, out } = recorder();
    const logger = pino({ base: null, timestamp: false }, createLogDestination(out));
    logger.info("a");
    let writtenWhenCalled: string[] | undefined;
    logger.flush(() => {
      writtenWhenCalled = [...writes];
    });
    assert.deepEqual(writtenWhenCalled, ['{"level":30,"msg":"a"}\n']);
  });

  it("writes nothing when nothing was logged", async () => {
    const { writes, out } = recorder();
    createLogDestination(out).flush();
    await nextTurn();
    assert.deepEqual(writes, []);
  });

  it("loses no line when the process exits in the turn that logged it", async () => {
    const script = `
      import { stdoutLogDestination } from ${destinationModule};
      const log = stdoutLogDestination();
      for (let i = 0; i < 1000; i++) log.write("line " + i + "\\n");
      process.exit(0);
    `;
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, evaluating(script), { maxBuffer: 1 << 20 }, (error, out) =>
        error ? reject(error) : resolve(out),
      ),
    );
    const lines = stdout.trimEnd().split("\n");
    assert.equal(lines.length, 1000);
    assert.equal(lines[999], "line 999");
  });

  it("loses no line when its reader lags and the process exits right after logging", async () => {
    const lines = await linesThroughLaggingPipe(process.execPath, loggerArgs("a", 20_000, 2000, "at once"), 300, 0);
    assert.equal(lines.length, 20_000);
    assert.ok(lines.every((line, i) => line.startsWith(`a ${i} `)));
  });

  it("never splits a line of one process with another's when both log to one pipe whose reader lags", async () => {
    const node = JSON.stringify(process.execPath);
    // Turns of 2,000 lines, ~138 KB: written whole, they would not fit the pipe.
    const both = `${node} ${shellWords(loggerArgs("a", 20_000, 2000, "when done"))} & ${node} ${shellWords(loggerArgs("b", 20_000, 2000, "when done"))} & wait`;
    const lines = await linesThroughLaggingPipe("sh", ["-c", both], 100, 5);
    const whole = /^([ab]) (\d+) x{60}$/;
    const next = { a: 0, b: 0 };
    for (const line of lines) {
      const match = whole.exec(line);
      assert.ok(match, `a split line: ${line.slice(0, 120)}`);
      const writer = match[1] as "a" | "b";
      assert.equal(Number(match[2]), next[writer]);
      next[writer]++;
    }
    assert.deepEqual(next, { a: 20_000, b: 20_000 });
  });
});
