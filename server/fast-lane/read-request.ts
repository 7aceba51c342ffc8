import type { ConnectError } from "@connectrpc/connect";
import { EnvelopeProgress } from "../envelope-progress.js";
import { connectionOf } from "../request-body-budget.js";
import { isEnveloped, type Plan, type Route, type Shape } from "./choose-call.js";
import { envelopeHead } from "./declared-length.js";
import type { Exchange } from "./exchange.js";
import type { LaneCall } from "./lane-call.js";
import { LiveRequests } from "./live-requests.js";
import { plainJoined } from "./message-parts.js";
import { readBody, type WholeBody } from "./request-body.js";

/**
 * The most of a streaming request the lane reads whole: what a client may
 * send before the server grants more flow-control window. A longer stream
 * is served live, a message at a time; held whole, many such streams at once
 * filled the server's request budget, and new calls were refused
 * (resource_exhausted).
 */
const shortStreamBytes = 65_535;

/** What becomes of a call's request body. */
export interface RequestOutcome {
  /** The request messages, decoded: one, or for a streaming request any number. */
  read(inputs: unknown[]): void;
  /** A streaming request served as its messages come (it paused, or runs long): those read so far, then the rest. */
  streaming(requests: AsyncIterable<unknown>): void;
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
 * A streaming request (client or bidi streaming) is read whole too, up to
 * `shortStreamBytes`, and only while its bytes keep coming: a turn of the
 * event loop with no byte and no end between two messages (a client waiting
 * for an answer before it sends more, a slow stream), or a longer stream,
 * makes it live: the call starts with the bytes read so far, and its
 * messages are read as they come (live-requests.ts). Inside a message the
 * whole reading waits on (the client is still sending it; its bytes may wait
 * for a flow-control window), but for bidi only until the first message is
 * in, after which the client may be waiting for its answer; a client stream
 * it also waits for before its first byte (its answer comes at its end
 * anyway). Each message is timed from its first byte, as connect-es's reads
 * are. So the short streams a client sends in one go are served from a
 * list, and no client waits on the lane.
 */
export function readRequest(
  { serving, route, shape }: Plan,
  call: LaneCall,
  exchange: Exchange,
  then: RequestOutcome,
): void {
  const enveloped = isEnveloped(shape);
  const streamed = route.spec.kind === "client_streaming" || route.spec.kind === "bidi_streaming";
  const limit = streamed
    ? Math.min(shortStreamBytes, serving.opt.readMaxBytes + 5)
    : enveloped
      ? serving.opt.readMaxBytes + 5
      : serving.opt.readMaxBytes;
  const budget = serving.options.bodyBudget;
  try {
    budget.admit();
  } catch (e) {
    call.end(e);
  }
  call.wait<WholeBody | readonly Buffer[]>(
    // The whole body; or, past the limit or at an envelope the lane does not serve, the part read so far.
    (resolve) => {
      const meter = budget.meter(connectionOf(exchange.body));
      const expire = (error: ConnectError) => call.end(error);
      const refused = enveloped ? serving.envelopeRefused : undefined;
      if (!streamed) {
        meter.startClock(expire);
        return readBody(exchange.body, limit, resolve, resolve, meter, { refused });
      }
      // As connect-es's reads are timed (server/metered-request-body.ts): each message from its first byte.
      const progress = new EnvelopeProgress();
      const messageIn = () => meter.stopClock();
      return readBody(exchange.body, limit, resolve, resolve, meter, {
        refused,
        onChunk(chunk) {
          progress.feed(chunk, messageIn);
          if (progress.inMessage > 0 && !meter.clockStarted) meter.startClock(expire);
        },
        waitsThroughPause:
          route.spec.kind === "client_streaming"
            ? // Its answer comes after its last message anyway: only a pause after a whole message may be a slow stream.
              () => progress.inMessage > 0 || progress.complete === 0
            : // A bidi client may wait for an answer once a message is in, or for the server to speak first.
              () => progress.inMessage > 0 && progress.complete === 0,
      });
    },
    (body) => {
      const whole = isWhole(body);
      const inputs = whole ? parse(route, shape, streamed, body) : undefined;
      if (inputs !== undefined) {
        then.read(inputs);
        return;
      }
      if (streamed && !whole) {
        then.streaming(
          new LiveRequests({
            body: exchange.body,
            consumed: body,
            readMaxBytes: serving.opt.readMaxBytes,
            parse: route.binaryRequestFromParts,
            meter: budget.meter(connectionOf(exchange.body)),
            onCallEnd: (listener) => call.whenEnded(listener),
          }),
        );
        return;
      }
      call.end();
      try {
        exchange.handOver(whole ? body.chunks : body, whole);
      } catch (e) {
        then.failed(e);
      }
    },
    (reason) => then.interrupted(reason),
  );
}

function isWhole(body: WholeBody | readonly Buffer[]): body is WholeBody {
  return "chunks" in body;
}

/** The request messages, or undefined when connect-es should say what is wrong with them. */
function parse(route: Route, shape: Shape, streamed: boolean, { chunks, size }: WholeBody): unknown[] | undefined {
  try {
    // One binary message is parsed from the parts it came in (message-parts.ts).
    if (shape === "connect-proto") return [route.binaryRequestFromParts(chunks, size)];
    if (isEnveloped(shape) && !streamed) return oneEnvelope(route, chunks, size);
    // The messages keep views of it for their bytes and unknown fields: of a plain Uint8Array, as connect-es's are.
    const body = plainJoined(chunks, size);
    if (shape === "connect-json") return [route.jsonRequest(body)];
    const inputs: unknown[] = [];
    // A stream's uncompressed envelopes, back to back to the end.
    for (let at = 0; at < body.length; ) {
      if (body.length - at < 5 || body[at] !== 0) return undefined;
      const length = ((body[at + 1] << 24) | (body[at + 2] << 16) | (body[at + 3] << 8) | body[at + 4]) >>> 0;
      const end = at + 5 + length;
      if (end > body.length) return undefined;
      inputs.push(route.binaryRequest(body.subarray(at + 5, end)));
      at = end;
    }
    return inputs;
  } catch {
    // connect-es decodes it again and reports the failure its own way.
    return undefined;
  }
}

/** The one message of an unflagged envelope that is the whole body, or undefined. */
function oneEnvelope(route: Route, chunks: readonly Buffer[], size: number): unknown[] | undefined {
  const head = envelopeHead(chunks, size);
  if (head === undefined || head[0] !== 0 || head.readUInt32BE(1) !== size - 5) return undefined;
  return [route.binaryRequestFromParts(partsAfter(chunks, 5), size - 5)];
}

/** The bytes of `chunks` after their first `skip`, as views. */
function partsAfter(chunks: readonly Buffer[], skip: number): Buffer[] {
  const parts: Buffer[] = [];
  for (const chunk of chunks) {
    if (skip >= chunk.length) skip -= chunk.length;
    else {
      parts.push(skip === 0 ? chunk : chunk.subarray(skip));
      skip = 0;
    }
  }
  return parts;
}
