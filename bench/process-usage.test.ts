import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { describe, it } from "node:test";
import { mainThreadSwitches, treeRss, treeSystemCalls } from "./process-usage.js";

describe("mainThreadSwitches", () => {
  it("counts each wait of the main thread: a sleep adds one", () => {
    const before = mainThreadSwitches(process.pid);
    assert.ok(Number.isInteger(before) && before >= 0, `read ${before}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    assert.ok(mainThreadSwitches(process.pid) > before);
  });

  it("reads NaN for a process that is gone, rather than throwing", async () => {
    const child = spawn(process.execPath, ["-e", ""]);
    await once(child, "exit");
    assert.ok(child.pid !== undefined);
    assert.equal(mainThreadSwitches(child.pid), Number.NaN);
  });
});

describe("treeRss", () => {
  it("reads a process's resident memory as Node does, and nothing for a process that is gone", async () => {
    // A process of its own: this one's tree holds tsx's helpers too.
    const child = spawn(
      process.execPath,
      ["-e", "process.stdout.write(String(process.memoryUsage.rss())); process.stdin.resume()"],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    const exited = once(child, "exit");
    try {
      const [said] = (await once(child.stdout, "data")) as [Buffer];
      assert.ok(child.pid !== undefined);
      const rss = treeRss(child.pid);
      // Both count pages, read a moment apart.
      assert.ok(Math.abs(rss - Number(said.toString())) < 4 * 1024 * 1024, `read ${rss}, the process said ${said}`);
    } finally {
      child.stdin.end();
      await exited;
    }
    assert.equal(treeRss(child.pid as number), 0);
  });
});

describe("treeSystemCalls", () => {
  it("counts each read and write system call", () => {
    const fd = openSync("/dev/zero", "r+");
    try {
      const before = treeSystemCalls(process.pid);
      const bytes = Buffer.alloc(16);
      for (let i = 0; i < 50; i++) {
        readSync(fd, bytes);
        writeSync(fd, bytes);
      }
      const after = treeSystemCalls(process.pid);
      // This process's other threads (and tsx's) may make some of their own meanwhile.
      assert.ok(after.reads - before.reads >= 50, `reads ${before.reads} then ${after.reads}`);
      assert.ok(after.writes - before.writes >= 50, `writes ${before.writes} then ${after.writes}`);
    } finally {
      closeSync(fd);
    }
  });

  it("reads NaN for a process that is gone, rather than throwing", async () => {
    const child = spawn(process.execPath, ["-e", ""]);
    await once(child, "exit");
    assert.ok(child.pid !== undefined);
    assert.deepEqual(treeSystemCalls(child.pid), { reads: Number.NaN, writes: Number.NaN });
  });
});
