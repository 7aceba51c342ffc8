import type { IncomingMessage } from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import * as connect from "@connectrpc/connect/protocol-connect";
import * as grpc from "@connectrpc/connect/protocol-grpc";
import * as grpcWeb from "@connectrpc/connect/protocol-grpc-web";
import type { FastifyReply, FastifyRequest } from "fastify";

/** How much of an RPC's HTTP/1.1 body is read before its `unimplemented`; past it, it is answered at once. */
const readFirstBytes = 64 * 1024;

/**
 * Answers a request for a path no route serves in the protocol the client
 * speaks, so that an RPC client sees `unimplemented` rather than an HTTP error
 * it can only guess at. Anything that is not an RPC gets a plain-text 404.
 *
 * An RPC over HTTP/1.1 is answered once its body is in (up to a bound):
 * connect-node sends every body chunked, and an answer before a chunked body
 * ends closes the connection (server/listen/one-port.ts), so a client still
 * writing its last chunk failed with EPIPE, `unavailable`, instead.
 */
export async function answerNotFound(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const contentType = request.headers["content-type"] ?? "";
  const isRpc =
    grpcWeb.contentTypeRegExp.test(contentType) ||
    grpc.contentTypeRegExp.test(contentType) ||
    (request.method === "POST" && connect.contentTypeRegExp.test(contentType));
  if (isRpc && request.raw.httpVersionMajor === 1 && !request.raw.complete) {
    await bodyRead(request.raw as IncomingMessage, readFirstBytes);
  }
  answer(request, reply, contentType);
  return reply;
}

/** Reads and discards a request body until it ends, its connection goes, or past `limit` bytes. */
function bodyRead(req: IncomingMessage, limit: number): Promise<void> {
  return new Promise((resolve) => {
    let read = 0;
    const done = () => {
      req.off("data", onData);
      req.off("end", done);
      req.off("close", done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      read += chunk.length;
      if (read > limit) done();
    };
    req.on("data", onData);
    req.once("end", done);
    req.once("close", done);
  });
}

function answer(request: FastifyRequest, reply: FastifyReply, contentType: string): void {
  const error = new ConnectError(`method not found: ${request.method} ${request.url}`, Code.Unimplemented);

  if (grpcWeb.contentTypeRegExp.test(contentType) || grpc.contentTypeRegExp.test(contentType)) {
    const status: Record<string, string> = {};
    const statusHeaders = new Headers();
    grpc.setTrailerStatus(statusHeaders, error);
    statusHeaders.forEach((value, key) => {
      status[key] = value;
    });
    // No message, so the status goes in the headers: gRPC's Trailers-Only, and
    // gRPC-Web's answer with an empty body. Over HTTP/2 the front's response
    // (server/listen/proxy-safe-response.ts) ends the stream with that one
    // HEADERS frame and drops the content-length Fastify puts on an empty reply.
    reply.code(200).header("content-type", contentType).headers(status).send();
    return;
  }
  const connectPost = request.method === "POST" && connect.contentTypeRegExp.test(contentType);
  const connectGet = request.method === "GET" && /[?&]encoding=/.test(request.url);
  if (connectPost || connectGet) {
    // 404 rather than the 501 of Connect's code table: unknown routes answer 404
    // in connect-go too, and every Connect client reads it as unimplemented.
    reply.code(404).type("application/json").send(connect.errorToJson(error, undefined));
    return;
  }
  reply.code(404).type("text/plain").send(`${request.method} ${request.url}: not found\n`);
}
