import { connectionOf } from "../request-body-budget.js";
import type { Plan, Route } from "./choose-call.js";
import type { Exchange } from "./exchange.js";
import type { LaneCall } from "./lane-call.js";
import { readBody } from "./request-body.js";

/** What becomes of a call's request body. */
export interface RequestOutcome {
  /** The one request message, decoded. */
  read(input: unknown): void;
  /** The call ended (deadline, shutdown, client gone, a full server) before the message was in. */
  interrupted(reason: unknown): void;
  /** The lane itself failed (handing the call over). */
  failed(error: unknown): void;
}

/**
 * Reads the call's one request message, under the request-body budget as
 * the router's bodies are. A request that is not the lane's to judge (over
 * the size limit, malformed, undecodable) goes to connect-es instead, with
 * the bytes read so far, before any interceptor saw it.
 */
export function readRequest(
  { serving, route, shape }: Plan,
  call: LaneCall,
  exchange: Exchange,
  then: RequestOutcome,
): void {
  const isGrpc = shape === "grpc";
  const limit = isGrpc ? serving.opt.readMaxBytes + 5 : serving.opt.readMaxBytes;
  const budget = serving.options.bodyBudget;
  try {
    budget.admit();
  } catch (e) {
    call.end(e);
  }
  call.wait<Buffer | readonly Buffer[]>(
    // The whole body; or, past the limit or at an envelope the lane does not serve, the part read so far.
    (resolve) => {
      const meter = budget.meter(connectionOf(exchange.body));
      meter.startClock((error) => call.end(error));
      return readBody(exchange.body, limit, resolve, resolve, meter, isGrpc ? serving.envelopeRefused : undefined);
    },
    (body) => {
      const input = Buffer.isBuffer(body) ? parse(route, isGrpc, shape !== "connect-json", body) : undefined;
      if (input !== undefined) {
        then.read(input);
        return;
      }
      call.end();
      try {
        exchange.handOver(Buffer.isBuffer(body) ? [body] : body, Buffer.isBuffer(body));
      } catch (e) {
        then.failed(e);
      }
    },
    (reason) => then.interrupted(reason),
  );
}

/** The request message, or undefined when connect-es should say what is wrong with it. */
function parse(route: Route, isGrpc: boolean, binary: boolean, body: Buffer): unknown {
  // gRPC: exactly one uncompressed envelope around the message.
  const wellFramed = !isGrpc || (body.length >= 5 && body[0] === 0 && body.readUInt32BE(1) === body.length - 5);
  try {
    if (wellFramed) return route.serialization.getI(binary).parse(isGrpc ? body.subarray(5) : body);
  } catch {
    // connect-es decodes it again and reports the failure its own way.
  }
  return undefined;
}
