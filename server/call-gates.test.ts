import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createContextValues, type HandlerContext } from "@connectrpc/connect";
import { type CallGate, gatesOffTheLane, requestGate } from "./call-gates.js";
import { createFastLane } from "./fast-lane/fast-lane.js";
import { createRequestBodyBudget } from "./request-body-budget.js";

describe("call gates", () => {
  const ran: string[] = [];
  const gate = (name: string, onLane: CallGate["onLane"]): CallGate => ({
    name,
    gate: () => void ran.push(name),
    onLane,
  });
  const deadline = gate("deadline", { equivalent: "the lane keeps the same deadline" });
  const auth = gate("auth", "connect-es only");

  it("the router's requestGate runs every gate, in order", () => {
    ran.length = 0;
    requestGate([deadline, auth])({} as HandlerContext);
    assert.deepEqual(ran, ["deadline", "auth"]);
  });

  it("a gate the lane does not apply is named, and the lane refuses to serve beside it", () => {
    assert.deepEqual(gatesOffTheLane([deadline]), []);
    assert.deepEqual(gatesOffTheLane([deadline, auth]), ["auth"]);
    assert.throws(
      () =>
        createFastLane().serve({
          services: [],
          gates: [deadline, auth],
          corsHeaders: () => ({}),
          contextValues: () => createContextValues(),
          deadline: { limit: () => undefined, callEnded: () => {} },
          bodyBudget: createRequestBodyBudget({ perConnectionBytes: 1024, perServerBytes: 1024, timeoutMs: 1_000 }),
          log: { error: () => {} },
        }),
      /skip the request gates auth/,
    );
  });
});
