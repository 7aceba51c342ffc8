import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import type { Plan } from "./choose-call.js";
import type { Exchange } from "./exchange.js";
import type { LaneCall } from "./lane-call.js";

/** A call being answered: how it was chosen, its state, the response compression, and where the answer goes. */
export interface Answering {
  readonly plan: Plan;
  readonly call: LaneCall;
  readonly compression: Compression | null;
  readonly exchange: Exchange;
}

/**
 * An answer a client does not read stays in the stream's buffer, and a body
 * the client never finishes keeps the stream open after its answer: the
 * stream is reset later, as connect-es's calls are (call-deadline.ts).
 */
export function cutIfStuck({ plan, exchange }: Answering): void {
  const stream = exchange.stuckStream();
  if (stream !== undefined) plan.serving.options.deadline.callEnded(stream);
}

/** As connect-es does: an unexpected exception becomes internal, with the cause kept. */
export function asConnectError(e: unknown): ConnectError {
  return e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
}
