import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";

// V8's natives (%HaveSameMap) and gc() need flags of their own: a child process.
// The unheld case has no such check (comparing maps keeps the first one alive);
// bench/next-tick-cliff.ts shows what it costs.
const script = `
  import { executionAsyncResource } from "node:async_hooks";
  const { heldNextTickEntry, holdNextTickShape } = await import(${JSON.stringify(new URL("./next-tick-shape.ts", import.meta.url).href)});
  holdNextTickShape();
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  await turn();
  const held = heldNextTickEntry();
  // Full collections between turns, when no tick is queued: what drops an unheld entry's map.
  for (let i = 0; i < 5; i++) {
    await turn();
    gc();
  }
  const later = await new Promise((resolve) => process.nextTick(() => resolve(executionAsyncResource())));
  console.log(JSON.stringify({
    heldIsAnEntry: typeof held?.callback === "function" && Object.getOwnPropertySymbols(held).length > 0,
    laterIsAnEntry: typeof later?.callback === "function",
    sameMap: %HaveSameMap(held, later),
  }));
`;

describe("holdNextTickShape", () => {
  it("holds a nextTick entry, and entries made after full collections keep its map", () => {
    const out = execFileSync(
      process.execPath,
      ["--import", "tsx", "--allow-natives-syntax", "--expose-gc", "--input-type=module", "-e", script],
      { encoding: "utf8" },
    );
    assert.deepEqual(JSON.parse(out), { heldIsAnEntry: true, laterIsAnEntry: true, sameMap: true });
  });
});
