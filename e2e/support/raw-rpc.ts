import http2 from "node:http2";
import type { Code } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { envelope, readAnswer } from "./raw-http.js";
import { requestListBytes, requestOneBytes } from "./request-bytes.js";

export type RawProtocol = "connect" | "grpc" | "grpc-web";
export type RawCodec = "proto" | "json";
export type MethodKind = "unary" | "server_streaming" | "client_streaming" | "bidi_streaming";

export const rawProtocols: readonly RawProtocol[] = ["connect", "grpc", "grpc-web"];
export const rawCodecs: readonly RawCodec[] = ["proto", "json"];

/** Every SimpleTest method; each request type has one string, field 1. */
export const methods = [
  { name: "GetOne", kind: "unary" },
  { name: "GetList", kind: "server_streaming" },
  { name: "PostList", kind: "client_streaming" },
  { name: "PostAndPost", kind: "bidi_streaming" },
] as const satisfies readonly { name: string; kind: MethodKind }[];

export type Method = (typeof methods)[number];

/** A protocol, a codec and a method: one raw request's shape. */
export interface Combination {
  readonly protocol: RawProtocol;
  readonly codec: RawCodec;
  readonly method: Method;
}

/** Every protocol × codec × method. */
export const combinations: readonly Combination[] = rawProtocols.flatMap((protocol) =>
  rawCodecs.flatMap((codec) => methods.map((method) => ({ protocol, codec, method }))),
);

export const labelOf = (c: Combination) => `${c.protocol} ${c.codec} ${c.method.name}`;

export const pathOf = (method: Method) => `/simpletest.SimpleTest/${method.name}`;

/** Connect unary sends the bare message; every other combination frames it in envelopes. */
export const isBare = (protocol: RawProtocol, method: Method) => protocol === "connect" && method.kind === "unary";

export function contentTypeOf(protocol: RawProtocol, codec: RawCodec, method: Method): string {
  if (isBare(protocol, method)) return `application/${codec}`;
  return `application/${protocol === "connect" ? "connect" : protocol}+${codec}`;
}

/** A well-formed request of one message: `{"hello":"x"}` or its protobuf bytes. */
export function goodMessage(codec: RawCodec, method: Method, text = "x"): Uint8Array {
  if (codec === "json") {
    const field = method.kind === "unary" || method.kind === "server_streaming" ? "hello" : "namelist";
    return new TextEncoder().encode(JSON.stringify({ [field]: text }));
  }
  return method.kind === "unary" || method.kind === "server_streaming" ? requestOneBytes(text) : requestListBytes(text);
}

/** The body carrying `messages` the way the protocol frames them. */
export function bodyOf(protocol: RawProtocol, method: Method, messages: readonly Uint8Array[]): Uint8Array {
  if (isBare(protocol, method)) return messages[0] ?? new Uint8Array(0);
  return Buffer.concat(messages.map((m) => envelope(m)));
}

export interface RawAnswer {
  readonly status: number;
  readonly headers: http2.IncomingHttpHeaders;
  readonly trailers: http2.IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * Sends one request on an open HTTP/2 session and waits for the whole answer.
 * Fails if the server resets the stream or does not answer within `timeoutMs`.
 */
export function sendRaw(
  session: http2.ClientHttp2Session,
  request: { path: string; method?: string; headers: Record<string, string>; body: Uint8Array },
  timeoutMs = 5_000,
): Promise<RawAnswer> {
  const stream = session.request({ ":method": request.method ?? "POST", ":path": request.path, ...request.headers });
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  const answer = readAnswer(stream);
  // Node ends GET and DELETE streams at once; they carry no body.
  if (!stream.writableEnded) stream.end(request.body);
  return Promise.race([answer, gaveUp]).finally(() => clearTimeout(timer));
}

/** What a client of the protocol would make of an answer. */
export interface RpcOutcome {
  readonly status: number;
  /** A Connect code name (`ok`, `invalid_argument`, …), or `http_<status>` for a plain HTTP refusal. */
  readonly code: string;
  readonly message: string;
  /** Response messages before the status. */
  readonly messages: number;
}

/**
 * Reads an answer as the protocol's client would. A malformed answer (a gRPC
 * response with no status, a Connect stream with no end message) throws.
 */
export function outcomeOf(protocol: RawProtocol, method: Method, answer: RawAnswer): RpcOutcome {
  const { status, body } = answer;
  if (status !== 200) {
    const json = parseJson(body);
    if (protocol === "connect" && typeof json?.code === "string") {
      return { status, code: json.code, message: String(json.message ?? ""), messages: 0 };
    }
    return { status, code: `http_${status}`, message: body.toString("utf8"), messages: 0 };
  }
  if (isBare(protocol, method)) return { status, code: "ok", message: "", messages: 1 };

  const frames = splitEnvelopes(body);
  const data = frames.filter((f) => (f.flags & 0x82) === 0).length;
  if (protocol === "connect") {
    const end = frames.find((f) => f.flags & 0x02);
    if (end === undefined) throw new Error(`Connect stream without end message: ${body.toString("latin1")}`);
    const error = parseJson(end.data)?.error as { code?: string; message?: string } | undefined;
    return { status, code: error?.code ?? "ok", message: error?.message ?? "", messages: data };
  }
  let fields: Record<string, string | string[] | undefined> = { ...answer.headers, ...answer.trailers };
  const trailerFrame = frames.find((f) => f.flags & 0x80);
  if (protocol === "grpc-web" && trailerFrame !== undefined) fields = parseGrpcWebTrailer(trailerFrame.data);
  const grpcStatus = fields["grpc-status"] ?? answer.headers["grpc-status"];
  if (typeof grpcStatus !== "string" || !/^\d+$/.test(grpcStatus) || Number(grpcStatus) > 16) {
    throw new Error(`${protocol} answer without a valid grpc-status: ${JSON.stringify(fields)}`);
  }
  const code = Number(grpcStatus);
  const message = decodeURIComponent(String(fields["grpc-message"] ?? ""));
  return { status, code: code === 0 ? "ok" : codeToString(code as Code), message, messages: data };
}

function parseJson(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return value !== null && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function splitEnvelopes(body: Buffer): { flags: number; data: Buffer }[] {
  const frames: { flags: number; data: Buffer }[] = [];
  let offset = 0;
  while (offset < body.length) {
    if (offset + 5 > body.length) throw new Error("answer ends inside an envelope header");
    const length = body.readUInt32BE(offset + 1);
    if (offset + 5 + length > body.length) throw new Error("answer ends inside an envelope");
    frames.push({ flags: body[offset], data: body.subarray(offset + 5, offset + 5 + length) });
    offset += 5 + length;
  }
  return frames;
}

function parseGrpcWebTrailer(data: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of data.toString("utf8").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return fields;
}
