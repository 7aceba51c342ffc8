import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ReadNow, readNow, watched } from "./watched-stream.js";

async function* source(values: readonly number[], failWith?: Error, closed?: { done: boolean }) {
  try {
    yield* values;
    if (failWith) throw failWith;
  } finally {
    if (closed) closed.done = true;
  }
}

/** Messages at hand, as the lane's requests read before the call are: each offered at once, then `failWith` if given. */
function atHand(values: readonly number[], failWith?: Error, closed?: { done: boolean }) {
  let next = 0;
  const now = (): IteratorResult<number> => {
    if (next < values.length) return { done: false, value: values[next++] };
    if (failWith) throw failWith;
    return { done: true, value: undefined };
  };
  const iterator: AsyncIterableIterator<number> & ReadNow<number> = {
    next: async () => now(),
    [readNow]: now,
    return: async () => {
      if (closed) closed.done = true;
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
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

  it("read a stream of messages at hand through every layer at once, in order, and end once", async () => {
    const told: string[] = [];
    const inner = watched(atHand([1, 2]), {
      message: () => told.push("inner"),
      end: (o) => told.push(`inner end ${o}`),
    });
    const outer = watched(inner, { message: () => told.push("outer"), map: (v) => v * 10 });
    const reader = outer[Symbol.asyncIterator]();
    const first = reader.next();
    // Told before the reader's promise settles: no layer waited for a turn of the queue.
    assert.deepEqual(told, ["inner", "outer"]);
    assert.deepEqual(await first, { done: false, value: 10 });
    assert.deepEqual(await reader.next(), { done: false, value: 20 });
    assert.deepEqual(await reader.next(), { done: true, value: undefined });
    assert.deepEqual(told, ["inner", "outer", "inner", "outer", "inner end undefined"]);
  });

  it("fail a stream at hand as a waited one fails: the error as `error` makes it, the end with the stream's own", async () => {
    const own = new Error("own");
    const shown = new Error("shown");
    const ends: unknown[] = [];
    const read: number[] = [];
    const stream = watched(watched(atHand([1], own), { error: () => shown, end: (o) => ends.push(o) }), {});
    await assert.rejects(
      (async () => {
        for await (const value of stream) read.push(value);
      })(),
      (e) => e === shown,
    );
    assert.deepEqual(read, [1]);
    assert.deepEqual(ends, [own]);

    const closed = { done: false };
    const broken = new Error("cannot make it");
    const map = (v: number) => {
      if (v === 2) throw broken;
      return v;
    };
    await assert.rejects(
      (async () => {
        for await (const _ of watched(atHand([1, 2, 3], undefined, closed), { map })) {
        }
      })(),
      (e) => e === broken,
    );
    assert.equal(closed.done, true);
  });

  it("stacked over a waited source, tell each layer inner first, map through them all, and fail through them all", async () => {
    const told: string[] = [];
    const layer = (name: string, watch: Parameters<typeof watched<number>>[1] = {}) => ({
      ...watch,
      message: () => told.push(name),
      end: (o: unknown) => told.push(`${name} end ${o instanceof Error ? o.message : o}`),
    });
    const inner = watched(source([1, 2]), layer("inner", { map: (v) => v + 1 }));
    const middle = watched(inner, layer("middle"));
    const outer = watched(middle, layer("outer", { map: (v) => v * 10 }));
    const read: number[] = [];
    for await (const value of outer) read.push(value);
    assert.deepEqual(read, [20, 30]);
    assert.deepEqual(told, [
      "inner",
      "middle",
      "outer",
      "inner",
      "middle",
      "outer",
      "inner end undefined",
      "middle end undefined",
      "outer end undefined",
    ]);

    told.length = 0;
    const own = new Error("own");
    const failing = watched(
      watched(
        watched(source([1], own), layer("inner", { error: () => new Error("inner's") })),
        layer("middle", { error: (e) => new Error(`middle's of ${(e as Error).message}`) }),
      ),
      layer("outer"),
    );
    await assert.rejects(
      (async () => {
        for await (const _ of failing) {
        }
      })(),
      { message: "middle's of inner's" },
    );
    assert.deepEqual(told, [
      "inner",
      "middle",
      "outer",
      "inner end own",
      "middle end inner's",
      "outer end middle's of inner's",
    ]);

    const closed = { done: false };
    const broken = new Error("cannot make it");
    const ends: unknown[] = [];
    const map = (v: number) => {
      if (v === 2) throw broken;
      return v;
    };
    const mapping = watched(watched(watched(source([1, 2, 3], undefined, closed), {}), { map }), {
      end: (o) => ends.push(o),
    });
    await assert.rejects(
      (async () => {
        for await (const _ of mapping) {
        }
      })(),
      (e) => e === broken,
    );
    assert.deepEqual(ends, [broken]);
    assert.equal(closed.done, true);
  });

  it("stacked over a waited source, hand the reader each message as soon as one layer would", async () => {
    /** Turns of the microtask queue until the first message of `stream` reaches its reader. */
    const turnsToFirst = async (stream: AsyncIterable<number>) => {
      let turns = 0;
      let arrived = false;
      const first = stream[Symbol.asyncIterator]()
        .next()
        .then(() => {
          arrived = true;
        });
      const count = (): Promise<void> | undefined => {
        if (arrived) return;
        turns++;
        return Promise.resolve().then(count);
      };
      await Promise.all([first, count()]);
      return turns;
    };
    let stack: AsyncIterable<number> = source([1]);
    const alone = await turnsToFirst(watched(source([1]), {}));
    for (let i = 0; i < 5; i++) stack = watched(stack, { message: () => {}, map: (v) => v });
    assert.equal(await turnsToFirst(stack), alone);
  });
});
