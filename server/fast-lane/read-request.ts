import { connectionOf } from "../request-body-budget.js";
import type { Plan, Route, Shape } from "./choose-call.js";
import type { Exchange } from "./exchange.js";
import type { LaneCall } from "./lane-call.js";
import { readBody } from "./request-body.js";

/** What becomes of a call's request body. */
export interface RequestOutcome {
  /** The request messages, decoded: one, or for a streaming request any number. */
  read(inputs: unknown[]): void;
  /** The call ended (deadline, shutdown, client gone, a full server) before the messages were in. */
  interrupted(reason: unknown): void;
  /** The lane itself failed (handing the call over). */
  failed(error: unknown): void;
}

/**
 * Reads the call's request messages, under the request-body budget as the
 * router's bodies are. A request that is not the lane's to judge (over the
 * size limit, malformed, undecodable) goes to connect-es instead, with the
 * bytes read so far, before any interceptor saw it.
 *
 * A streaming request (client or bidi streaming) is read whole too, up to the
 * size of one largest message, and only while its bytes keep coming: a turn
 * of the event loop with no byte and no end (a client waiting for an answer
 * before it sends more, a long or slow stream) hands it to connect-es, which
 * serves messages as they come. So the lane takes the short streams a client
 * sends in one go, and no client waits on it.
 */
export function readRequest(
  { serving, route, shape }: Plan,
  call: LaneCall,
  exchange: Exchange,
  then: RequestOutcome,
): void {
  const isGrpc = shape === "grpc";
  const streamed = route.spec.kind === "client_streaming" || route.spec.kind === "bidi_streaming";
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
      return readBody(exchange.body, limit, resolve, resolve, meter, {
        refused: isGrpc ? serving.envelopeRefused : undefined,
        whileComing: streamed,
      });
    },
    (body) => {
      const inputs = Buffer.isBuffer(body) ? parse(route, shape, streamed, body) : undefined;
      if (inputs !== undefined) {
        then.read(inputs);
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

/** The request messages, or undefined when connect-es should say what is wrong with them. */
function parse(route: Route, shape: Shape, streamed: boolean, body: Buffer): unknown[] | undefined {
  const serialization = route.serialization.getI(shape !== "connect-json");
  try {
    if (shape !== "grpc") return [serialization.parse(body)];
    const inputs: unknown[] = [];
    // Uncompressed envelopes, back to back to the end: exactly one unless the request streams.
    for (let at = 0; at < body.length; ) {
      if (body.length - at < 5 || body[at] !== 0) return undefined;
      const end = at + 5 + body.readUInt32BE(at + 1);
      if (end > body.length) return undefined;
      inputs.push(serialization.parse(body.subarray(at + 5, end)));
      at = end;
    }
    return streamed || inputs.length === 1 ? inputs : undefined;
  } catch {
    // connect-es decodes it again and reports the failure its own way.
    return undefined;
  }
}
