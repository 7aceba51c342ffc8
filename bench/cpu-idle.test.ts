import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { availableParallelism, endianness } from "node:os";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { haltCount, keepCpusAwake, latencyDevice } from "./cpu-idle.js";

/** The wake-up latency every CPU is held to now, in µs. */
function heldLatencyUs(): number {
  const bytes = readFileSync(latencyDevice);
  return endianness() === "LE" ? bytes.readInt32LE(0) : bytes.readInt32BE(0);
}

function cannotHold(): string | false {
  const probe = keepCpusAwake();
  probe.release();
  return probe.notHeld === undefined ? false : `${latencyDevice}: ${probe.notHeld}`;
}

function cannotCount(): string | false {
  return haltCount(0) === undefined ? "no cpuidle in /sys for CPU 0" : false;
}

describe("keepCpusAwake", () => {
  it("holds every CPU to a wake-up latency of 0 until released", { skip: cannotHold() }, (t) => {
    const before = heldLatencyUs();
    if (before === 0) {
      t.skip("another process holds the CPUs awake already");
      return;
    }
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

  // For its 0.6 s every CPU of the machine polls, whatever else runs on it.
  it("held, the CPUs poll when idle rather than halt", { skip: cannotHold() || cannotCount() }, async () => {
    const cpus = [...Array(availableParallelism()).keys()];
    const halts = () => cpus.reduce((sum, cpu) => sum + (haltCount(cpu) ?? 0), 0);
    const awake = keepCpusAwake();
    try {
      // Long enough for any CPU that halted before the request to have woken.
      await sleep(100);
      const before = halts();
      await sleep(500);
      assert.ok(halts() - before <= 2, `${halts() - before} halts in 0.5 s of idling held awake`);
    } finally {
      awake.release();
    }
  });

  it("says why when it cannot", () => {
    const awake = keepCpusAwake("/nonexistent/cpu_dma_latency");
    assert.equal(awake.notHeld, "ENOENT");
    awake.release();
  });
});
