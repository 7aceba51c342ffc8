import type { EventEmitter } from "node:events";
import type http from "node:http";
import http2 from "node:http2";
import type net from "node:net";
import type { Readable } from "node:stream";
import { type NodeRequest, unread } from "./request-body.js";

export type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;
export type NodeHeaders = Record<string, string | string[]>;

/** What the lane's caller learns about the request's transport (connect-fastify's `contextValues` gets the same). */
export interface RequestInfo {
  readonly httpVersion: string;
  readonly socket: net.Socket;
  readonly headers: http.IncomingHttpHeaders;
}

/**
 * One request and its answer, as the fast lane sees them, whichever Node API
 * carries them: an HTTP/1.1 or HTTP/2 compatibility request and response, or
 * a bare HTTP/2 stream (the one-port front hands the lane HTTP/2 streams
 * before Node builds compatibility objects for them, which cost ~10% of a call).
 */
export interface Exchange {
  readonly method: string | undefined;
  /** The request target, e.g. `/simpletest.SimpleTest/GetOne`. */
  readonly path: string | undefined;
  /** The request headers (for HTTP/2 with its pseudo-headers). */
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly authority: string | undefined;
  readonly info: RequestInfo;
  /** The request body. */
  readonly body: Readable;
  /** Emits "close" when the exchange is over, answered or abandoned. */
  readonly closing: EventEmitter;
  /** The HTTP/2 error code the client reset the stream with, if it did. */
  rstCode(): number | undefined;
  /** A whole answer: head, body and, unless undefined, trailers. */
  answer(status: number, header: NodeHeaders, body: Uint8Array | undefined, trailer: NodeHeaders | undefined): void;
  /** The head of a streamed answer (status 200, trailers to follow); then `send` each part and `finish`. */
  head(header: NodeHeaders): void;
  /** False when the part waits in a buffer: wait for `onceDrained` before sending more. */
  send(bytes: Uint8Array): boolean;
  onceDrained(callback: () => void): () => void;
  finish(trailer: NodeHeaders): void;
  /** The HTTP/2 stream holding more answer bytes than its buffer should (the client does not read), if any. */
  unflushedStream(): http2.ServerHttp2Stream | undefined;
  destroy(): void;
  /** Gives the request to connect-es as if the lane had never seen it, with the body bytes read so far (`whole`: all of it). */
  handOver(consumed: readonly Buffer[], whole: boolean): void;
}

/** An exchange on Node's compatibility API, handed to `next` if the lane lets it go. */
export function compatExchange(
  req: NodeRequest,
  res: NodeResponse,
  extraHeaders: Readonly<Record<string, string>>,
  next: (req: NodeRequest, res: NodeResponse) => void,
): Exchange {
  // Both kinds of response have these methods; TypeScript cannot call a union of their overloads.
  const out = res as unknown as http2.Http2ServerResponse;
  const head = (status: number, header: NodeHeaders) => {
    for (const name in extraHeaders) out.setHeader(name, extraHeaders[name]);
    out.writeHead(status, header);
  };
  return {
    method: req.method,
    path: req.url,
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    authority: "authority" in req ? req.authority : req.headers.host,
    info: req,
    body: req,
    // As connect-node: an HTTP/1.1 request closes once its body is read, so the response tells when the client left.
    closing: "stream" in req ? req : res,
    rstCode: () => ("stream" in req ? req.stream.rstCode : undefined),
    answer(status, header, body, trailer) {
      head(status, header);
      if (trailer !== undefined) out.addTrailers(trailer);
      // Head and body in one write where the protocol allows (HTTP/1.1 sends them in one packet).
      if (body === undefined) out.end();
      else out.end(body);
    },
    head: (header) => head(200, header),
    send: (bytes) => out.write(bytes),
    onceDrained(callback) {
      out.once("drain", callback);
      return () => out.off("drain", callback);
    },
    finish(trailer) {
      out.addTrailers(trailer);
      out.end();
    },
    unflushedStream: () => ("stream" in req && req.stream.writableNeedDrain ? req.stream : undefined),
    destroy: () => res.destroy(),
    handOver(consumed, whole) {
      if (consumed.length > 0) unread(req, consumed, whole);
      next(req, res);
    },
  };
}

/** Body bytes read from streams before they went back to the compatibility API, and whether that was all. */
const handedOver = new WeakMap<http2.ServerHttp2Stream, { consumed: readonly Buffer[]; whole: boolean }>();

/**
 * The body bytes the lane read from the stream under `req` before it handed
 * the stream over, put back in front of the rest; false if it never had it.
 */
export function takeHandedOver(req: NodeRequest): boolean {
  if (!("stream" in req)) return false;
  const taken = handedOver.get(req.stream);
  if (taken === undefined) return false;
  handedOver.delete(req.stream);
  unread(req, taken.consumed, taken.whole);
  return true;
}

const ignore = () => {};

/** An exchange on a bare HTTP/2 stream; `compat` serves the stream the usual way if the lane lets it go. */
export function streamExchange(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  rawHeaders: string[],
  extraHeaders: Readonly<Record<string, string>>,
  compat: () => void,
): Exchange {
  const respond = (status: number, header: NodeHeaders, waitForTrailers: boolean, endStream = false) => {
    if (stream.destroyed || stream.headersSent) return false;
    stream.respond(
      { ...header, ...extraHeaders, [http2.constants.HTTP2_HEADER_STATUS]: status },
      { waitForTrailers, endStream },
    );
    return true;
  };
  // A stream the client resets, or whose session fails, emits "error" and then
  // "close", which ends the call: without a listener the error would end the process.
  stream.on("error", ignore);
  const sendTrailers = (trailer: NodeHeaders) => stream.once("wantTrailers", () => stream.sendTrailers(trailer));
  return {
    method: headers[":method"],
    path: headers[":path"],
    headers,
    rawHeaders,
    authority: headers[":authority"],
    info: { httpVersion: "2.0", socket: stream.session?.socket as net.Socket, headers },
    body: stream,
    closing: stream,
    rstCode: () => stream.rstCode,
    answer(status, header, body, trailer) {
      if (!respond(status, header, trailer !== undefined, body === undefined && trailer === undefined)) return;
      if (trailer !== undefined) sendTrailers(trailer);
      if (body === undefined) stream.end();
      else stream.end(body);
    },
    head: (header) => void respond(200, header, true),
    send: (bytes) => !stream.destroyed && stream.write(bytes),
    onceDrained(callback) {
      stream.once("drain", callback);
      return () => stream.off("drain", callback);
    },
    finish(trailer) {
      if (stream.destroyed) return;
      sendTrailers(trailer);
      stream.end();
    },
    unflushedStream: () => (stream.writableNeedDrain ? stream : undefined),
    destroy: () => stream.destroy(),
    handOver(consumed, whole) {
      // Read to its end, the stream would never end again for the request Node wraps around it.
      if (consumed.length > 0 || whole) handedOver.set(stream, { consumed, whole });
      compat();
    },
  };
}
