import type http from "node:http";
import type http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;

/** The one flag a request's envelope may carry, in every enveloped protocol: the message is compressed. */
const compressed = 0b1;

/** Content types whose bodies are a series of 5-byte-headed envelopes (gRPC, gRPC-Web, Connect streaming). */
const enveloped = /^application\/(grpc|grpc-web|connect)(\+|;|$)/;

/**
 * Refuses a request envelope whose flags are anything but "compressed":
 * a gRPC flag byte other than 0 or 1, a gRPC-Web trailer flag (0x80) or a
 * Connect end-stream flag (0b10) from the client, which only a server sends.
 * connect-es reads only the bits it knows and skips a request's end-stream
 * and trailer envelopes, so a malformed stream would be served as a good one.
 *
 * The code is `internal`, not `invalid_argument`: it is what grpc-go answers
 * ("grpc: received unexpected payload format") and connect-go too ("protocol
 * error: invalid envelope flags"), and what the gRPC spec's status-code table
 * gives for a broken protocol (as for a message flagged compressed with no
 * encoding, which connect-es already calls `internal`). A client that sends
 * such a frame has a bug in its protocol stack, not in its request.
 *
 * Wraps the request's body iteration, which connect-es reads with
 * `for await`: the error reaches connect-es as a failed read of the body, at
 * the bad envelope, after the bytes of the good messages before it.
 */
export function refuseBadEnvelopeFlags<R extends NodeRequest>(req: R): R {
  if (!enveloped.test(req.headers["content-type"] ?? "")) return req;
  const iterate = req[Symbol.asyncIterator].bind(req);
  // A plain iterator, not an async generator: ~1.3 µs more per body rather than ~3 µs.
  req[Symbol.asyncIterator] = (() => checkedChunks(iterate())) as R[typeof Symbol.asyncIterator];
  return req;
}

function checkedChunks(inner: AsyncIterator<unknown>): AsyncIterableIterator<unknown> {
  const reader = new EnvelopeHeaderReader();
  let refusal: ConnectError | undefined;
  const check = (result: IteratorResult<unknown>): IteratorResult<unknown> => {
    if (result.done === true) return result;
    const chunk = result.value as Buffer;
    const bad = reader.firstBadFlag(chunk);
    if (bad === undefined) return result;
    refusal = badFlagsError(bad.flags);
    // The caller stops at the error: let go of the request's own iterator (its failure is no news).
    inner.return?.().catch(() => {});
    if (bad.at === 0) throw refusal;
    return { done: false, value: chunk.subarray(0, bad.at) };
  };
  const iterator: AsyncIterableIterator<unknown> = {
    next() {
      if (refusal !== undefined) return Promise.reject(refusal);
      return inner.next().then(check);
    },
    return(value?: unknown) {
      return inner.return?.(value) ?? Promise.resolve({ done: true, value });
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/** Whether a request envelope's flag byte carries anything but "compressed". */
export function isBadFlags(flags: number): boolean {
  return (flags & ~compressed) !== 0;
}

/** The error a request envelope with such flags gets, after the messages before it. */
export function badFlagsError(flags: number): ConnectError {
  return new ConnectError(`protocol error: invalid envelope flags ${flags} in a request`, Code.Internal);
}

/** Follows envelope headers through a body's chunks, however they are cut. */
export class EnvelopeHeaderReader {
  /** Bytes of the current header seen (0 to 5); 5 while in a message. */
  #headerSeen = 0;
  #length = 0;
  /** Message bytes still to skip. */
  #remaining = 0;

  /** Where in `chunk` the first envelope with a flag other than "compressed" starts, and its flags; or undefined. */
  firstBadFlag(chunk: Uint8Array): { at: number; flags: number } | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.#remaining > 0) {
        const skip = Math.min(this.#remaining, chunk.length - i);
        this.#remaining -= skip;
        i += skip;
        continue;
      }
      const byte = chunk[i];
      if (this.#headerSeen === 0) {
        if (isBadFlags(byte)) return { at: i, flags: byte };
        this.#length = 0;
      } else {
        this.#length = this.#length * 256 + byte;
      }
      this.#headerSeen++;
      i++;
      if (this.#headerSeen === 5) {
        this.#headerSeen = 0;
        this.#remaining = this.#length;
      }
    }
    return undefined;
  }
}
