import type { ConnectError } from "@connectrpc/connect";
import { envelopeCompress } from "@connectrpc/connect/protocol";
import * as grpc from "@connectrpc/connect/protocol-grpc";
import { type Answering, cutIfStuck } from "./answering.js";

/*
 * How connect-es's gRPC handler writes an answer: messages in envelopes,
 * compressed as negotiated, the status in trailers.
 */

/** The bytes before a message in its envelope: flags, then length. */
export const envelopeHead = 5;

/**
 * A message's envelope as connect-es's `envelopeCompress` and
 * `encodeEnvelope` make it: compressed as negotiated when it is large enough.
 * `framed` is the message after the room it was given for the envelope's
 * head (`Route.binaryAnswer`); uncompressed, the head is written there and
 * the message is not copied. A compressed one goes into a slice of Node's
 * buffer pool: a `Uint8Array` of its own took 0.6–0.8 µs on Node 24 against
 * 0.12–0.15 µs (by hand, a million 20-byte envelopes).
 */
function envelope(answering: Answering, framed: Uint8Array): Uint8Array | Promise<Uint8Array> {
  const { compression, plan } = answering;
  const { compressMinBytes } = plan.serving.opt;
  if (compression === null || framed.byteLength - envelopeHead < compressMinBytes) return headed(0, framed);
  return envelopeCompress({ flags: 0, data: framed.subarray(envelopeHead) }, compression, compressMinBytes).then(
    ({ flags, data }) => {
      const compressed = Buffer.allocUnsafe(envelopeHead + data.byteLength);
      compressed.set(data, envelopeHead);
      return headed(flags, compressed);
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

/** A unary call's answer: its one message (`framed`, see `envelope`), then the trailers. */
export async function answerUnary(answering: Answering, framed: Uint8Array): Promise<void> {
  const { call, exchange } = answering;
  // Most answers are not compressed: no turn of the microtask queue for them.
  const enveloped = envelope(answering, framed);
  const body = enveloped instanceof Uint8Array ? enveloped : await enveloped;
  exchange.answer(200, call.nodeResponseHeader(), body, call.nodeResponseTrailer());
  cutIfStuck(answering);
}

/** A unary call's error: headers and trailers only. */
export function answerError(answering: Answering, error: ConnectError): void {
  const { call, exchange } = answering;
  grpc.setTrailerStatus(call.responseTrailer, error);
  exchange.answer(200, call.nodeResponseHeader(), undefined, call.nodeResponseTrailer());
  cutIfStuck(answering);
}

/** A streaming call's answer, a message at a time: the head goes with the first. */
export class StreamWriter {
  readonly #answering: Answering;
  #headSent = false;

  constructor(answering: Answering) {
    this.#answering = answering;
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
    const { call, exchange } = this.#answering;
    if (!this.#headSent) {
      exchange.head(call.nodeResponseHeader());
      this.#headSent = true;
    }
    if (exchange.send(envelope)) return undefined;
    return call.until((resolve) => exchange.onceDrained(() => resolve(undefined)));
  }

  /** Ends the answer with the call's trailers; `error`, if any, is its status. */
  finish(error: ConnectError | undefined): void {
    const { call, exchange } = this.#answering;
    if (error !== undefined) grpc.setTrailerStatus(call.responseTrailer, error);
    if (!this.#headSent) exchange.head(call.nodeResponseHeader());
    exchange.finish(call.nodeResponseTrailer() ?? {});
    cutIfStuck(this.#answering);
  }
}
