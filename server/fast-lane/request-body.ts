import type http from "node:http";
import type http2 from "node:http2";
import type { Readable } from "node:stream";
import type { BodyMeter } from "../request-body-budget.js";

export type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;

/** A body read whole: its chunks as they came (not joined: a parse may join them in a shared buffer), and their size. */
export interface WholeBody {
  readonly chunks: readonly Buffer[];
  readonly size: number;
}

export interface ReadBodyOptions {
  /** Whether what came so far will not do (a declared length over the limit): stop at once. */
  readonly refused?: (consumed: readonly Buffer[], size: number) => boolean;
  /** Told of each chunk as it is read. */
  readonly onChunk?: (chunk: Buffer) => void;
  /**
   * With it, a turn of the event loop that brings neither a byte nor the end
   * stops the reading, unless this says to wait on (until the next bytes).
   */
  readonly waitsThroughPause?: () => boolean;
}

/**
 * Reads a whole request body of at most `limit` bytes into memory and calls
 * `done` with its chunks. A longer body is not read further: `stopped` is called at
 * once with what came so far, while the rest may still be arriving; so it is
 * when `options` say to stop (the request stays paused, for connect-es to
 * read on). The returned function gives up the reading (the call ended
 * meanwhile): the rest flows away unread, so that the stream closes once the
 * client ends it (paused, it would stay open, and its connection with it,
 * however the call was answered). The bytes read are held
 * on `meter`, which pauses the reading while the connection or the server
 * holds too many, and lets them go at the end.
 */
export function readBody(
  req: Readable,
  limit: number,
  done: (body: WholeBody) => void,
  stopped: (consumed: readonly Buffer[]) => void,
  meter: Pick<BodyMeter, "hold" | "whenRoom" | "close">,
  options: ReadBodyOptions = {},
): () => void {
  const chunks: Buffer[] = [];
  let size = 0;
  let reading = true;
  const stop = () => {
    reading = false;
    req.off("data", onData);
    req.off("end", onEnd);
    req.pause();
    meter.close();
  };
  const { waitsThroughPause } = options;
  // Armed at the start and by each read, never while waiting: a stream that
  // sends nothing costs no turn of the event loop (polling kept a core busy).
  let armed = false;
  let seen = 0;
  const watch = () => {
    armed = false;
    if (!reading) return;
    if (size !== seen) arm();
    else if (!waitsThroughPause?.()) {
      stop();
      stopped(chunks);
    }
  };
  const arm = () => {
    if (armed || waitsThroughPause === undefined) return;
    armed = true;
    seen = size;
    setImmediate(watch);
  };
  const onData = (chunk: Buffer) => {
    options.onChunk?.(chunk);
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit || options.refused?.(chunks, size)) {
      stop();
      stopped(chunks);
      return;
    }
    arm();
    if (!meter.hold(chunk.length)) {
      req.pause();
      meter.whenRoom(() => req.resume());
    }
  };
  // Left on after the end, when no more comes: taking them off costs an event on
  // an HTTP/2 stream, whose front takes every listener off at its close; other
  // requests' (HTTP/1.1, HTTP/2 compatibility) go with the request.
  const onEnd = () => {
    reading = false;
    meter.close();
    done({ chunks, size });
  };
  req.on("data", onData);
  req.on("end", onEnd);
  arm();
  return () => {
    stop();
    req.resume();
  };
}

/**
 * Makes `req` read as if nothing had been taken from it: whoever iterates it
 * next (connect-es) first gets `consumed`, then whatever is still to come,
 * or nothing more when `consumed` is the whole body. `paused` is the stream
 * under `req` that the lane paused (an HTTP/2 stream under its compatibility
 * request): Node's request only listens for its "data", which a paused stream
 * never sends, so it flows again once the request reads on.
 */
export function unread(req: NodeRequest, consumed: readonly Buffer[], whole: boolean, paused?: Readable): void {
  const rest = req[Symbol.asyncIterator].bind(req);
  req[Symbol.asyncIterator] = async function* () {
    yield* consumed;
    if (whole) return;
    // After the request's first read of the rest, which starts its listening, in this same turn.
    if (paused !== undefined) process.nextTick(() => paused.resume());
    yield* rest();
  } as (typeof req)[typeof Symbol.asyncIterator];
}
