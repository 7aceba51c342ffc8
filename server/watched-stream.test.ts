import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { watched } from "./watched-stream.js";

async function* source(values: readonly number[], failWith?: Error, closed?: { done: boolean }) {
  try {
    yield* values;
    if (failWith) throw failWith;
  } finally {
    if (closed) closed.done = true;
  }
}

describe("watched streams", () => {
  it("pass every message through, tell each, and end once with undefined", async () => {
    let seen = 0;
    const ends: unknown[] = [];
    const read: number[] = [];
    for await (const value of watched(source([1, 2, 3]), { message: () => seen++, end: (o) => ends.push(o) })) {
      read.push(value);
    }
    assert.deepEqual(read, [1, 2, 3]);
    assert.equal(seen, 3);
    assert.deepEqual(ends, [undefined]);
  });

  it("give the reader the error as `error` makes it, and end with the stream's own", async () => {
    const own = new Error("own");
    const shown = new Error("shown");
    const ends: unknown[] = [];
    const read: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const value of watched(source([1], own), { error: () => shown, end: (o) => ends.push(o) })) {
          read.push(value);
        }
      })(),
      (e) => e === shown,
    );
    assert.deepEqual(read, [1]);
    assert.deepEqual(ends, [own]);
  });

  it("end with null when the reader stops early, and close the source", async () => {
    const closed = { done: false };
    const ends: unknown[] = [];
    for await (const value of watched(source([1, 2, 3], undefined, closed), { end: (o) => ends.push(o) })) {
      if (value === 2) break;
    }
    assert.deepEqual(ends, [null]);
    assert.equal(closed.done, true);
  });

  it("give the reader each message as `map` makes it; a `map` that throws fails the stream and closes the source", async () => {
    const read: number[] = [];
    for await (const value of watched(source([1, 2]), { map: (v) => v * 10 })) read.push(value);
    assert.deepEqual(read, [10, 20]);

    const closed = { done: false };
    const broken = new Error("cannot make it");
    const ends: unknown[] = [];
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        const map = (v: number) => {
          if (v === 2) throw broken;
          return v;
        };
        for await (const value of watched(source([1, 2, 3], undefined, closed), { map, end: (o) => ends.push(o) })) {
          seen.push(value);
        }
      })(),
      (e) => e === broken,
    );
    assert.deepEqual(seen, [1]);
    assert.deepEqual(ends, [broken]);
    assert.equal(closed.done, true);
  });
});
