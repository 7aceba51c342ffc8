import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Exchange } from "./exchange.js";
import { LaneCall, type LaneCallInit, LiveCalls } from "./lane-call.js";

/** A call on an exchange that only ever closes, kept in `live` until it ends. */
function liveCall(live: LiveCalls, ended: unknown[], deadline?: LaneCallInit["deadline"]): LaneCall {
  const exchange = { closing: new EventEmitter(), rstCode: () => undefined } as unknown as Exchange;
  const call = new LaneCall({
    protocolName: "grpc",
    exchange,
    clientTimeoutMs: undefined,
    deadline,
    responseHeader: {},
    responseTrailer: undefined,
    onEnd: (c) => {
      live.delete(c);
      ended.push(c);
    },
  });
  live.add(call);
  return call;
}

describe("LiveCalls", () => {
  it("ends every call still in it, and none that already left", () => {
    const live = new LiveCalls();
    const ended: unknown[] = [];
    const [a, b, c, d] = [1, 2, 3, 4].map(() => liveCall(live, ended));
    b.end();
    d.end();
    ended.length = 0;
    live.endAll("shutdown");
    assert.deepEqual(new Set(ended), new Set([a, c]));
    assert.equal(ended.length, 2);
  });

  it("is empty once each call has ended, whatever the order", () => {
    const live = new LiveCalls();
    const ended: unknown[] = [];
    const calls = [1, 2, 3, 4, 5].map(() => liveCall(live, ended));
    for (const i of [2, 0, 4, 1, 3]) calls[i].end();
    ended.length = 0;
    live.endAll("shutdown");
    assert.deepEqual(ended, []);
  });

  it("gives each call the reason: its signal aborts with it", () => {
    const live = new LiveCalls();
    const call = liveCall(live, []);
    const { signal } = call;
    live.endAll("shutdown");
    assert.equal(signal.reason, "shutdown");
  });
});

describe("LiveCalls with a shared deadline", () => {
  const shared = (timeoutMs: number) => ({ timeoutMs, reason: () => "deadline", shared: true as const });
  /** Waits (up to 5 s) until `done` holds; timers on a busy machine fire late, never early. */
  const until = async (done: () => boolean) => {
    for (const stop = performance.now() + 5_000; !done() && performance.now() < stop; ) await sleep(5);
  };

  it("ends each call once its own deadline has passed, counted from its start, with the deadline's reason", async () => {
    const live = new LiveCalls();
    const ended: LaneCall[] = [];
    const endedAt = new Map<LaneCall, number>();
    const track = (call: LaneCall) => call.signal.addEventListener("abort", () => endedAt.set(call, performance.now()));
    const firstAt = performance.now();
    const first = liveCall(live, ended, shared(80));
    track(first);
    await sleep(40);
    const secondAt = performance.now();
    const second = liveCall(live, ended, shared(80));
    track(second);
    await until(() => ended.length === 2);
    assert.deepEqual(ended, [first, second]);
    assert.ok((endedAt.get(first) ?? 0) - firstAt >= 79);
    assert.ok((endedAt.get(second) ?? 0) - secondAt >= 79);
    assert.equal(second.signal.reason, "deadline");
  });

  it("leaves alone the calls that ended before it, and the ones with deadlines of their own", async () => {
    const live = new LiveCalls();
    const ended: LaneCall[] = [];
    const early = liveCall(live, ended, shared(30));
    const own = liveCall(live, ended, { timeoutMs: 60_000, reason: () => "own" });
    const later = liveCall(live, ended, shared(30));
    early.end();
    await until(() => ended.includes(later));
    assert.deepEqual(ended, [early, later]);
    own.end();
  });
});
