import http2 from "node:http2";

export interface ResetFloodOptions {
  /** Streams a connection may see reset at once before the rate applies. */
  readonly burst: number;
  /** Resets per second a connection may keep up. */
  readonly perSecond: number;
}

/** A token bucket of resets, one per connection. */
interface Resets {
  tokens: number;
  at: number;
}

export interface ResetFloodGuard {
  /**
   * What counts a stream of `session` against it if the stream closed with
   * RST_STREAM: made once per connection, called from each stream's "close"
   * (by then the stream no longer has its session).
   */
  counter(session: http2.ServerHttp2Session): (stream: http2.ServerHttp2Stream) => void;
  /**
   * Calls `serve` now, or a turn of the event loop later while the stream's
   * connection has reset streams lately; not at all if the stream is gone by then.
   */
  deferIfResetting(stream: http2.ServerHttp2Stream, serve: () => void): void;
}

/**
 * Rapid reset (CVE-2023-44487): a client opens streams and resets each at
 * once, so that the server starts work for every stream and the client never
 * waits for any. Node's own guard ends such a connection only after about a
 * thousand resets, and Node 20 ignores the `streamResetBurst` and
 * `streamResetRate` options that tune it on newer Nodes (nodejs/node#54875;
 * seen: a burst of 10 still let 1,054 streams through on Node 20.20, and Node
 * 24 ends the connection with INTERNAL_ERROR rather than ENHANCE_YOUR_CALM).
 *
 * So the front counts, for each connection, the streams that close with
 * RST_STREAM (a token bucket of `burst` refilled at `perSecond`), and closes a
 * connection that outruns it with GOAWAY ENHANCE_YOUR_CALM. Node does not tell
 * who sent the reset: the streams the server resets itself (those whose client
 * stopped reading their answers, server/call-deadline.ts) count too, which only
 * a client that abuses the server's buffers would notice. And while a
 * connection has reset streams recently (its bucket is not full), its new
 * streams are served a turn of the event loop later: Node parses a whole read
 * of frames one frame at a time, running each stream's handler before it
 * parses the RST_STREAM right behind its HEADERS, so a stream reset in the same
 * read is found reset and never served. An honest connection, with a full
 * bucket, pays nothing.
 */
export function createResetFloodGuard(options: ResetFloodOptions): ResetFloodGuard {
  const buckets = new WeakMap<http2.Http2Session, Resets>();
  const bucketOf = (session: http2.Http2Session) => {
    let bucket = buckets.get(session);
    if (bucket === undefined) {
      bucket = { tokens: options.burst, at: performance.now() };
      buckets.set(session, bucket);
    }
    return bucket;
  };
  /** Tokens after refilling for the time passed; a full bucket (every honest connection's) costs no clock read. */
  const refill = (bucket: Resets) => {
    if (bucket.tokens >= options.burst) return bucket.tokens;
    const now = performance.now();
    bucket.tokens = Math.min(options.burst, bucket.tokens + ((now - bucket.at) / 1000) * options.perSecond);
    bucket.at = now;
    return bucket.tokens;
  };

  return {
    counter(session) {
      const bucket = bucketOf(session);
      return (stream) => {
        if (stream.rstCode === http2.constants.NGHTTP2_NO_ERROR || session.destroyed) return;
        // A full bucket starts refilling from its first reset.
        if (bucket.tokens >= options.burst) bucket.at = performance.now();
        if (refill(bucket) >= 1) {
          bucket.tokens -= 1;
          return;
        }
        // destroy() flushes a final GOAWAY with the code; without an error it would send NO_ERROR.
        session.destroy(new Error("the client reset streams too fast"), http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      };
    },
    deferIfResetting(stream, serve) {
      const session = stream.session;
      if (session === undefined) return;
      if (refill(bucketOf(session)) >= options.burst) {
        serve();
        return;
      }
      setImmediate(() => {
        if (!stream.destroyed && !stream.closed) serve();
      });
    },
  };
}
