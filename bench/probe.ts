import http from "node:http";
import http2 from "node:http2";

export interface ProbeRequest {
  readonly url: string;
  readonly http1: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

export interface ProbeAnswer {
  readonly status: number;
  readonly body: Buffer;
  /** grpc-status from the trailers or headers, if any. */
  readonly grpcStatus?: string;
}

/**
 * Sends one request as the load generator would, so that a run is only
 * counted when the answer is right (h2load sees HTTP status, not grpc-status).
 */
export function probe(request: ProbeRequest): Promise<ProbeAnswer> {
  const url = new URL(request.url);
  if (request.http1) {
    return new Promise((resolve, reject) => {
      const req = http.request(url, { method: "POST", headers: request.headers, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      });
      req.on("error", reject);
      req.end(request.body);
    });
  }
  return new Promise((resolve, reject) => {
    const session = http2.connect(url.origin);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": url.pathname, ...request.headers });
    const chunks: Buffer[] = [];
    let status = 0;
    let grpcStatus: string | undefined;
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      grpcStatus = h["grpc-status"] as string | undefined;
    });
    stream.on("trailers", (t) => {
      grpcStatus = (t["grpc-status"] as string | undefined) ?? grpcStatus;
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", reject);
    stream.on("end", () => {
      session.close();
      resolve({ status, body: Buffer.concat(chunks), grpcStatus });
    });
    stream.end(request.body);
  });
}
