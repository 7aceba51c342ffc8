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

/** A unary call's answer: its one message. */
export function answerUnary(answering: Answering, message: Uint8Array): Promise<void> {
  return write(answering, 200, message);
}

/** A unary call's error, as JSON. */
export function answerError(answering: Answering, error: ConnectError): Promise<void> {
  const header = answering.call.responseHeader;
  header.set(connect.headerContentType, connect.contentTypeUnaryJson);
  if (!error.isWireError) mergeNonProtocolHeaders(header, error.metadata);
  const json = connect.errorToJsonBytes(error, answering.plan.serving.opt.jsonOptions);
  return write(answering, connect.codeToHttpStatus(error.code), json);
}

async function write(answering: Answering, status: number, body: Uint8Array): Promise<void> {
  const { call, compression, exchange } = answering;
  let bytes = body;
  let encoding: string | undefined;
  if (compression && bytes.byteLength >= answering.plan.serving.opt.compressMinBytes) {
    bytes = await compression.compress(bytes);
    encoding = compression.name;
  }
  let header: NodeHeaders;
  if (encoding === undefined && call.nodeResponseTrailer() === undefined) {
    header = call.nodeResponseHeader();
  } else {
    if (encoding !== undefined) call.responseHeader.set(connect.headerUnaryEncoding, encoding);
    header = nodeHeaders(connect.trailerMux(call.responseHeader, call.responseTrailer));
  }
  header[connect.headerUnaryContentLength] = bytes.byteLength.toString(10);
  exchange.answer(status, header, bytes, undefined);
  cutIfStuck(answering);
}
