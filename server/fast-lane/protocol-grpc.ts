import type { ConnectError } from "@connectrpc/connect";
import { envelopeCompress } from "@connectrpc/connect/protocol";
import * as grpc from "@connectrpc/connect/protocol-grpc";
import * as grpcWeb from "@connectrpc/connect/protocol-grpc-web";
import { type Answering, cutIfStuck } from "./answering.js";
import type { LaneCall } from "./lane-call.js";
import { withRoom } from "./sized-binary.js";

/*
 * How connect-es's gRPC and gRPC-Web handlers write an answer: messages in
 * envelopes, compressed as negotiated, then the status: in trailers (gRPC),
 * or in a last envelope flagged as trailers (gRPC-Web, whose answer has no
 * HTTP trailers).
 */

/** The bytes before a message in its envelope: flags, then length. */
export const envelopeHead = 5;

/**
 * An envelope as connect-es's `envelopeCompress` and `encodeEnvelope` make
 * it: compressed as negotiated when it is large enough. `framed` is the
 * message after the room it was given for the envelope's head
 * (`Route.binaryAnswer`); uncompressed, the head is written there and the
 * message is not copied. A compressed one goes into a slice of Node's buffer
 * pool: a `Uint8Array` of its own took 0.6–0.8 µs on Node 24 against
 * 0.12–0.15 µs (by hand, a million 20-byte envelopes).
 */
function envelope(answering: Answering, framed: Uint8Array, flags = 0): Uint8Array | Promise<Uint8Array> {
  const { compression, plan } = answering;
  const { compressMinBytes } = plan.serving.opt;
  if (compression === null || framed.byteLength - envelopeHead < compressMinBytes) return headed(flags, framed);
  return envelopeCompress({ flags, data: framed.subarray(envelopeHead) }, compression, compressMinBytes).then(
    (compressed) => {
      const out = Buffer.allocUnsafe(envelopeHead + compressed.data.byteLength);
      out.set(compressed.data, envelopeHead);
      return headed(compressed.flags, out);
    },
  );
}

/** Writes the envelope's head (flags, then the length of what follows it) into the room before the message. */
function headed(flags: number, framed: Uint8Array): Uint8Array {
  const length = framed.byteLength - envelopeHead;
  framed[0] = flags;
  framed[1] = length >>> 24;
  framed[2] = (length >>> 16) & 0xff;
  framed[3] = (length >>> 8) & 0xff;
  framed[4] = length & 0xff;
  return framed;
}

/**
 * A unary call's answer: its one message (`framed`, see `envelope`), then the
 * status. A promise only while it is compressed: most answers are not, and
 * cost no turn of the microtask queue.
 */
export function answerUnary(answering: Answering, framed: Uint8Array): Promise<void> | undefined {
  const enveloped = envelope(answering, framed);
  return enveloped instanceof Uint8Array
    ? sendUnary(answering, enveloped)
    : enveloped.then((body) => sendUnary(answering, body));
}

function sendUnary(answering: Answering, body: Uint8Array): Promise<void> | undefined {
  if (answering.plan.shape === "grpc-web") {
    const writer = new StreamWriter(answering);
    writer.put(body);
    return writer.finish(undefined);
  }
  const { call, exchange } = answering;
  exchange.answer(200, call.nodeResponseHeader(), body, call.nodeResponseTrailer());
  cutIfStuck(answering);
  return undefined;
}

/** A unary call's error: no message, the status alone. */
export function answerError(answering: Answering, error: ConnectError): Promise<void> | undefined {
  if (answering.plan.shape === "grpc-web") return new StreamWriter(answering).finish(error);
  const { call, exchange } = answering;
  grpc.setTrailerStatus(call.responseTrailer, error);
  exchange.answer(200, call.nodeResponseHeader(), undefined, call.nodeResponseTrailer());
  cutIfStuck(answering);
  return undefined;
}

/** A streaming call's answer, a message at a time: the head goes with the first. */
export class StreamWriter {
  readonly #answering: Answering;
  readonly #trailersInBody: boolean;
  #headSent = false;

  constructor(answering: Answering) {
    this.#answering = answering;
    this.#trailersInBody = answering.plan.shape === "grpc-web";
  }

  /**
   * Sends one message (`framed`, see `envelope`); a promise to wait for while
   * the client does not read (or while it is compressed), else undefined:
   * most messages cost no turn of the microtask queue.
   */
  send(framed: Uint8Array): Promise<void> | undefined {
    const enveloped = envelope(this.#answering, framed);
    return enveloped instanceof Uint8Array ? this.#write(enveloped) : enveloped.then((bytes) => this.#write(bytes));
  }

  #write(envelope: Uint8Array): Promise<void> | undefined {
    if (this.put(envelope)) return undefined;
    const { call, exchange } = this.#answering;
    return call.until((resolve) => exchange.onceDrained(() => resolve(undefined)));
  }

  /** Sends an envelope, the head first if it has not gone; false if it waits in a buffer. */
  put(envelope: Uint8Array): boolean {
    this.#sendHead();
    return this.#answering.exchange.send(envelope);
  }

  #sendHead(): void {
    if (this.#headSent) return;
    const { call, exchange } = this.#answering;
    exchange.head(call.nodeResponseHeader(), !this.#trailersInBody);
    this.#headSent = true;
  }

  /**
   * Ends the answer with the call's trailers; `error`, if any, is its status.
   * A promise only while gRPC-Web's trailers are compressed.
   */
  finish(error: ConnectError | undefined): Promise<void> | undefined {
    const { call, exchange } = this.#answering;
    if (error !== undefined) grpc.setTrailerStatus(call.responseTrailer, error);
    if (!this.#trailersInBody) {
      this.#sendHead();
      exchange.finish(call.nodeResponseTrailer() ?? {});
      cutIfStuck(this.#answering);
      return undefined;
    }
    const last = envelope(this.#answering, trailerEnvelope(call), grpcWeb.trailerFlag);
    if (last instanceof Uint8Array) return this.#end(last);
    return last.then((bytes) => this.#end(bytes));
  }

  #end(last: Uint8Array): undefined {
    // Whether or not the client reads, the answer is over: what it has not read waits in the buffer.
    this.put(last);
    this.#answering.exchange.finish(undefined);
    cutIfStuck(this.#answering);
    return undefined;
  }
}

/**
 * gRPC-Web's trailers as connect-es's `trailerSerialize` writes them, a
 * `name: value` line each (names in lower case, as `Headers` gives them),
 * after room for the envelope's head. A trailer no one has read is still the
 * one the call started with (its status alone).
 */
function trailerEnvelope(call: LaneCall): Uint8Array {
  const read = call.readResponseTrailer();
  if (read !== undefined) return withRoom(grpcWeb.trailerSerialize(read), envelopeHead);
  let text = "";
  for (const [name, value] of Object.entries(call.nodeResponseTrailer() ?? {})) {
    text += `${name.toLowerCase()}: ${value}\r\n`;
  }
  const framed = Buffer.allocUnsafe(envelopeHead + Buffer.byteLength(text));
  framed.write(text, envelopeHead);
  return framed;
}
