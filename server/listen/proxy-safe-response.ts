import http2, { type OutgoingHttpHeaders } from "node:http2";

/** application/grpc and application/grpc+codec; not gRPC-Web, whose status travels in its body. */
const grpcContentType = /^application\/grpc(?:$|[+;])/i;

/** How much of an unread request body is read and discarded after the answer (as for HTTP/1.1). */
const maxDrainBytes = 8 * 1024 * 1024;

/**
 * Node's HTTP/2 compatibility response, made to answer as proxies expect.
 *
 * A gRPC answer with no message must be Trailers-Only: one HEADERS frame with
 * `:status`, `content-type` and `grpc-status`, ending the stream. Written the
 * usual way (writeHead, addTrailers, end), Node sends the head at once, then
 * an empty stream and the status as trailers; Fastify adds `content-length: 0`
 * to an empty reply too. HAProxy 2.6 takes that length at its word, ends the
 * stream after the head and drops the trailers: the client gets no status at all.
 * So the head of a gRPC answer waits for the first body byte: if the answer
 * ends first, its trailers join the head and Node sends them as one HEADERS
 * frame with END_STREAM (its `end()` does that when no head was written yet).
 * Nothing is delayed: connect-es and the lane write the head just before the
 * first message anyway. `content-length` never goes out on a gRPC answer.
 *
 * An answer given before the request body was read (an unknown method, a bad
 * header) makes Node reset the stream once the answer is out (RST_STREAM
 * NO_ERROR). HAProxy 2.6 then often drops the answer or the HTTP/1.1 client's
 * connection: 1 in 10 Connect calls of an unknown method over HTTP/1.1 failed
 * with EPIPE. So such a body is read and discarded instead, up to a limit.
 *
 * e2e/proxy-safe-answers.test.ts checks each answer on the wire, on both paths
 * (FAST_PATH on and off); e2e/cluster.test.ts what clients get through HAProxy.
 */
export class ProxySafeResponse extends http2.Http2ServerResponse {
  /** `held` while a gRPC head waits for the first body byte or the end; `passed` once Node has it. */
  #head: "unwritten" | "held" | "passed" = "unwritten";
  #trailers: OutgoingHttpHeaders | undefined;

  override writeHead(statusCode: number, ...rest: [OutgoingHttpHeaders?] | [string, OutgoingHttpHeaders?]): this {
    const headers = typeof rest[0] === "string" ? rest[1] : rest[0];
    const contentType = headers?.["content-type"] ?? this.getHeader("content-type");
    const grpc = statusCode === 200 && typeof contentType === "string" && grpcContentType.test(contentType);
    if (this.#head === "held" || (this.#head === "unwritten" && grpc)) {
      this.statusCode = statusCode;
      for (const name in headers) {
        const value = headers[name];
        if (value !== undefined) this.setHeader(name, value);
      }
      this.removeHeader("content-length");
      this.#head = "held";
      return this;
    }
    this.#head = "passed";
    return super.writeHead(statusCode, headers);
  }

  /** For a head Node writes itself (`setHeader` and then `end`). */
  #stripLength() {
    const contentType = this.getHeader("content-type");
    if (!this.headersSent && typeof contentType === "string" && grpcContentType.test(contentType)) {
      this.removeHeader("content-length");
    }
  }

  override addTrailers(trailers: OutgoingHttpHeaders): void {
    if (this.#head === "held") this.#trailers = { ...this.#trailers, ...trailers };
    else super.addTrailers(trailers);
  }

  override write(chunk: string | Uint8Array, ...rest: [unknown?, unknown?]): boolean {
    this.#release();
    return (super.write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }

  override end(...args: [unknown?, unknown?, unknown?]): this {
    const end = super.end as (...args: unknown[]) => this;
    if (this.writableEnded) return end.apply(this, args);
    const [data] = args;
    const empty = data == null || typeof data === "function" || (data as { length: number }).length === 0;
    if (this.#head === "held" && empty) {
      // Trailers-Only: with no head written, Node's end() sends one HEADERS frame with END_STREAM.
      this.#head = "passed";
      for (const name in this.#trailers) {
        const value = this.#trailers[name];
        if (value !== undefined) this.setHeader(name, value);
      }
      this.#trailers = undefined;
    } else {
      this.#release();
    }
    this.#stripLength();
    this.#drainRequest();
    return end.apply(this, args);
  }

  /** Reads and discards the rest of a request body nobody reads; past the limit, resets the stream as Node would. */
  #drainRequest() {
    const req = this.req;
    if (req.readableEnded || req.readableFlowing !== null) return;
    let drained = 0;
    req.on("data", (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > maxDrainBytes) this.stream.close(http2.constants.NGHTTP2_NO_ERROR);
    });
  }

  /** Sends the held head, and hands the held trailers to Node for after the body. */
  #release() {
    if (this.#head !== "held") {
      // Node writes an implicit head through writeHead(): it must go out, not be held.
      this.#head = "passed";
      return;
    }
    this.#head = "passed";
    super.writeHead(this.statusCode);
    if (this.#trailers !== undefined) super.addTrailers(this.#trailers);
    this.#trailers = undefined;
  }
}
