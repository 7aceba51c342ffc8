import assert from "node:assert/strict";
import { accessSync, constants, readFileSync } from "node:fs";
import { endianness } from "node:os";
import { describe, it } from "node:test";
import { keepCpusAwake, latencyDevice } from "./cpu-idle.js";

/** The wake-up latency every CPU is held to now, in µs. */
function heldLatencyUs(): number {
  const bytes = readFileSync(latencyDevice);
  return endianness() === "LE" ? bytes.readInt32LE(0) : bytes.readInt32BE(0);
}

function cannotHold(): string | false {
  try {
    accessSync(latencyDevice, constants.W_OK);
    return false;
  } catch (error) {
    return `${latencyDevice}: ${(error as NodeJS.ErrnoException).code}`;
  }
}

describe("keepCpusAwake", () => {
  it("holds every CPU to a wake-up latency of 0 until released", { skip: cannotHold() }, () => {
    const before = heldLatencyUs();
    const awake = keepCpusAwake();
    assert.equal(awake.notHeld, undefined);
    try {
      assert.equal(heldLatencyUs(), 0);
    } finally {
      awake.release();
    }
    assert.equal(heldLatencyUs(), before);
    awake.release();
    assert.equal(heldLatencyUs(), before);
  });

  it("says why when it cannot", () => {
    const awake = keepCpusAwake("/nonexistent/cpu_dma_latency");
    assert.equal(awake.notHeld, "ENOENT");
    awake.release();
  });
});
