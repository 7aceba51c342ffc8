import type { ConnectError } from "@connectrpc/connect";
import { mergeNonProtocolHeaders } from "@connectrpc/connect/protocol";
import * as connect from "@connectrpc/connect/protocol-connect";
import { type Answering, cutIfStuck } from "./answering.js";
import type { NodeHeaders } from "./exchange.js";
import { nodeHeaders } from "./lane-call.js";

/*
 * How connect-es's Connect handler writes a unary answer: the bare message,
 * or the error as JSON with its HTTP status; compressed as negotiated; the
 * trailers as `trailer-` headers; a Content-Length.
 */

/** A unary call's answer: its one message, in binary or as JSON text; a promise only while it is compressed. */
export function answerUnary(answering: Answering, message: Uint8Array | string): Promise<void> | undefined {
  return write(answering, 200, message);
}

/** A unary call's error, as JSON; a promise only while it is compressed. */
export function answerError(answering: Answering, error: ConnectError): Promise<void> | undefined {
  const header = answering.call.responseHeader;
  header.set(connect.headerContentType, connect.contentTypeUnaryJson);
  if (!error.isWireError) mergeNonProtocolHeaders(header, error.metadata);
  const json = connect.errorToJsonBytes(error, answering.plan.serving.opt.jsonOptions);
  return write(answering, connect.codeToHttpStatus(error.code), json);
}

/** Writes the answer, compressed as negotiated: most are not, and cost no turn of the microtask queue. */
function write(answering: Answering, status: number, body: Uint8Array | string): Promise<void> | undefined {
  const { compression } = answering;
  const size = typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
  if (compression && size >= answering.plan.serving.opt.compressMinBytes) {
    return compression
      .compress(typeof body === "string" ? Buffer.from(body) : body)
      .then((compressed) => send(answering, status, compressed, compressed.byteLength, compression.name));
  }
  send(answering, status, body, size, undefined);
  return undefined;
}

function send(
  answering: Answering,
  status: number,
  answer: Uint8Array | string,
  size: number,
  encoding: string | undefined,
): void {
  const { call, exchange } = answering;
  let header: NodeHeaders;
  if (encoding === undefined && call.nodeResponseTrailer() === undefined) {
    header = call.nodeResponseHeader();
  } else {
    if (encoding !== undefined) call.responseHeader.set(connect.headerUnaryEncoding, encoding);
    header = nodeHeaders(connect.trailerMux(call.responseHeader, call.responseTrailer));
  }
  header[connect.headerUnaryContentLength] = size.toString(10);
  exchange.answer(status, header, answer, undefined);
  cutIfStuck(answering);
}
