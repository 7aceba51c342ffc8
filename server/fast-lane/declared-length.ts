import type http from "node:http";

/*
 * A request may say how long its message is before sending it: a unary
 * Connect body by its Content-Length, a gRPC message by its envelope's
 * length. connect-es refuses one over `readMaxBytes` as soon as it reads the
 * claim (`readAllBytes`' length hint, `createEnvelopeDecoder`), whether or not
 * the bytes ever come; the lane must not wait for them either
 * (e2e/attacks/lying-lengths.test.ts).
 */

/** Whether the request's Content-Length is more than `readMaxBytes`. */
export function declaresTooLong(headers: http.IncomingHttpHeaders, readMaxBytes: number): boolean {
  const declared = headers["content-length"];
  return declared !== undefined && Number(declared) > readMaxBytes;
}

/**
 * For a gRPC body read so far: true once its first envelope header has
 * arrived and is one the lane does not serve, a length over `readMaxBytes`
 * or any flag (only connect-es decompresses, and judges the rest).
 */
export function envelopeRefused(chunks: readonly Buffer[], size: number, readMaxBytes: number): boolean {
  const head = envelopeHead(chunks, size);
  return head !== undefined && (head[0] !== 0 || head.readUInt32BE(1) > readMaxBytes);
}

/** The first envelope's 5-byte header (flags, length) of a gRPC body read so far, once it is in. */
export function envelopeHead(chunks: readonly Buffer[], size: number): Buffer | undefined {
  if (size < 5) return undefined;
  return chunks[0].length >= 5 ? chunks[0] : Buffer.concat(chunks, 5);
}
