import type { HandlerContext } from "@connectrpc/connect";

/**
 * A rule every call passes before its body is read: connect-es runs `gate`
 * as (part of) the router's `requestGate`. The fast lane serves calls
 * without connect-es, so each gate must say how a lane call meets the same
 * rule; a gate the lane does not apply (a future auth check or rate limit,
 * until someone writes its lane form) keeps the lane from serving at all, so
 * that no call skips it.
 */
export interface CallGate {
  readonly name: string;
  readonly gate: (context: HandlerContext) => void;
  /** Why a call the lane serves meets the rule without `gate`; or `"connect-es only"`: the lane must not serve. */
  readonly onLane: { readonly equivalent: string } | "connect-es only";
}

/** The router's `requestGate`: every gate, in order. */
export function requestGate(gates: readonly CallGate[]): (context: HandlerContext) => void {
  return (context) => {
    for (const { gate } of gates) gate(context);
  };
}

/** The gates a lane call would skip: the lane may serve only when there are none. */
export function gatesOffTheLane(gates: readonly CallGate[]): string[] {
  return gates.filter((gate) => gate.onLane === "connect-es only").map((gate) => gate.name);
}
