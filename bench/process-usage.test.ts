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
  it("counts read and write system calls apart, one for each", () => {
    const fd = openSync("/dev/zero", "r+");
    try {
      const before = treeSystemCalls(process.pid);
      const bytes = Buffer.alloc(4096);
      for (let i = 0; i < 2000; i++) readSync(fd, bytes);
      for (let i = 0; i < 500; i++) writeSync(fd, bytes);
      const after = treeSystemCalls(process.pid);
      const reads = after.reads - before.reads;
      const writes = after.writes - before.writes;
      // Walking /proc reads a file per process, and other threads may make calls meanwhile: a few
      // hundred more at most. Read swapped, the counts would fall short; read as bytes, far over.
      assert.ok(reads >= 2000 && reads < 20_000, `read ${reads} reads`);
      assert.ok(writes >= 500 && writes < 2000, `read ${writes} writes`);
    } finally {
      closeSync(fd);
    }
  });

  it("counts a child's calls in its parent's", async () => {
    const before = treeSystemCalls(process.pid).writes;
    const child = spawn(
      process.execPath,
      [
        "-e",
        'const fs = require("node:fs"); const fd = fs.openSync("/dev/null", "w"); for (let i = 0; i < 1000; i++) fs.writeSync(fd, "x"); process.stdout.write("done"); process.stdin.resume()',
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    const exited = once(child, "exit");
    try {
      await once(child.stdout, "data");
      // Without the child's 1,000, the writes of this process (and of tsx's helper) since would not reach it.
      assert.ok(treeSystemCalls(process.pid).writes - before >= 1000);
    } finally {
      child.stdin.end();
      await exited;
    }
  });

  it("reads NaN for a process that is gone, rather than throwing", async () => {
    const child = spawn(process.execPath, ["-e", ""]);
    await once(child, "exit");
    assert.ok(child.pid !== undefined);
    assert.deepEqual(treeSystemCalls(child.pid), { reads: Number.NaN, writes: Number.NaN });
  });
});
