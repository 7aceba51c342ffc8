import type http2 from "node:http2";
import { Code } from "@connectrpc/connect";
import { codeFromString, codeToHttpStatus, codeToString } from "@connectrpc/connect/protocol-connect";
import fc from "fast-check";
import { envelope } from "./raw-http.js";
import {
  contentTypeOf,
  goodMessage,
  isBare,
  type Method,
  methods,
  outcomeOf,
  pathOf,
  type RawCodec,
  type RawProtocol,
  type RpcOutcome,
  rawCodecs,
  rawProtocols,
  sendRaw,
} from "./raw-rpc.js";

/** One request a hostile or broken client might send. */
export interface FuzzRequest {
  readonly protocol: RawProtocol;
  readonly codec: RawCodec;
  readonly method: Method;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

const textBytes = (text: string) => new TextEncoder().encode(text);

/** Message bytes: noise, near-valid protobuf, or JSON of any shape. */
const messageBytes = (codec: RawCodec, method: Method): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.uint8Array({ maxLength: 48 }),
    fc.constant(goodMessage(codec, method)),
    // A valid field 1 whose length byte and contents are arbitrary.
    fc
      .tuple(fc.nat(255), fc.uint8Array({ maxLength: 24 }))
      .map(([length, rest]) => Uint8Array.of(0x0a, length, ...rest)),
    fc.jsonValue({ maxDepth: 3 }).map((value) => textBytes(JSON.stringify(value) ?? "")),
    fc
      .oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }))
      .map((value) => textBytes(JSON.stringify({ hello: value, namelist: value }))),
  );

/** A frame whose flags may be anything and whose declared length may lie. */
const frame = (codec: RawCodec, method: Method): fc.Arbitrary<Uint8Array> =>
  fc
    .record({
      flags: fc.oneof(fc.constantFrom(0x00, 0x01, 0x02, 0x80), fc.nat(255)),
      message: messageBytes(codec, method),
      lie: fc.option(fc.nat(1 << 20), { freq: 4 }),
    })
    .map(({ flags, message, lie }) => {
      const framed = envelope(message, flags);
      if (lie !== null) new DataView(framed.buffer).setUint32(1, lie);
      return framed;
    });

const body = (protocol: RawProtocol, codec: RawCodec, method: Method): fc.Arbitrary<Uint8Array> => {
  if (isBare(protocol, method)) return messageBytes(codec, method);
  return fc.tuple(fc.array(frame(codec, method), { maxLength: 4 }), fc.option(fc.nat(64))).map(([frames, cut]) => {
    const joined = Buffer.concat(frames);
    return cut === null ? joined : joined.subarray(0, cut);
  });
};

const encodingHeaderOf = (protocol: RawProtocol, method: Method) =>
  isBare(protocol, method) ? "content-encoding" : protocol === "connect" ? "connect-content-encoding" : "grpc-encoding";

const headers = (protocol: RawProtocol, method: Method): fc.Arbitrary<Record<string, string>> =>
  fc
    .record({
      timeout: fc.option(
        fc.oneof(
          fc.constantFrom("1x", "-1", "S", "99999999H", "100m", "5000", "0", "1n"),
          fc.stringMatching(/^[0-9A-Za-z.-]{0,12}$/),
        ),
        { freq: 3 },
      ),
      encoding: fc.option(fc.constantFrom("gzip", "br", "identity", "snappy", "zstd", "x", ""), { freq: 3 }),
    })
    .map(({ timeout, encoding }) => {
      const result: Record<string, string> = {};
      if (timeout !== null) result[protocol === "connect" ? "connect-timeout-ms" : "grpc-timeout"] = timeout;
      if (encoding !== null) result[encodingHeaderOf(protocol, method)] = encoding;
      return result;
    });

/** Any method × protocol × codec, with arbitrary headers and body. */
export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc
  .record({
    protocol: fc.constantFrom(...rawProtocols),
    codec: fc.constantFrom(...rawCodecs),
    method: fc.constantFrom(...methods),
  })
  .chain(({ protocol, codec, method }) =>
    fc.record({
      protocol: fc.constant(protocol),
      codec: fc.constant(codec),
      method: fc.constant(method),
      headers: headers(protocol, method),
      body: body(protocol, codec, method),
    }),
  );

const knownCodes = new Set([
  "ok",
  ...Object.values(Code)
    .filter((c) => typeof c === "number")
    .map((c) => codeToString(c)),
]);
/** HTTP refusals that come before any protocol: a method, type or path the server does not take. */
const httpRefusals = new Set(["http_404", "http_405", "http_415"]);

/**
 * Sends one request and checks the answer is one a client of the protocol can
 * read: a known code, an HTTP status the protocol maps that code to, no
 * internals in the message, within `timeoutMs`. Throws otherwise.
 */
export async function checkAnswer(
  session: http2.ClientHttp2Session,
  request: FuzzRequest,
  timeoutMs = 5_000,
): Promise<RpcOutcome> {
  const answer = await sendFuzzRequest(session, request, timeoutMs);
  const outcome = outcomeOf(request.protocol, request.method, answer);
  if (!knownCodes.has(outcome.code) && !httpRefusals.has(outcome.code)) {
    throw new Error(`unknown code ${outcome.code} (HTTP ${outcome.status})`);
  }
  const expectedStatus = httpRefusals.has(outcome.code)
    ? outcome.status
    : !isBare(request.protocol, request.method) || outcome.code === "ok"
      ? 200
      : codeToHttpStatus(codeFromString(outcome.code) ?? Code.Unknown);
  if (outcome.status !== expectedStatus) {
    throw new Error(`HTTP ${outcome.status} for ${outcome.code}, expected ${expectedStatus}`);
  }
  if (/\/work\/|node_modules|\.ts:\d|\n\s+at /.test(outcome.message)) {
    throw new Error(`the answer leaks internals: ${outcome.message}`);
  }
  return outcome;
}

/** A readable line for a failing case, as fast-check prints it. */
export const describeRequest = (r: FuzzRequest) =>
  `${r.protocol} ${r.codec} ${r.method.name} ${JSON.stringify(r.headers)} body=${Buffer.from(r.body).toString("hex")}`;

type Timeout = "long" | "short" | "passed" | "malformed" | "negative";
const connectTimeouts: Record<Timeout, string> = {
  long: "5000",
  short: "100",
  passed: "0",
  malformed: "1x",
  negative: "-1",
};
const grpcTimeouts: Record<Timeout, string> = {
  long: "5S",
  short: "100m",
  passed: "0n",
  malformed: "1x",
  negative: "-1",
};

/**
 * Requests of the shapes the fast lane takes (gRPC, gRPC-Web and Connect
 * unary, gRPC and gRPC-Web server streaming, no Origin, identity encoding):
 * good messages of sizes up to and past `maxBytes`, near-valid ones, and
 * deadlines good and bad; mixed with `fuzzRequest`'s, they exercise both
 * paths of a server.
 */
export const laneShapedRequest = (maxBytes: number): fc.Arbitrary<FuzzRequest> =>
  fc
    .record({
      shape: fc.constantFrom(
        { protocol: "grpc", codec: "proto", method: methods[0] },
        { protocol: "grpc", codec: "proto", method: methods[1] },
        { protocol: "grpc-web", codec: "proto", method: methods[0] },
        { protocol: "grpc-web", codec: "proto", method: methods[1] },
        { protocol: "connect", codec: "proto", method: methods[0] },
        { protocol: "connect", codec: "json", method: methods[0] },
      ),
      // Around the size limit: the message's own bytes are the text's plus 2 or 3.
      size: fc.oneof({ arbitrary: fc.nat(64), weight: 3 }, fc.integer({ min: maxBytes - 8, max: maxBytes + 4 })),
      // One in four near-valid: those go to connect-es after the lane read them.
      near: fc.nat(3).map((n) => n === 0),
      timeout: fc.option(fc.constantFrom<Timeout>("long", "short", "passed", "malformed", "negative"), { freq: 2 }),
      accept: fc.option(fc.constantFrom("gzip", "br", "identity"), { freq: 2 }),
    })
    .chain(({ shape, size, near, timeout, accept }) => {
      const { protocol, codec, method } = shape as { protocol: RawProtocol; codec: RawCodec; method: Method };
      const good = goodMessage(codec, method, "z".repeat(Math.max(0, size - 3)));
      const message = near ? messageBytes(codec, method) : fc.constant(good);
      return message.map((bytes): FuzzRequest => {
        const headers: Record<string, string> = {};
        if (timeout !== null) {
          if (protocol === "connect") headers["connect-timeout-ms"] = connectTimeouts[timeout];
          else headers["grpc-timeout"] = grpcTimeouts[timeout];
        }
        if (accept !== null) headers[protocol === "connect" ? "accept-encoding" : "grpc-accept-encoding"] = accept;
        return { protocol, codec, method, headers, body: isBare(protocol, method) ? bytes : envelope(bytes) };
      });
    });

/** Sends one request and gives back all of its answer, as it came. */
export const sendFuzzRequest = (session: http2.ClientHttp2Session, request: FuzzRequest, timeoutMs = 5_000) =>
  sendRaw(
    session,
    {
      path: pathOf(request.method),
      headers: {
        "content-type": contentTypeOf(request.protocol, request.codec, request.method),
        te: "trailers",
        ...request.headers,
      },
      body: request.body,
    },
    timeoutMs,
  );
