import { Code, ConnectError } from "@connectrpc/connect";
import * as connect from "@connectrpc/connect/protocol-connect";
import * as grpc from "@connectrpc/connect/protocol-grpc";
import * as grpcWeb from "@connectrpc/connect/protocol-grpc-web";
import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * Answers a request for a path no route serves in the protocol the client
 * speaks, so that an RPC client sees `unimplemented` rather than an HTTP error
 * it can only guess at. Anything that is not an RPC gets a plain-text 404.
 */
export function answerNotFound(request: FastifyRequest, reply: FastifyReply): void {
  const contentType = request.headers["content-type"] ?? "";
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
