import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TrimRule } from "./memory-at-rest.js";

const mib = 1024 * 1024;

/** Which of `looks` (true: busy) made a trim due, V8's heap at `heapMib` at each quiet one, 1-based. */
function dueAt(rule: TrimRule, looks: readonly boolean[], heapMib: (look: number) => number): number[] {
  return looks.flatMap((busy, i) => {
    if (busy) {
      rule.busy();
      return [];
    }
    return rule.quiet(heapMib(i + 1) * mib) ? [i + 1] : [];
  });
}

const quiet = (n: number) => Array<boolean>(n).fill(false);

describe("TrimRule", () => {
  it("makes a trim due at the fourth quiet look in a row, not before", () => {
    assert.deepEqual(
      dueAt(new TrimRule(), quiet(4), () => 30),
      [4],
    );
  });

  it("starts the count again after a busy look", () => {
    const looks = [...quiet(3), true, ...quiet(4)];
    assert.deepEqual(
      dueAt(new TrimRule(), looks, () => 30),
      [8],
    );
  });

  it("trims once per rest: not again while quiet, however much the heap grows", () => {
    const rule = new TrimRule();
    assert.deepEqual(
      dueAt(rule, quiet(4), () => 30),
      [4],
    );
    rule.trimmed(10 * mib);
    assert.deepEqual(
      dueAt(rule, quiet(12), (look) => 10 + 4 * look),
      [],
    );
  });

  it("after a busy look, trims again once the heap has grown 4 MiB past what the last trim left", () => {
    const rule = new TrimRule();
    dueAt(rule, quiet(4), () => 30);
    rule.trimmed(10 * mib);
    assert.deepEqual(
      dueAt(rule, [true, ...quiet(4)], () => 13.9),
      [],
      "3.9 MiB of growth",
    );
    // Still armed: the rest goes on, and the look that finds the growth trims.
    assert.deepEqual(
      dueAt(rule, quiet(3), (look) => [13.9, 14, 20][look - 1]),
      [2],
    );
  });

  it("with the start's trim told first, waits for 4 MiB of growth past what it left", () => {
    const rule = new TrimRule();
    rule.trimmed(20 * mib);
    assert.deepEqual(
      dueAt(rule, quiet(6), (look) => [20, 22, 23.9, 23.9, 24, 30][look - 1]),
      [5],
    );
  });

  it("waits for the heap to reach 4 MiB before the first trim", () => {
    assert.deepEqual(
      dueAt(new TrimRule(), quiet(6), (look) => [1, 2, 3, 3.9, 4, 5][look - 1]),
      [5],
    );
  });

  it("counts the quiet looks, for the trim's log line", () => {
    const rule = new TrimRule();
    assert.deepEqual(
      dueAt(rule, [...quiet(2), true, ...quiet(5)], () => 1),
      [],
      "1 MiB of heap: nothing to give back",
    );
    assert.equal(rule.quietLooks, 5);
  });
});
