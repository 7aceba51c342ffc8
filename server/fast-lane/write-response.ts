import type http from "node:http";
import type http2 from "node:http2";

/**
 * Writes a whole answer the way connect-node's universalResponseToNodeResponse
 * does (head, body, trailers, end), so the bytes on the wire are the same.
 */
export function writeResponse(
  res: http.ServerResponse | http2.Http2ServerResponse,
  status: number,
  header: Headers,
  body: Uint8Array | undefined,
  trailer: Headers | undefined,
): void {
  // Both kinds of response have these methods; TypeScript cannot call a union of their overloads.
  const out = res as http.ServerResponse;
  if (out.destroyed) return;
  out.writeHead(status, nodeHeaders(header));
  if (body !== undefined) out.write(body);
  if (trailer !== undefined) out.addTrailers(nodeHeaders(trailer));
  out.end();
}

/** As connect-node's webHeaderToNodeHeaders: one header may hold several values. */
function nodeHeaders(headers: Headers): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  headers.forEach((value, key) => {
    const seen = out[key];
    out[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  });
  return out;
}
