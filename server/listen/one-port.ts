import { EventEmitter } from "node:events";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import { keepSessionAlive } from "./http2-keepalive.js";
import { classifyPreface } from "./http2-preface.js";
import { ProxySafeResponse } from "./proxy-safe-response.js";
import { createResetFloodGuard, type ResetFloodGuard, type ResetFloodOptions } from "./reset-flood-guard.js";
import { useStreamTable } from "./stream-table.js";

export type RequestListener = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** How much of an unread HTTP/1.1 request body is discarded to keep its connection. */
const maxDrainBytes = 8 * 1024 * 1024;

/**
 * TLS 1.3's suites (all forward-secret AEAD) and, for TLS 1.2, ECDHE with
 * AES-GCM or ChaCha20-Poly1305 only: no RSA key exchange, no CBC, no SHA-1
 * MACs (Mozilla's "intermediate" list, less its finite-field DHE).
 */
const forwardSecretAeadCiphers = [
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

/**
 * Sees each HTTP/2 stream before Node builds its compatibility request and
 * response: returns true if it serves the stream itself, or false to leave it
 * to the request listener. `compat` hands a stream it took back to the
 * request listener after all. Every stream comes with the front's listener
 * for its "error" (a reset, a failed session): a taker needs none of its own.
 * Once a stream has closed, the front takes every other listener off it
 * (`forgetListeners`): a taker's listeners hear "close", and nothing after.
 */
export type StreamTaker = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  rawHeaders: string[],
  compat: () => void,
) => boolean;

export interface OnePortOptions {
  /**
   * Only with one does the front reach past Node's public API: it takes over
   * node:http2's private "stream" listener to see streams first. Without one
   * it serves HTTP/2 through the "request" event alone.
   */
  readonly takeStream?: StreamTaker;
  /**
   * Called with every HTTP/2 stream as it arrives, and its connection's
   * socket: a stream the client resets at once has lost its way to the
   * socket by the time anything else sees it.
   */
  readonly onStream?: (
    stream: http2.ServerHttp2Stream,
    peer: { readonly remoteAddress?: string; readonly remotePort?: number },
  ) => void;
  /** Connections open at once; past it, a new connection is closed as soon as it is accepted (a "drop" event). Default: no limit. */
  readonly maxConnections?: number;
  /** PEM certificate and key: with them the port speaks TLS and picks the protocol by ALPN. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  readonly http1: {
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
    readonly maxHeaderBytes: number;
  };
  readonly http2: {
    readonly maxConcurrentStreams: number;
    readonly maxHeaderListBytes: number;
    readonly idleTimeoutMs: number;
    readonly keepAliveIntervalMs: number;
    readonly keepAliveTimeoutMs: number;
    /** How fast a connection may reset streams before it is closed with ENHANCE_YOUR_CALM. */
    readonly resets: ResetFloodOptions;
    /** Node keeps each connection's streams in a `StreamTable` (stream-table.ts) rather than its own `Map`. */
    readonly streamTable: boolean;
  };
}

/** What a front offers besides the `net.Server` Fastify listens with. */
export interface OnePortServer extends net.Server {
  /** Destroys every connection still open: the last step of a shutdown whose grace ran out. */
  destroyConnections(): void;
}

/**
 * One listening socket for HTTP/1.1 and HTTP/2 alike. Over cleartext it looks
 * for the HTTP/2 connection preface (prior knowledge, as gRPC clients send it);
 * over TLS it follows ALPN. Each connection is then handed to an `http` or an
 * `http2` server that never listens itself.
 *
 * `close()` stops accepting, sends GOAWAY to every HTTP/2 session (their open
 * streams may finish) and closes HTTP/1.1 connections as soon as they are idle.
 */
export function createOnePortServer(listener: RequestListener, options: OnePortOptions): OnePortServer {
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  let closing = false;

  const h1 = http.createServer({
    IncomingMessage: KeptIncomingMessage,
    ServerResponse: EarlyAnswerResponse,
    maxHeaderSize: options.http1.maxHeaderBytes,
    // Node checks the header and request timeouts only this often (30 s by
    // default): a timeout shorter than the check would go unenforced.
    connectionsCheckingInterval: Math.min(1_000, options.http1.headersTimeoutMs),
  });
  h1.headersTimeout = options.http1.headersTimeoutMs;
  h1.requestTimeout = options.http1.requestTimeoutMs;
  h1.keepAliveTimeout = options.http1.keepAliveTimeoutMs;
  h1.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (closing) res.shouldKeepAlive = false;
    // A response finishes once: `on` spares the wrapper `once` makes.
    res.on("finish", drainUnread);
    // Node's parser takes any HTTP/x.y request line; only HTTP/2's preface leads to the http2 server.
    if (req.httpVersionMajor !== 1) {
      refuseVersion(res);
      return;
    }
    // Node itself refuses HTTP/1.1 requests without a Host; HTTP/1.0 ones may lack it.
    const host = req.headers.host;
    if (host !== undefined && !makesUrl(req.socket, host)) {
      refuseAuthority(res);
      return;
    }
    listener(req, res);
  });
  // Node starts the header/request timeout checks and the connection tracking
  // that closeIdleConnections() needs on "listening"; this server never listens.
  h1.emit("listening");

  const h2 = http2.createServer({
    settings: {
      maxConcurrentStreams: options.http2.maxConcurrentStreams,
      maxHeaderListSize: options.http2.maxHeaderListBytes,
    },
    maxSessionInvalidFrames: 100,
    maxSessionRejectedStreams: 100,
    Http2ServerResponse: ProxySafeResponse,
  });
  const serveRequest = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    // Node 20 never settles a write that waits for the peer's window once its
    // stream closes (nodejs/node#58252): a handler streaming to a client that
    // stopped reading would wait forever. "drain" wakes it; its next write fails.
    req.stream.once("close", () => res.emit("drain"));
    if (!repairAuthority(req.headers)) {
      refuseAuthority(res);
      return;
    }
    listener(req, res);
  };
  const resetFlood = createResetFloodGuard(options.http2.resets);
  const admit = createStreamGate(options.http2.maxHeaderListBytes, resetFlood);
  if (options.takeStream) {
    h2.on("request", serveRequest);
    offerStreamsToTaker(h2, admit, options.takeStream);
  } else {
    // Without a taker the front needs nothing before the compatibility objects: Node's public API only.
    h2.on("request", (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) =>
      admit(req.stream, req.rawHeaders, () => serveRequest(req, res)),
    );
  }
  h2.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    if (options.http2.streamTable) useStreamTable(session);
    session.once("close", () => sessions.delete(session));
    const { onStream } = options;
    // Read now: a session destroyed with streams still to emit (parsed before) throws
    // ERR_HTTP2_SOCKET_UNBOUND when its socket is asked for.
    const peer = { remoteAddress: session.socket.remoteAddress, remotePort: session.socket.remotePort };
    const countReset = resetFlood.counter(session);
    // The front's one "close" listener for each of the connection's streams: counts its reset, then forgets its listeners.
    const streamClosed = function (this: http2.ServerHttp2Stream) {
      countReset(this);
      forgetListeners(this);
    };
    // First, before the server's own listener, which may serve the request at once.
    session.prependListener("stream", (stream: http2.ServerHttp2Stream) => {
      // A stream not yet handed to anyone (deferred by the reset guard, or parsed just
      // before its session ended) emits the session's error: unheard, it would end the process.
      stream.on("error", ignore);
      stream.on("close", streamClosed);
      onStream?.(stream, peer);
    });
    session.setTimeout(options.http2.idleTimeoutMs, () => session.close());
    keepSessionAlive(session, {
      intervalMs: options.http2.keepAliveIntervalMs,
      timeoutMs: options.http2.keepAliveTimeoutMs,
    });
    if (closing) session.close();
  });

  const handOver = (socket: net.Socket, protocol: "http1" | "http2") => {
    if (protocol === "http2") {
      h2.emit("connection", socket);
    } else {
      h1.emit("connection", socket);
      // The http server reads only after "resume"; the http2 session must not
      // get it, or it loses the bytes pushed back with unshift().
      socket.resume();
    }
  };

  const onConnection = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    if (socket instanceof tls.TLSSocket) {
      handOver(socket, socket.alpnProtocol === "h2" ? "http2" : "http1");
      return;
    }
    sniffPreface(socket, options.http1.headersTimeoutMs, (protocol) => handOver(socket, protocol));
  };

  // noDelay: http.Server turns Nagle's algorithm off on the sockets it accepts, and this front
  // accepts for it; left on, an HTTP/1.1 answer's small writes could wait for the client's ACK.
  const front = (
    options.tls
      ? tls.createServer(
          {
            cert: options.tls.cert,
            key: options.tls.key,
            ALPNProtocols: ["h2", "http/1.1"],
            ciphers: forwardSecretAeadCiphers,
            // A handshake is the TLS client's first bytes: it gets the time the cleartext preface gets.
            handshakeTimeout: options.http1.headersTimeoutMs,
            noDelay: true,
          },
          onConnection,
        )
      : net.createServer({ noDelay: true }, onConnection)
  ) as OnePortServer;
  // tls.Server reports a failed or timed-out handshake here and nowhere else, and
  // unlike https.Server never closes its socket: without this it stays open for good.
  front.on("tlsClientError", (_error: Error, socket: tls.TLSSocket) => socket.destroy());
  if (options.maxConnections !== undefined) front.maxConnections = options.maxConnections;

  const closeListening = front.close.bind(front);
  front.close = (callback?: (err?: Error) => void) => {
    closing = true;
    closeListening(callback);
    for (const session of sessions) session.close();
    h1.close(() => {});
    const sweep = setInterval(() => {
      h1.closeIdleConnections();
      if (sockets.size === 0) clearInterval(sweep);
    }, 50);
    sweep.unref();
    return front;
  };
  front.destroyConnections = () => {
    for (const session of sessions) session.destroy();
    for (const socket of sockets) socket.destroy();
  };
  return front;
}

/** Serves an HTTP/2 stream, later or not at all, once the front's checks allow it. */
type StreamGate = (stream: http2.ServerHttp2Stream, rawHeaders: string[], serve: () => void) => void;

/**
 * The front's checks on each HTTP/2 stream, before anything serves it. The
 * same with and without a stream taker: a taker only moves them earlier.
 *
 * It refuses a header list over `maxHeaderListBytes`, measured as HTTP/2
 * measures it (name + value + 32 per field): nghttp2 enforces the limit the
 * server sends in SETTINGS only once the client has acknowledged them, so
 * until then a request of any size got through. The stream is reset with
 * ENHANCE_YOUR_CALM, as nghttp2 resets it after the acknowledgement.
 *
 * Then the reset guard may hold the stream back a turn (reset-flood-guard.ts).
 */
function createStreamGate(maxHeaderListBytes: number, resetFlood: ResetFloodGuard): StreamGate {
  return (stream, rawHeaders, serve) => {
    if (headerListBytes(rawHeaders) > maxHeaderListBytes) {
      // Closed with an error code, the stream emits that error: with no listener it would end the process.
      stream.on("error", ignore);
      stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      return;
    }
    resetFlood.deferIfResetting(stream, serve);
  };
}

/**
 * Gives `take` each HTTP/2 stream that passes `admit` before Node builds its
 * compatibility request and response (~10% of a call), which only node:http2's
 * private "stream" listener allows: the compatibility layer serves requests from
 * the server's one "stream" listener, added with the first "request" listener,
 * and this replaces it. Streams `take` declines, or takes and gives back, go to
 * that listener as before. A stream whose authority needs repair or refusal
 * always does.
 */
function offerStreamsToTaker(h2: net.Server, admit: StreamGate, take: StreamTaker): void {
  const listeners = h2.listeners("stream");
  if (listeners.length !== 1) throw new Error("node:http2 no longer serves requests from one stream listener");
  const compat = listeners[0] as (...args: unknown[]) => void;
  h2.removeListener("stream", compat);
  h2.on(
    "stream",
    (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
      const serveCompat = () => compat.call(h2, stream, headers, flags, rawHeaders);
      admit(stream, rawHeaders, () => {
        if (!makesUrl(stream.session, headers[":authority"]) || !take(stream, headers, rawHeaders, serveCompat)) {
          serveCompat();
        }
      });
    },
  );
}

function ignore(): void {}

/**
 * A closed stream lets go of its listeners, and so of the call their
 * closures hold (its exchange, messages, headers, trailers). The stream
 * object may outlive its call: one that reached V8's old generation stays
 * until the next full collection, and until then whatever young objects it
 * points to survive every scavenge and are promoted in turn. Let go, a
 * unary call's objects die young: under 64 connections × 4 streams, 0.8 MB
 * promoted per scavenge became 0.06 MB, and full collections a third as many
 * (bench/README.md, step 35). Every listener has had "close" by then (an
 * emitter calls the listeners it had when the event began), and nothing is
 * emitted after it but, defensively, an error, which must never go unheard.
 * Node's own "removeListener" listener only counts a session's "priority"
 * and "frameError" listeners; taken off first when there are none, the rest
 * go in one step instead of one removal and one event per listener (3.4% of a
 * unary call's profile before, under 1% after: bench/README.md, step 38).
 * They go as an EventEmitter lets them go: a Readable's own removeAllListeners
 * also schedules a tick to work out again whether the stream flows, which
 * for a closed stream can change nothing (a gRPC call's seventh tick, where
 * bare node:http2 makes six: bench/README.md, step 66).
 */
function forgetListeners(stream: http2.ServerHttp2Stream): void {
  if (stream.listenerCount("priority") === 0 && stream.listenerCount("frameError") === 0) {
    stream.removeAllListeners("removeListener");
  }
  EventEmitter.prototype.removeAllListeners.call(stream);
  stream.on("error", ignore);
}

/** A header list's size as SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113, 6.5.2); Node's strings hold one byte per character. */
function headerListBytes(rawHeaders: readonly string[]): number {
  let bytes = 0;
  for (const field of rawHeaders) bytes += field.length;
  return bytes + 16 * rawHeaders.length;
}

const goodAuthorities = new WeakMap<object, string>();

/**
 * Whether URLs take `http://${authority}`, as every layer above assumes. A
 * client sends the same authority on every request of a connection: the
 * last good one of each connection is remembered rather than parsed again.
 */
function makesUrl(connection: object | undefined, authority: string | undefined): boolean {
  if (authority === undefined) return false;
  if (connection !== undefined && goodAuthorities.get(connection) === authority) return true;
  if (!isHostPort(authority)) return false;
  if (connection !== undefined) goodAuthorities.set(connection, authority);
  return true;
}

/**
 * Whether `authority` is a `host[:port]` and nothing more. URLs also take
 * userinfo (`user@evil:1`) and a path or query after it (`a/b?c`), which a
 * Host must not carry: a URL built from one would name another host or path.
 */
function isHostPort(authority: string): boolean {
  return !/[@/?#\\\s]/.test(authority) && URL.canParse(`http://${authority}`);
}

/** Every layer above builds the request's URL from its authority: one no URL takes is refused here. */
function refuseAuthority(res: http.ServerResponse | http2.Http2ServerResponse): void {
  res.writeHead(400, { "content-type": "text/plain; charset=utf-8" });
  res.end("the request's authority (Host or :authority) is not a valid host[:port]\n");
}

/** HTTP/2 starts with its preface, never with an HTTP/2.0 request line; HTTP/0.9 and 3 are not spoken here. */
function refuseVersion(res: http.ServerResponse): void {
  res.shouldKeepAlive = false;
  res.writeHead(505, { "content-type": "text/plain; charset=utf-8" });
  res.end("HTTP/1.1 only on this connection: HTTP/2 starts with its connection preface\n");
}

/**
 * Makes a request's `:authority` one that URLs accept, which every layer above
 * assumes (connect-es builds the call's URL from it). Node's own HTTP/2 client
 * sends an IPv6 literal without its brackets (`::1:8080`): those are put back.
 * False for an authority that cannot be repaired.
 */
function repairAuthority(headers: http2.IncomingHttpHeaders): boolean {
  const authority = headers[":authority"];
  if (authority === undefined || isHostPort(authority)) return true;
  const portAt = authority.lastIndexOf(":");
  const bracketed = `[${authority.slice(0, portAt)}]${authority.slice(portAt)}`;
  if (!net.isIPv6(authority.slice(0, portAt)) || !isHostPort(bracketed)) return false;
  headers[":authority"] = bracketed;
  return true;
}

/**
 * A handler may stop reading a body early (a message over the size limit).
 * Destroying the request then would reset the connection, and the client
 * would see ECONNRESET instead of the error response: the request's iterator
 * leaves it intact, and what is left is drained once the response is sent
 * (`drainUnread`), up to a bound.
 */
class KeptIncomingMessage extends http.IncomingMessage {
  override [Symbol.asyncIterator]() {
    return this.iterator({ destroyOnReturn: false });
  }
}

/**
 * An answer may go out before its request's body has arrived (a declared
 * length over the limit, a bad header, a deadline). The connection can only
 * serve a next request once the rest of that body has been read and thrown
 * away: when the body is chunked or declares more than
 * `maxDrainBytes`, the answer says `Connection: close` instead, and Node
 * closes the connection once it is sent, rather than promising a keep-alive
 * the drain would break.
 */
class EarlyAnswerResponse extends http.ServerResponse {
  override writeHead(...args: unknown[]): this {
    if (!this.req.complete && !drainable(this.req)) this.shouldKeepAlive = false;
    return super.writeHead(...(args as Parameters<http.ServerResponse["writeHead"]>));
  }
}

/**
 * Whether the rest of the request's body is known to fit in the drain. A
 * request with neither header has no body (one answered in its "request"
 * event is not yet `complete` all the same); a chunked one may be endless.
 */
function drainable(req: http.IncomingMessage): boolean {
  const declared = req.headers["content-length"];
  if (declared === undefined) return req.headers["transfer-encoding"] === undefined;
  return Number(declared) <= maxDrainBytes;
}

/** A response's "finish" listener, shared by all (no closure per request). */
function drainUnread(this: http.ServerResponse): void {
  if (!this.req.complete) drain(this.req, maxDrainBytes);
}

/** Reads and discards the rest of a request body; past `limit` bytes the connection is cut instead. */
function drain(req: http.IncomingMessage, limit: number): void {
  let drained = 0;
  req.on("data", (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > limit) req.destroy();
  });
  // Whoever stopped reading early may have paused the request (the fast lane
  // does): a "data" listener alone does not restart a paused stream, and the
  // next request on the connection would wait behind the unread body.
  req.resume();
}

/** Reads until the first bytes tell HTTP/2 from HTTP/1.1, then pushes them back. */
function sniffPreface(socket: net.Socket, timeoutMs: number, decided: (protocol: "http1" | "http2") => void): void {
  let seen = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const verdict = classifyPreface(seen);
    if (verdict === "undecided") return;
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("close", onClose);
    socket.pause();
    socket.unshift(seen);
    decided(verdict);
  };
  const onClose = () => clearTimeout(timer);
  socket.on("data", onData);
  socket.once("close", onClose);
}
