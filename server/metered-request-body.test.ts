import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { createMeteredRequestBodies } from "./metered-request-body.js";
import { createRequestBodyBudget } from "./request-body-budget.js";

/** A request body of the given chunks, as connect-es iterates a Node request. */
function bodyOf(chunks: readonly Uint8Array[]): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      yield* chunks;
    },
  };
}

/** What the router's request gate is handed, for a method of `kind`. */
function gateContext(values: ReturnType<typeof createContextValues>, kind: string): HandlerContext {
  return { values, method: { methodKind: kind }, signal: new AbortController().signal } as unknown as HandlerContext;
}

describe("metered request bodies", () => {
  it("hold, of a stream, only the part of the next message read so far, told by the envelopes", async () => {
    const budget = createRequestBodyBudget({ perConnectionBytes: 1 << 20, perServerBytes: 1 << 20, timeoutMs: 60_000 });
    const metered = createMeteredRequestBodies(budget);
    const body = bodyOf([
      Uint8Array.of(0, 0, 0, 0, 10, 1, 2, 3), // a message of 10 bytes begins: 8 held
      Uint8Array.of(4, 5, 6, 7, 8, 9, 10, 0, 0), // it ends, the next begins: 2 held
      Uint8Array.of(0, 0, 1, 7), // the next's header and its one byte: none held
    ]);
    const values = metered.watchBody(createContextValues(), body);
    metered.requestGate(gateContext(values, "bidi_streaming"));
    const held: number[] = [];
    for await (const _ of body) held.push(budget.held());
    assert.deepEqual(held, [8, 2, 0]);
  });

  it("hold a unary body whole until its end", async () => {
    const budget = createRequestBodyBudget({ perConnectionBytes: 1 << 20, perServerBytes: 1 << 20, timeoutMs: 60_000 });
    const metered = createMeteredRequestBodies(budget);
    const body = bodyOf([Uint8Array.of(0, 0, 0, 0, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), Uint8Array.of(1)]);
    const values = metered.watchBody(createContextValues(), body);
    metered.requestGate(gateContext(values, "unary"));
    const held: number[] = [];
    for await (const _ of body) held.push(budget.held());
    assert.deepEqual(held, [15, 16]);
    assert.equal(budget.held(), 0);
  });

  it("the gate refuses a call with resource_exhausted while the server is full", () => {
    const budget = createRequestBodyBudget({ perConnectionBytes: 65_536, perServerBytes: 65_536, timeoutMs: 60_000 });
    budget.meter({}).hold(65_536);
    const metered = createMeteredRequestBodies(budget);
    const values = metered.watchBody(createContextValues(), bodyOf([]));
    assert.throws(
      () => metered.requestGate(gateContext(values, "unary")),
      (e) => ConnectError.from(e).code === Code.ResourceExhausted,
    );
  });
});
