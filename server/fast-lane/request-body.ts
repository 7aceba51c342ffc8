import type http from "node:http";
import type http2 from "node:http2";
import type { Readable } from "node:stream";
import type { BodyMeter } from "../request-body-budget.js";

export type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;

/**
 * Reads a whole request body of at most `limit` bytes into memory and calls
 * `done` with it. A longer body is not read further: `tooLong` is called at
 * once, while the rest may still be arriving; so it is as soon as `refused`
 * says what came so far will not do (a declared length over the limit). The
 * returned function stops the reading (the call ended meanwhile), leaving the
 * request paused. The bytes read are held on `meter`, which pauses the reading
 * while the connection or the server holds too many, and lets them go at the end.
 */
export function readBody(
  req: Readable,
  limit: number,
  done: (body: Buffer) => void,
  tooLong: (consumed: readonly Buffer[]) => void,
  meter: Pick<BodyMeter, "hold" | "whenRoom" | "close">,
  refused?: (consumed: readonly Buffer[], size: number) => boolean,
): () => void {
  const chunks: Buffer[] = [];
  let size = 0;
  const resume = () => req.resume();
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit || refused?.(chunks, size)) {
      req.off("data", onData);
      req.off("end", onEnd);
      req.pause();
      meter.close();
      tooLong(chunks);
    } else if (!meter.hold(chunk.length)) {
      req.pause();
      meter.whenRoom(resume);
    }
  };
  const onEnd = () => {
    req.off("data", onData);
    meter.close();
    done(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
  };
  req.on("data", onData);
  req.once("end", onEnd);
  return () => {
    req.off("data", onData);
    req.off("end", onEnd);
    req.pause();
    meter.close();
  };
}

/**
 * Makes `req` read as if nothing had been taken from it: whoever iterates it
 * next (connect-es) first gets `consumed`, then whatever is still to come,
 * or nothing more when `consumed` is the whole body.
 */
export function unread(req: NodeRequest, consumed: readonly Buffer[], whole: boolean): void {
  const rest = req[Symbol.asyncIterator].bind(req);
  req[Symbol.asyncIterator] = async function* () {
    yield* consumed;
    if (!whole) yield* rest();
  } as (typeof req)[typeof Symbol.asyncIterator];
}
