/** The client connection preface every HTTP/2 connection over cleartext starts with (RFC 9113 §3.4). */
export const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export type PrefaceVerdict = "http2" | "http1" | "undecided";

/**
 * Decides from a connection's first bytes whether the client speaks HTTP/2 with
 * prior knowledge. "undecided" means the bytes so far are a proper prefix of the
 * preface: a preface split across packets must not be mistaken for HTTP/1.1.
 */
export function classifyPreface(firstBytes: Buffer): PrefaceVerdict {
  const n = Math.min(firstBytes.length, http2Preface.length);
  if (firstBytes.subarray(0, n).compare(http2Preface, 0, n) !== 0) {
    return "http1";
  }
  return n === http2Preface.length ? "http2" : "undecided";
}
