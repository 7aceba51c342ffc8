import http2 from "node:http2";
import { Code, ConnectError, type ContextValues, createContextKey, type HandlerContext } from "@connectrpc/connect";

export interface CallDeadlineOptions {
  /** Longest a call may run: a call with no deadline, or a longer one, gets this one. */
  readonly maxTimeoutMs: number;
  /** Procedures (`/package.Service/Method`) meant to stay open until cancelled, which keep a missing deadline. */
  readonly unbounded: readonly string[];
  /** How long an HTTP/2 stream may stay open after its call ended before it is reset. */
  readonly stuckStreamGraceMs: number;
}

export interface CallDeadline {
  /**
   * For the front, before connect-es or the fast lane parse them: rewrites a
   * `grpc-timeout` or `connect-timeout-ms` that asks for more than the maximum
   * to ask for the maximum. connect-es refuses a deadline of 2^31 ms or more
   * with invalid_argument, and its timer for one prints TimeoutOverflowWarning
   * on stderr; capped here, every deadline is one a timer holds.
   */
  capTimeoutHeaders(headers: http2.IncomingHttpHeaders): void;
  /** For connect-fastify's `contextValues`: lets the call's end cut the reading of `body`. */
  watchBody(values: ContextValues, body: AsyncIterable<unknown>): ContextValues;
  /** For the router's `requestGate`: runs before the body is read, with the call's context. */
  requestGate(context: HandlerContext): void;
  /**
   * For a caller that keeps its own timer (the fast lane): when a call of
   * `procedure` whose client asked for `askedMs` must end, and why; undefined
   * when it may run until cancelled.
   */
  limit(procedure: string, askedMs: number | undefined): CallLimit | undefined;
  /** For a caller that ends calls itself: a call on `stream` just ended; reset the stream if it stays open. */
  callEnded(stream: http2.ServerHttp2Stream): void;
}

export interface CallLimit {
  readonly timeoutMs: number;
  readonly reason: () => ConnectError;
  /** The same limit for every call that gets it, counted from each call's start: one timer may keep them all. */
  readonly shared?: true;
}

const clientDeadline = () => new ConnectError("the operation timed out", Code.DeadlineExceeded);
const serverDeadline = () => new ConnectError("the server's maximum deadline was exceeded", Code.DeadlineExceeded);

type FollowSignal = (signal: AbortSignal) => void;

const followSignalKey = createContextKey<FollowSignal | undefined>(undefined, {
  description: "ends the reading of a call's request body when the call's signal aborts",
});

/**
 * Makes every call end by its deadline: the client's (`grpc-timeout`,
 * `connect-timeout-ms`), capped by the server's maximum.
 *
 * connect-es aborts the handler's signal when a deadline passes, but a call
 * waiting for request bytes that never come (a client stream that sends
 * nothing, a unary call whose body stalls) does not look at that signal: it
 * would wait as long as the client keeps the stream open. Here the reading of
 * the body rejects with the signal's reason the moment it aborts, so the call
 * ends with `deadline_exceeded` on time; and in the same way with
 * `unavailable` when the shutdown grace runs out, or at once when the client
 * goes away.
 */
export function createCallDeadline(options: CallDeadlineOptions): CallDeadline {
  const unbounded = new Set(options.unbounded);
  const capped: CallLimit = { timeoutMs: options.maxTimeoutMs, reason: serverDeadline, shared: true };
  const cutWhenStuck = createStuckStreamCutter(options.stuckStreamGraceMs);
  const maxGrpcTimeout = grpcTimeout(options.maxTimeoutMs);
  const maxConnectTimeout = String(options.maxTimeoutMs);
  return {
    capTimeoutHeaders(headers) {
      const asked = headers["grpc-timeout"];
      if (asked !== undefined && grpcTimeoutMs(asked) > options.maxTimeoutMs) headers["grpc-timeout"] = maxGrpcTimeout;
      const askedMs = headers["connect-timeout-ms"];
      if (askedMs !== undefined && connectTimeoutMs(askedMs) > options.maxTimeoutMs) {
        headers["connect-timeout-ms"] = maxConnectTimeout;
      }
    },
    watchBody(values, body) {
      const follow = abortableIteration(body);
      return values.set(followSignalKey, (signal) => {
        follow(signal);
        if (isHttp2Request(body)) signal.addEventListener("abort", () => cutWhenStuck(body.stream), { once: true });
      });
    },
    requestGate(context) {
      context.values.get(followSignalKey)?.(context.signal);
      const cap = serverCap(`/${context.service.typeName}/${context.method.name}`, context.timeoutMs());
      if (cap === undefined) return;
      assertAbortable(context);
      // connect-es aborts every call's context when the call ends, whatever
      // its outcome: that clears the timer, so none outlives its call.
      const timer = setTimeout(() => context.abort(serverDeadline()), cap);
      context.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
    },
    callEnded: cutWhenStuck,
    limit(procedure, askedMs) {
      if (serverCap(procedure, askedMs) !== undefined) return capped;
      return askedMs === undefined ? undefined : { timeoutMs: askedMs, reason: clientDeadline };
    },
  };

  /** The server's own deadline for a call, when the client's is missing or longer than allowed. */
  function serverCap(procedure: string, askedMs: number | undefined): number | undefined {
    if (askedMs === undefined && unbounded.has(procedure)) return undefined;
    if (askedMs !== undefined && askedMs <= options.maxTimeoutMs) return undefined;
    return options.maxTimeoutMs;
  }
}

const grpcUnitMs: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 };

/** A `grpc-timeout` in milliseconds, as connect-es parses it; NaN for one it refuses as malformed. */
function grpcTimeoutMs(value: string | string[]): number {
  const parsed = typeof value === "string" ? /^(\d{1,8})([HMSmun])$/.exec(value) : null;
  return parsed === null ? Number.NaN : Number(parsed[1]) * (grpcUnitMs[parsed[2] as string] as number);
}

/** A `connect-timeout-ms` in milliseconds, as connect-es parses it; NaN for one it refuses as malformed. */
function connectTimeoutMs(value: string | string[]): number {
  return typeof value === "string" && /^\d{1,10}$/.test(value) ? Number(value) : Number.NaN;
}

/** `ms` as a `grpc-timeout`, which has room for 8 digits: whole seconds (rounded down) past that. */
function grpcTimeout(ms: number): string {
  return ms < 1e8 ? `${ms}m` : `${Math.floor(ms / 1_000)}S`;
}

/**
 * connect-es hands the gate the context it made with `createHandlerContext`,
 * which can abort the call, though its type does not say so.
 */
function assertAbortable(
  context: HandlerContext,
): asserts context is HandlerContext & { abort(reason?: unknown): void } {
  if (typeof (context as { abort?: unknown }).abort !== "function") {
    throw new Error("connect-es no longer gives the request gate an abortable context");
  }
}

/**
 * Replaces `source`'s async iterator with one whose pending read rejects with
 * a signal's reason as soon as that signal aborts. The signal is handed over
 * later, through the returned function, before the first read.
 */
function abortableIteration(source: AsyncIterable<unknown>): FollowSignal {
  let signal: AbortSignal | undefined;
  const iterate = source[Symbol.asyncIterator].bind(source);
  Object.defineProperty(source, Symbol.asyncIterator, {
    configurable: true,
    writable: true,
    value: () => {
      const inner = iterate();
      // One slot, not a race per read: a long stream must not pile up listeners.
      let rejectPending: ((reason: unknown) => void) | undefined;
      const onAbort = () => rejectPending?.(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      const iterator: AsyncIterator<unknown> & AsyncIterable<unknown> = {
        next() {
          if (signal?.aborted) return Promise.reject(signal.reason);
          return new Promise((resolve, reject) => {
            rejectPending = reject;
            inner.next().then(
              (result) => {
                rejectPending = undefined;
                resolve(result);
              },
              (error: unknown) => {
                rejectPending = undefined;
                reject(error);
              },
            );
          });
        },
        return(value?: unknown) {
          signal?.removeEventListener("abort", onAbort);
          return inner.return?.(value) ?? Promise.resolve({ done: true, value });
        },
        [Symbol.asyncIterator]() {
          return iterator;
        },
      };
      return iterator;
    },
  });
  return (s) => {
    signal = s;
  };
}

function isHttp2Request(body: AsyncIterable<unknown>): body is http2.Http2ServerRequest {
  return body instanceof http2.Http2ServerRequest;
}

/**
 * A call's end cannot close its HTTP/2 stream while a write waits for a
 * client that never reads (flow control holds it): the stream, its buffers
 * and its handler would live as long as the client likes. Streams still open
 * `graceMs` after their call ended are reset with CANCEL; one timer sweeps
 * them all, and only while there are any.
 */
function createStuckStreamCutter(graceMs: number): (stream: http2.ServerHttp2Stream) => void {
  const ended = new Map<http2.ServerHttp2Stream, number>();
  let sweep: NodeJS.Timeout | undefined;
  const cutStuck = () => {
    const now = performance.now();
    for (const [stream, at] of ended) {
      if (stream.closed) ended.delete(stream);
      else if (now - at >= graceMs) {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        ended.delete(stream);
      }
    }
    if (ended.size === 0) {
      clearInterval(sweep);
      sweep = undefined;
    }
  };
  return (stream) => {
    if (stream.closed) return;
    ended.set(stream, performance.now());
    sweep ??= setInterval(cutStuck, graceMs).unref();
  };
}
