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
  /** The HTTP/2 stream, as `Http2ServerRequest.stream`: the key the front's `onStream` noted the peer under. */
  readonly stream?: object;
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
  answer(
    status: number,
    header: NodeHeaders,
    body: Uint8Array | string | undefined,
    trailer: NodeHeaders | undefined,
  ): void;
  /**
   * The head of a streamed answer (status 200; trailers to follow if
   * `trailed`), sent with the first part; then `send` each part and `finish`.
   */
  head(header: NodeHeaders, trailed: boolean): void;
  /** False when the part waits in a buffer: wait for `onceDrained` before sending more. */
  send(bytes: Uint8Array): boolean;
  onceDrained(callback: () => void): () => void;
  /** Ends a streamed answer, with its trailers if its head said so. */
  finish(trailer: NodeHeaders | undefined): void;
  /**
   * The HTTP/2 stream, if the answer left it open: holding more answer bytes
   * than its buffer should (the client does not read), or with a request
   * body the client has not finished (the call ended first).
   */
  stuckStream(): http2.ServerHttp2Stream | undefined;
  destroy(): void;
  /** Gives the request to connect-es as if the lane had never seen it, with the body bytes read so far (`whole`: all of it). */
  handOver(consumed: readonly Buffer[], whole: boolean): void;
}

/** An exchange on Node's compatibility API, handed to `next` if the lane lets it go. */
export class CompatExchange implements Exchange {
  readonly #req: NodeRequest;
  readonly #res: NodeResponse;
  // Both kinds of response have these methods; TypeScript cannot call a union of their overloads.
  readonly #out: http2.Http2ServerResponse;
  readonly #extraHeaders: Readonly<Record<string, string>>;
  readonly #next: (req: NodeRequest, res: NodeResponse) => void;

  constructor(
    req: NodeRequest,
    res: NodeResponse,
    extraHeaders: Readonly<Record<string, string>>,
    next: (req: NodeRequest, res: NodeResponse) => void,
  ) {
    this.#req = req;
    this.#res = res;
    this.#out = res as unknown as http2.Http2ServerResponse;
    this.#extraHeaders = extraHeaders;
    this.#next = next;
  }

  get method() {
    return this.#req.method;
  }
  get path() {
    return this.#req.url;
  }
  get headers() {
    return this.#req.headers;
  }
  get rawHeaders() {
    return this.#req.rawHeaders;
  }
  get authority() {
    const req = this.#req;
    return "authority" in req ? req.authority : req.headers.host;
  }
  get info(): RequestInfo {
    return this.#req;
  }
  get body(): Readable {
    return this.#req;
  }
  get closing(): EventEmitter {
    // As connect-node: an HTTP/1.1 request closes once its body is read, so the response tells when the client left.
    return "stream" in this.#req ? this.#req : this.#res;
  }
  rstCode() {
    return "stream" in this.#req ? this.#req.stream.rstCode : undefined;
  }

  answer(status: number, header: NodeHeaders, body: Uint8Array | string | undefined, trailer: NodeHeaders | undefined) {
    this.#head(status, header);
    if (trailer !== undefined) this.#out.addTrailers(trailer);
    // Head and body in one write where the protocol allows (HTTP/1.1 sends them in one packet).
    if (body === undefined) this.#out.end();
    else this.#out.end(body);
  }
  head(header: NodeHeaders, _trailed: boolean) {
    this.#head(200, header);
  }
  send(bytes: Uint8Array) {
    return this.#out.write(bytes);
  }
  onceDrained(callback: () => void) {
    this.#out.once("drain", callback);
    return () => void this.#out.off("drain", callback);
  }
  finish(trailer: NodeHeaders | undefined) {
    if (trailer !== undefined) this.#out.addTrailers(trailer);
    this.#out.end();
  }
  stuckStream() {
    if (!("stream" in this.#req)) return undefined;
    const stream = this.#req.stream;
    return stream.writableNeedDrain || !stream.readableEnded ? stream : undefined;
  }
  destroy() {
    this.#res.destroy();
  }
  handOver(consumed: readonly Buffer[], whole: boolean) {
    if (consumed.length > 0 || whole) unread(this.#req, consumed, whole);
    this.#next(this.#req, this.#res);
  }

  #head(status: number, header: NodeHeaders) {
    // The header is the call's own, made for this answer: completed in place, so that Node
    // takes it as it is rather than merging it into headers set one by one.
    for (const name in this.#extraHeaders) header[name] = this.#extraHeaders[name];
    this.#out.writeHead(status, header);
  }
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
  unread(req, taken.consumed, taken.whole, req.stream);
  return true;
}

const uncork = (stream: http2.ServerHttp2Stream) => stream.uncork();

/**
 * From Node 24.7 `respond` also takes the headers as a flat list of names and
 * values; an object it first copies, name by name, into one of its own. By
 * profile on Node 24 the copy was 1.9 µs of a gRPC call, and the list halves
 * the call's header work (bench/README.md, step 33).
 */
const [nodeMajor, nodeMinor] = process.versions.node.split(".").map(Number);
const respondTakesList = nodeMajor > 24 || (nodeMajor === 24 && nodeMinor >= 7);

/** `header` as that list, in its order: a header of several values is its name repeated. */
function headerList(header: NodeHeaders): string[] {
  const list: string[] = [];
  for (const name in header) {
    const value = header[name];
    if (typeof value === "string") list.push(name, value);
    else for (const one of value) list.push(name, one);
  }
  return list;
}

/** An exchange on a bare HTTP/2 stream; `compat` serves the stream the usual way if the lane lets it go. */
export class StreamExchange implements Exchange {
  readonly #stream: http2.ServerHttp2Stream;
  readonly #extraHeaders: Readonly<Record<string, string>>;
  readonly #compat: () => void;
  #heldHead: NodeHeaders | undefined;
  #trailed = true;
  /** Writes whose callback has not come yet, and whether the answer ends after them. */
  #unwritten = 0;
  #ending = false;
  readonly headers: http2.IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];

  constructor(
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    rawHeaders: string[],
    extraHeaders: Readonly<Record<string, string>>,
    compat: () => void,
  ) {
    this.#stream = stream;
    this.headers = headers;
    this.rawHeaders = rawHeaders;
    this.#extraHeaders = extraHeaders;
    this.#compat = compat;
  }

  get method() {
    return this.headers[":method"];
  }
  get path() {
    return this.headers[":path"];
  }
  get authority() {
    return this.headers[":authority"];
  }
  get info(): RequestInfo {
    return {
      httpVersion: "2.0",
      socket: this.#stream.session?.socket as net.Socket,
      headers: this.headers,
      stream: this.#stream,
    };
  }
  get body(): Readable {
    return this.#stream;
  }
  get closing(): EventEmitter {
    return this.#stream;
  }
  rstCode() {
    return this.#stream.rstCode;
  }

  answer(status: number, header: NodeHeaders, body: Uint8Array | string | undefined, trailer: NodeHeaders | undefined) {
    // No message: gRPC's Trailers-Only, the status in the one HEADERS frame that ends the stream.
    if (body === undefined && trailer !== undefined) {
      this.#respond(status, Object.assign(header, trailer), false, true);
      return;
    }
    if (!this.#respond(status, header, trailer !== undefined, body === undefined)) return;
    if (body === undefined) {
      this.#stream.end();
    } else if (trailer !== undefined) {
      this.#sendTrailers(trailer);
      this.#stream.end(body);
    } else {
      this.#write(body);
      this.#endWhenWritten();
    }
  }
  head(header: NodeHeaders, trailed: boolean) {
    // Sent with the first part, or with the trailers as Trailers-Only if none comes.
    this.#heldHead = header;
    this.#trailed = trailed;
  }
  send(bytes: Uint8Array) {
    this.#sendHead();
    const stream = this.#stream;
    if (stream.destroyed) return false;
    // The parts sent before the next tick (a handler's messages, passed on by promises) go out in one write.
    if (stream.writableCorked === 0) {
      stream.cork();
      process.nextTick(uncork, stream);
    }
    // Only an answer without trailers needs to know when its writes are done (#endWhenWritten).
    return this.#trailed ? stream.write(bytes) : this.#write(bytes);
  }
  onceDrained(callback: () => void) {
    this.#stream.once("drain", callback);
    return () => void this.#stream.off("drain", callback);
  }
  finish(trailer: NodeHeaders | undefined) {
    if (this.#stream.destroyed) return;
    const held = this.#heldHead;
    if (held !== undefined) {
      this.#heldHead = undefined;
      this.#respond(200, Object.assign(held, trailer), false, true);
      return;
    }
    if (trailer === undefined) {
      this.#endWhenWritten();
      return;
    }
    this.#sendTrailers(trailer);
    this.#stream.end();
  }
  stuckStream() {
    const stream = this.#stream;
    return stream.writableNeedDrain || !stream.readableEnded ? stream : undefined;
  }
  destroy() {
    this.#stream.destroy();
  }
  handOver(consumed: readonly Buffer[], whole: boolean) {
    // Read to its end, the stream would never end again for the request Node wraps around it;
    // paused by the lane (even before its first byte), it would never flow again.
    handedOver.set(this.#stream, { consumed, whole });
    this.#compat();
  }

  #write(bytes: Uint8Array | string): boolean {
    this.#unwritten++;
    return this.#stream.write(bytes, this.#written);
  }
  readonly #written = () => {
    if (--this.#unwritten === 0 && this.#ending && !this.#stream.destroyed) this.#stream.end();
  };
  /**
   * Ends an answer without trailers once its writes are done. Ended while a
   * write is under way (`end(body)`), a stream that then closes has Node make
   * an ERR_STREAM_DESTROYED, stack trace and all, for no one: 10% of the CPU
   * of a bare http2 server answering Connect calls, by profile on Node 24.
   * (With trailers the end waits for them anyway.)
   */
  #endWhenWritten(): void {
    if (this.#unwritten === 0) this.#stream.end();
    else this.#ending = true;
  }

  #respond(status: number, header: NodeHeaders, waitForTrailers: boolean, endStream = false): boolean {
    const stream = this.#stream;
    if (stream.destroyed || stream.headersSent) return false;
    // The header is the call's own, made for this answer: completed in place rather than copied.
    header[http2.constants.HTTP2_HEADER_STATUS] = String(status);
    for (const name in this.#extraHeaders) header[name] = this.#extraHeaders[name];
    stream.respond((respondTakesList ? headerList(header) : header) as http2.OutgoingHttpHeaders, {
      waitForTrailers,
      endStream,
    });
    return true;
  }
  #sendHead() {
    const held = this.#heldHead;
    if (held === undefined) return;
    this.#heldHead = undefined;
    this.#respond(200, held, this.#trailed);
  }
  #sendTrailers(trailer: NodeHeaders) {
    // Emitted once: `on` spares the wrapper `once` makes.
    this.#stream.on("wantTrailers", () => this.#stream.sendTrailers(trailer));
  }
}
