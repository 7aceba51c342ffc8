import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EnvelopeProgress } from "./envelope-progress.js";

const envelope = (payload: number[]) => Uint8Array.of(0, 0, 0, 0, payload.length, ...payload);

describe("EnvelopeProgress", () => {
  it("counts messages whole however their bytes are cut, and knows when it is inside one", () => {
    const bytes = Uint8Array.from([...envelope([1, 2, 3]), ...envelope([]), ...envelope([4])]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const progress = new EnvelopeProgress();
      let ended = 0;
      progress.feed(bytes.subarray(0, cut), () => ended++);
      const inside = progress.inMessage > 0;
      progress.feed(bytes.subarray(cut), () => ended++);
      assert.equal(ended, 3, `cut at ${cut}`);
      assert.equal(progress.complete, 3);
      assert.equal(progress.inMessage, 0);
      // Between messages exactly at byte 8 (after the first) and 13 (after the empty one).
      assert.equal(inside, cut !== 8 && cut !== 13, `inside a message at ${cut}`);
    }
  });

  it("reads a length over 16 bits", () => {
    const progress = new EnvelopeProgress();
    progress.feed(Uint8Array.of(0, 0, 1, 0, 0));
    assert.equal(progress.inMessage, 5);
    progress.feed(new Uint8Array(65536));
    assert.equal(progress.complete, 1);
    assert.equal(progress.inMessage, 0);
  });
});
