import http2 from "node:http2";

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly trailers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

export interface RawH2Response extends RawResponse {
  /** The HEADERS frame ended the stream: nothing followed, neither body nor trailers (gRPC's Trailers-Only). */
  readonly endedWithHeaders: boolean;
}

/** One request over HTTP/2 prior knowledge (h2c), with the trailers a gRPC server sends. */
export async function h2cRequest(
  url: string,
  path: string,
  headers: Record<string, string>,
  body: Uint8Array = new Uint8Array(0),
): Promise<RawH2Response> {
  const session = http2.connect(url);
  try {
    const failed = new Promise<never>((_, reject) => session.once("error", reject));
    const stream = session.request({ ":method": "POST", ":path": path, ...headers });
    const answer = readAnswer(stream);
    stream.end(body);
    return await Promise.race([answer, failed]);
  } finally {
    session.close();
  }
}

/** Reads an HTTP/2 response to its end: status, headers, trailers and body. */
export function readAnswer(stream: http2.ClientHttp2Stream): Promise<RawH2Response> {
  return new Promise((resolve, reject) => {
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    let endedWithHeaders = false;
    const chunks: Buffer[] = [];
    stream.on("response", (h, flags) => {
      headers = h;
      endedWithHeaders = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    });
    stream.on("trailers", (t) => {
      trailers = t;
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("end", () =>
      resolve({ status: Number(headers[":status"]), headers, trailers, body: Buffer.concat(chunks), endedWithHeaders }),
    );
  });
}

/** The 5-byte gRPC / Connect streaming envelope around one message. */
export function envelope(message: Uint8Array, flags = 0): Uint8Array<ArrayBuffer> {
  const framed = new Uint8Array(5 + message.length);
  new DataView(framed.buffer).setUint32(1, message.length);
  framed[0] = flags;
  framed.set(message, 5);
  return framed;
}
