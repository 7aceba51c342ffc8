import http from "node:http";
import http2 from "node:http2";
import { readAnswer } from "./raw-http.js";
import type { RawAnswer } from "./raw-rpc.js";

export interface OpenCallRequest {
  readonly path: string;
  readonly headers: Record<string, string>;
  /** Sent at once. */
  readonly body?: Uint8Array;
  /** Ends the request after the body; by default it is left open: the client never ends it. */
  readonly end?: boolean;
}

/**
 * Sends a request and, unless told to end it, leaves it open, as a client that
 * stalls would: the answer can then only come from the server giving up. Over
 * HTTP/1.1 the body is chunked and never finished. Knows nothing of deadlines,
 * so whatever timeout header the request carries is the server's alone to
 * enforce. Rejects if the server sends no complete answer within `giveUpMs`.
 */
export function openCall(
  url: string,
  httpVersion: "1.1" | "2",
  request: OpenCallRequest,
  giveUpMs = 5_000,
): Promise<RawAnswer> {
  return httpVersion === "2" ? openCall2(url, request, giveUpMs) : openCall1(url, request, giveUpMs);
}

function openCall2(url: string, request: OpenCallRequest, giveUpMs: number): Promise<RawAnswer> {
  const session = http2.connect(url);
  let timer: NodeJS.Timeout | undefined;
  const failed = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${giveUpMs} ms`)), giveUpMs);
    session.on("error", reject);
  });
  const stream = session.request({ ":method": "POST", ":path": request.path, ...request.headers });
  const answer = readAnswer(stream);
  if (request.body !== undefined) stream.write(request.body);
  if (request.end) stream.end();
  return Promise.race([answer, failed]).finally(() => {
    clearTimeout(timer);
    session.destroy();
  });
}

function openCall1(url: string, request: OpenCallRequest, giveUpMs: number): Promise<RawAnswer> {
  let req: http.ClientRequest | undefined;
  let timer: NodeJS.Timeout | undefined;
  return new Promise<RawAnswer>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${giveUpMs} ms`)), giveUpMs);
    req = http.request(`${url}${request.path}`, {
      method: "POST",
      agent: false,
      headers: { ...request.headers, "transfer-encoding": "chunked" },
    });
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          trailers: res.trailers,
          body: Buffer.concat(chunks),
        });
      });
    });
    if (request.body !== undefined) req.write(request.body);
    if (request.end) req.end();
    else req.flushHeaders();
  }).finally(() => {
    clearTimeout(timer);
    req?.destroy();
  });
}
