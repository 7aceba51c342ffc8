import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eventually } from "./eventually.js";

describe("eventually", () => {
  it("resolves with the first truthy answer", async () => {
    let tries = 0;
    assert.equal(await eventually(() => ++tries >= 3 && "done", { intervalMs: 1 }), "done");
    assert.equal(tries, 3);
  });

  it("throws the last try's error when the time is up", async () => {
    await assert.rejects(
      eventually(
        () => {
          throw new Error("not yet");
        },
        { timeoutMs: 30, intervalMs: 5 },
      ),
      /not yet/,
    );
  });

  it("says what never came", async () => {
    await assert.rejects(
      eventually(() => false, { timeoutMs: 30, intervalMs: 5, what: "the sun" }),
      /waiting for the sun/,
    );
  });
});
