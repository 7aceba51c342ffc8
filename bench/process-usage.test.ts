import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { mainThreadSwitches } from "./process-usage.js";

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
