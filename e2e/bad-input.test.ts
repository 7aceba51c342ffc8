import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, afterEach, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { codeFromString, codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import { envelope } from "./support/raw-http.js";
import {
  bodyOf,
  type Combination,
  combinations,
  contentTypeOf,
  goodMessage,
  isBare,
  labelOf,
  type Method,
  methods,
  outcomeOf,
  pathOf,
  type RawAnswer,
  type RawProtocol,
  type RpcOutcome,
  sendRaw,
} from "./support/raw-rpc.js";
import { assertStillServing, type RunningServer, startServer } from "./support/server.js";

interface BadInput {
  readonly what: string;
  /** The combinations it makes sense for; all by default. */
  readonly only?: (c: Combination) => boolean;
  readonly headers?: (c: Combination) => Record<string, string>;
  /** The request body; one good message by default. */
  readonly body?: (c: Combination) => Uint8Array;
  /** The code a client gets. */
  readonly code: string;
}

const proto = (c: Combination) => c.codec === "proto";
const json = (c: Combination) => c.codec === "json";
const enveloped = (c: Combination) => !isBare(c.protocol, c.method);
const grpcFamily = (c: Combination) => c.protocol !== "connect";
/** The header a protocol names its message compression with. */
const encodingHeader = (c: Combination) =>
  isBare(c.protocol, c.method)
    ? "content-encoding"
    : c.protocol === "connect"
      ? "connect-content-encoding"
      : "grpc-encoding";
/** The one message, framed as the protocol frames it. */
const one = (message: Uint8Array | string) => (c: Combination) =>
  bodyOf(c.protocol, c.method, [typeof message === "string" ? new TextEncoder().encode(message) : message]);
const jsonOf = (c: Combination, value: unknown) =>
  one(
    JSON.stringify({
      [c.method.kind === "unary" || c.method.kind === "server_streaming" ? "hello" : "namelist"]: value,
    }),
  )(c);

const badInputs: readonly BadInput[] = [
  // Protobuf that cannot be decoded: invalid_argument, as connect-go says (connect-es alone would say internal).
  {
    what: "a field that announces 5 bytes where 1 follows",
    only: proto,
    body: one(Uint8Array.of(0x0a, 0x05, 0x61)),
    code: "invalid_argument",
  },
  {
    // protobuf-es accepts a varint of more than 10 bytes if it ends; this one never does.
    what: "a varint whose every byte says more follows",
    only: proto,
    body: one(Uint8Array.of(0x10, ...Array(11).fill(0xff))),
    code: "invalid_argument",
  },
  { what: "a tag that never ends", only: proto, body: one(Uint8Array.of(0xff, 0xff, 0xff)), code: "invalid_argument" },
  {
    what: "invalid UTF-8 in a string field",
    only: proto,
    body: one(Uint8Array.of(0x0a, 0x02, 0xc3, 0x28)),
    code: "invalid_argument",
  },
  { what: "field number 0", only: proto, body: one(Uint8Array.of(0x00, 0x01)), code: "invalid_argument" },
  { what: "an end-group tag with no group", only: proto, body: one(Uint8Array.of(0x0c)), code: "invalid_argument" },
  {
    what: "wire type 6, which does not exist",
    only: proto,
    body: one(Uint8Array.of(0x0e, 0x01)),
    code: "invalid_argument",
  },
  // JSON that is not a request message.
  { what: "JSON cut short", only: json, body: one('{"hello":'), code: "invalid_argument" },
  { what: "a number where a string belongs", only: json, body: (c) => jsonOf(c, 1), code: "invalid_argument" },
  { what: "an object where a string belongs", only: json, body: (c) => jsonOf(c, {}), code: "invalid_argument" },
  { what: "an array where a message belongs", only: json, body: one("[]"), code: "invalid_argument" },
  { what: "null where a message belongs", only: json, body: one("null"), code: "invalid_argument" },
  { what: "no JSON at all", only: json, body: one(""), code: "invalid_argument" },
  {
    what: "bytes that are not text",
    only: json,
    body: one(Uint8Array.of(0xff, 0xfe, 0x00, 0x7b)),
    code: "invalid_argument",
  },
  // Envelopes that lie.
  {
    what: "an envelope header cut short",
    only: enveloped,
    body: () => Uint8Array.of(0, 0, 0),
    code: "invalid_argument",
  },
  {
    what: "an envelope whose length runs past the end of the body",
    only: enveloped,
    body: () => envelope(new Uint8Array(100)).subarray(0, 8),
    code: "invalid_argument",
  },
  {
    what: "an envelope marked compressed with no encoding named",
    only: enveloped,
    body: (c) => envelope(goodMessage(c.codec, c.method), 0x01),
    // What the gRPC spec and grpc-go say, and connect-go too: the client broke the protocol.
    code: "internal",
  },
  {
    what: "gzip named, but the bytes are not gzip",
    headers: (c) => ({ [encodingHeader(c)]: "gzip" }),
    body: (c) =>
      isBare(c.protocol, c.method)
        ? new TextEncoder().encode("not gzip")
        : envelope(new TextEncoder().encode("not gzip"), 0x01),
    code: "invalid_argument",
  },
  {
    what: "gzip named, and gzip that holds garbage",
    only: proto,
    headers: (c) => ({ [encodingHeader(c)]: "gzip" }),
    body: (c) => {
      const garbage = gzipSync(Uint8Array.of(0x0a, 0x05, 0x61));
      return isBare(c.protocol, c.method) ? garbage : envelope(garbage, 0x01);
    },
    code: "invalid_argument",
  },
  {
    what: "an unknown compression (snappy, zstd, x)",
    headers: (c) => ({
      [encodingHeader(c)]: c.protocol === "connect" ? (isBare(c.protocol, c.method) ? "zstd" : "x") : "snappy",
    }),
    code: "unimplemented",
  },
  // The wrong number of messages for the method.
  {
    what: "no request message for a method that takes one",
    only: (c) => enveloped(c) && (c.method.kind === "unary" || c.method.kind === "server_streaming"),
    body: () => new Uint8Array(0),
    code: "unimplemented",
  },
  {
    what: "two request messages for a method that takes one",
    only: (c) => enveloped(c) && (c.method.kind === "unary" || c.method.kind === "server_streaming"),
    body: (c) => bodyOf(c.protocol, c.method, [goodMessage(c.codec, c.method), goodMessage(c.codec, c.method)]),
    code: "unimplemented",
  },
  // Deadlines that are not deadlines.
  ...["1x", "-1S", "S", "123456789S", "1.5S"].map((timeout) => ({
    what: `grpc-timeout: ${timeout}`,
    only: grpcFamily,
    headers: () => ({ "grpc-timeout": timeout }),
    code: "invalid_argument",
  })),
  ...["-1", "abc", "1.5", "12345678901"].map((timeout) => ({
    what: `connect-timeout-ms: ${timeout}`,
    only: (c: Combination) => c.protocol === "connect",
    headers: () => ({ "connect-timeout-ms": timeout }),
    code: "invalid_argument",
  })),
];

/** What the protocol allows as HTTP status for a code: gRPC always answers 200. */
function allowedStatus(protocol: RawProtocol, method: Method, outcome: RpcOutcome): number {
  if (outcome.code.startsWith("http_")) return outcome.status;
  if (!isBare(protocol, method)) return 200;
  return outcome.code === "ok" ? 200 : codeToHttpStatus(codeFromString(outcome.code) ?? 2);
}

function assertClean(c: Combination, outcome: RpcOutcome): void {
  assert.equal(outcome.status, allowedStatus(c.protocol, c.method, outcome), `${labelOf(c)}: HTTP ${outcome.status}`);
  assert.doesNotMatch(outcome.message, /\/work\/|node_modules|\.ts:\d|\n\s+at /, `${labelOf(c)} leaks internals`);
}

for (const fastPath of ["on", "off"]) {
  describe(`malformed input gets a clean error with the right code, on every method, protocol and codec (FAST_PATH=${fastPath})`, () => {
    let server: RunningServer;
    let session: http2.ClientHttp2Session;
    before(async () => {
      server = await startServer({ FAST_PATH: fastPath });
      session = http2.connect(server.url);
    });
    after(async () => {
      session?.close();
      await server?.close();
    });

    afterEach(async () => {
      await assertStillServing(server.url);
    });

    const send = async (c: Combination, headers: Record<string, string>, body: Uint8Array): Promise<RpcOutcome> => {
      const answer = await sendRaw(session, {
        path: pathOf(c.method),
        headers: { "content-type": contentTypeOf(c.protocol, c.codec, c.method), te: "trailers", ...headers },
        body,
      });
      const outcome = outcomeOf(c.protocol, c.method, answer);
      assertClean(c, outcome);
      return outcome;
    };

    it("a good request of each combination answers ok (the baseline the rows below break)", async () => {
      const outcomes = await Promise.all(
        combinations.map(async (c) => [labelOf(c), (await send(c, {}, one(goodMessage(c.codec, c.method))(c))).code]),
      );
      assert.deepEqual(
        outcomes,
        combinations.map((c) => [labelOf(c), "ok"]),
      );
    });

    for (const bad of badInputs) {
      it(`${bad.what}: ${bad.code}`, async () => {
        const applicable = combinations.filter((c) => bad.only?.(c) ?? true);
        assert.ok(applicable.length > 0);
        const outcomes = await Promise.all(
          applicable.map(async (c) => {
            const body = bad.body?.(c) ?? one(goodMessage(c.codec, c.method))(c);
            const outcome = await send(c, bad.headers?.(c) ?? {}, body);
            return [labelOf(c), outcome.code];
          }),
        );
        assert.deepEqual(
          outcomes,
          applicable.map((c) => [labelOf(c), bad.code]),
        );
      });
    }

    describe("wrong HTTP methods and content types are refused by HTTP status", () => {
      for (const httpMethod of ["PUT", "DELETE", "PATCH"]) {
        it(`${httpMethod}: 405 on every protocol`, async () => {
          for (const c of combinations) {
            const answer = await sendRaw(session, {
              path: pathOf(c.method),
              method: httpMethod,
              headers: { "content-type": contentTypeOf(c.protocol, c.codec, c.method), te: "trailers" },
              body: one(goodMessage(c.codec, c.method))(c),
            });
            assert.equal(answer.status, 405, `${labelOf(c)} ${httpMethod}`);
          }
        });
      }

      it("GET of a streaming method: 405", async () => {
        for (const c of combinations.filter((c) => c.method.kind !== "unary")) {
          const answer = await sendRaw(session, {
            path: pathOf(c.method),
            method: "GET",
            headers: { "content-type": contentTypeOf(c.protocol, c.codec, c.method) },
            body: new Uint8Array(0),
          });
          assert.equal(answer.status, 405, labelOf(c));
        }
      });

      it("GET of GetOne that is not a Connect GET (gRPC, or no query): 415", async () => {
        for (const contentType of ["application/grpc", "application/grpc-web+proto", "application/json"]) {
          const answer = await sendRaw(session, {
            path: pathOf(methods[0]),
            method: "GET",
            headers: { "content-type": contentType },
            body: new Uint8Array(0),
          });
          assert.equal(answer.status, 415, contentType);
        }
      });

      it("a content type no protocol knows: 415", async () => {
        for (const method of methods) {
          const answer = await sendRaw(session, {
            path: pathOf(method),
            headers: { "content-type": "text/plain" },
            body: new TextEncoder().encode("hello"),
          });
          assert.equal(answer.status, 415, method.name);
        }
      });

      it("a Connect unary content type on a streaming method, and the reverse: 415", async () => {
        for (const method of methods) {
          const wrong = method.kind === "unary" ? "application/connect+proto" : "application/proto";
          const answer = await sendRaw(session, {
            path: pathOf(method),
            headers: { "content-type": wrong },
            body: new Uint8Array(0),
          });
          assert.equal(answer.status, 415, method.name);
        }
      });
    });

    describe("Connect GET with a bad query", () => {
      const getOne = methods[0];
      for (const [what, query, code] of [
        ["base64 of a truncated message", "encoding=proto&base64=1&message=CgVh", "invalid_argument"],
        // connect-es's base64 decoder throws a plain Error, which it answers as a
        // generic internal error; no hook sees it first (connect-go: invalid_argument).
        ["base64 that is not base64", "encoding=proto&base64=1&message=%25%25%25", "internal"],
        ["JSON of the wrong type", `encoding=json&message=${encodeURIComponent('{"hello":1}')}`, "invalid_argument"],
        ["an unknown compression", "encoding=json&compression=zstd&message=%7B%7D", "unimplemented"],
        ["an unknown encoding", "encoding=xml&message=%7B%7D", "http_415"],
      ] as const) {
        it(`${what}: ${code}`, async () => {
          const answer = await sendRaw(session, {
            path: `${pathOf(getOne)}?${query}`,
            method: "GET",
            headers: {},
            body: new Uint8Array(0),
          });
          const outcome = outcomeOf("connect", getOne, answer);
          assertClean({ protocol: "connect", codec: "json", method: getOne }, outcome);
          assert.equal(outcome.code, code);
        });
      }
    });

    describe("over HTTP/1.1 too", () => {
      const http1 = combinations.filter((c) => c.protocol !== "grpc" && c.method.kind !== "bidi_streaming");
      for (const bad of badInputs.filter((b) =>
        /cut short|past the end|unknown compression|a number where/.test(b.what),
      )) {
        it(`${bad.what}: ${bad.code}`, async () => {
          const applicable = http1.filter((c) => bad.only?.(c) ?? true);
          const outcomes = await Promise.all(
            applicable.map(async (c) => {
              const response = await fetch(server.url + pathOf(c.method), {
                method: "POST",
                headers: { "content-type": contentTypeOf(c.protocol, c.codec, c.method), ...bad.headers?.(c) },
                body: Buffer.from(bad.body?.(c) ?? one(goodMessage(c.codec, c.method))(c)),
              });
              const answer: RawAnswer = {
                status: response.status,
                headers: Object.fromEntries(response.headers),
                trailers: {},
                body: Buffer.from(await response.arrayBuffer()),
              };
              const outcome = outcomeOf(c.protocol, c.method, answer);
              assertClean(c, outcome);
              return [labelOf(c), outcome.code];
            }),
          );
          assert.deepEqual(
            outcomes,
            applicable.map((c) => [labelOf(c), bad.code]),
          );
        });
      }
    });
  });
}
