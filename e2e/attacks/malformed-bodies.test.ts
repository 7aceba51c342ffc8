import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { type Canary, startCanary } from "../support/canary.js";
import { H1Socket, requestHead } from "../support/h1-socket.js";
import { envelope } from "../support/raw-http.js";
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
} from "../support/raw-rpc.js";
import { assertStillServing, type RunningServer, startServer } from "../support/server.js";

/*
 * Issue 12, point 9 (request bodies): bytes the protocol does not allow are
 * refused, on every protocol and method, whichever path serves the call.
 * - Invalid UTF-8 inside a JSON string was decoded to U+FFFD and served,
 *   where the same bytes in a protobuf string are refused: `invalid_argument`
 *   on both codecs.
 * - Envelope flags other than "compressed" (a gRPC flag byte of 2, 4, 0x80;
 *   a gRPC-Web trailer frame or a Connect end-stream frame from the client)
 *   were ignored and the stream served: `internal`, as grpc-go and connect-go
 *   answer (server/request-checks/envelope-flags.ts says why).
 */

const fieldOf = (method: Method) =>
  method.kind === "unary" || method.kind === "server_streaming" ? "hello" : "namelist";

/** A JSON request message whose string holds `bad` between two good characters. */
function jsonWithBytes(method: Method, bad: readonly number[]): Uint8Array {
  const [before, after] = JSON.stringify({ [fieldOf(method)]: "a\u0000b" }).split("\\u0000");
  return Buffer.concat([Buffer.from(before), Buffer.from(bad), Buffer.from(after)]);
}

const invalidUtf8: readonly { what: string; bytes: readonly number[] }[] = [
  { what: "a lead byte without its continuation (C3 28)", bytes: [0xc3, 0x28] },
  { what: "a lone continuation byte (80)", bytes: [0x80] },
  { what: "an overlong slash (C0 AF)", bytes: [0xc0, 0xaf] },
  { what: "an encoded surrogate (ED A0 80)", bytes: [0xed, 0xa0, 0x80] },
  { what: "FF", bytes: [0xff] },
];

interface BadFrames {
  readonly what: string;
  readonly only: (c: Combination) => boolean;
  readonly body: (c: Combination) => Uint8Array;
}

const enveloped = (c: Combination) => !isBare(c.protocol, c.method);
const takesMany = (c: Combination) => c.method.kind === "client_streaming" || c.method.kind === "bidi_streaming";

const badFrames: readonly BadFrames[] = [
  ...[0x02, 0x04, 0x40, 0x80, 0xff].map((flags) => ({
    what: `a message envelope flagged 0x${flags.toString(16).padStart(2, "0")}`,
    only: enveloped,
    body: (c: Combination) => envelope(goodMessage(c.codec, c.method), flags),
  })),
  {
    what: "a good message, then an end-stream frame (Connect's 0x02) from the client",
    only: (c) => c.protocol === "connect" && enveloped(c),
    body: (c) => Buffer.concat([envelope(goodMessage(c.codec, c.method)), envelope(Buffer.from("{}"), 0x02)]),
  },
  {
    what: "a good message, then a trailer frame (gRPC-Web's 0x80) from the client",
    only: (c) => c.protocol === "grpc-web",
    body: (c) => Buffer.concat([envelope(goodMessage(c.codec, c.method)), envelope(Buffer.from("x: y\r\n"), 0x80)]),
  },
  {
    what: "two good messages, then a frame flagged 0x04",
    only: (c) => enveloped(c) && takesMany(c),
    body: (c) =>
      Buffer.concat([
        envelope(goodMessage(c.codec, c.method)),
        envelope(goodMessage(c.codec, c.method)),
        envelope(goodMessage(c.codec, c.method), 0x04),
      ]),
  },
];

function send(session: http2.ClientHttp2Session, c: Combination, body: Uint8Array) {
  const headers: Record<string, string> = { "content-type": contentTypeOf(c.protocol, c.codec, c.method) };
  if (c.protocol === "grpc") headers.te = "trailers";
  const stream = session.request({ ":method": "POST", ":path": pathOf(c.method), ...headers });
  return new Promise<ReturnType<typeof outcomeOf>>((resolve, reject) => {
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error("no answer within 5 s")), 5_000);
    stream.on("response", (h) => {
      responseHeaders = h;
    });
    stream.on("trailers", (t) => {
      trailers = t;
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("end", () => {
      clearTimeout(timer);
      const answer = {
        status: Number(responseHeaders[":status"]),
        headers: responseHeaders,
        trailers,
        body: Buffer.concat(chunks),
      };
      try {
        resolve(outcomeOf(c.protocol, c.method, answer));
      } catch (e) {
        reject(e);
      }
    });
    stream.end(body);
  });
}

for (const fastPath of ["on", "off"]) {
  describe(`bodies the protocol does not allow are refused (FAST_PATH=${fastPath})`, () => {
    let server: RunningServer;
    let session: http2.ClientHttp2Session;
    let canary: Canary;

    before(async () => {
      server = await startServer({ FAST_PATH: fastPath });
      session = http2.connect(server.url);
      canary = startCanary(server.url);
    });
    after(async () => {
      session.close();
      const report = await canary.stop();
      await assertStillServing(server.url);
      await server.close();
      console.log(
        `malformed bodies, FAST_PATH=${fastPath}:`,
        `canary ${report.served} calls, p50 ${report.p50Ms.toFixed(1)} ms, p99 ${report.p99Ms.toFixed(1)} ms`,
      );
      assert.deepEqual(report.failures, [], "the canary was served throughout");
      assert.ok(report.served > 0);
    });

    describe("invalid UTF-8 inside a JSON string: invalid_argument, as in a protobuf string", () => {
      for (const bad of invalidUtf8) {
        it(bad.what, async () => {
          for (const c of combinations.filter((one) => one.codec === "json")) {
            const outcome = await send(session, c, bodyOf(c.protocol, c.method, [jsonWithBytes(c.method, bad.bytes)]));
            assert.equal(outcome.code, "invalid_argument", `${labelOf(c)}: ${outcome.message}`);
          }
          // The same bytes in a protobuf string, for comparison.
          for (const c of combinations.filter((one) => one.codec === "proto")) {
            const message = Uint8Array.of(0x0a, 2 + bad.bytes.length, 0x61, ...bad.bytes, 0x62);
            const outcome = await send(session, c, bodyOf(c.protocol, c.method, [message]));
            assert.equal(outcome.code, "invalid_argument", `${labelOf(c)}: ${outcome.message}`);
          }
        });
      }

      it("Connect unary JSON over HTTP/1.1 too", async () => {
        const socket = new H1Socket(server.port);
        try {
          await socket.ready;
          const body = jsonWithBytes(methods[0], [0xc3, 0x28]);
          socket.write(
            Buffer.concat([
              Buffer.from(
                requestHead(pathOf(methods[0]), { "content-type": "application/json", "content-length": body.length }),
              ),
              body,
            ]),
          );
          const response = await socket.nextResponse(5_000);
          assert.equal(response.status, 400);
          assert.equal(JSON.parse(response.body.toString()).code, "invalid_argument");
        } finally {
          socket.destroy();
        }
      });
    });

    describe("envelope flags other than compressed: internal, as grpc-go and connect-go answer", () => {
      for (const frames of badFrames) {
        it(frames.what, async () => {
          for (const c of combinations.filter(frames.only)) {
            const outcome = await send(session, c, frames.body(c));
            assert.equal(outcome.code, "internal", `${labelOf(c)}: ${outcome.message}`);
            assert.match(outcome.message, /invalid envelope flags/, labelOf(c));
          }
        });
      }

      it("gRPC-Web over HTTP/1.1 too, as browsers send it", async () => {
        const socket = new H1Socket(server.port);
        try {
          await socket.ready;
          const c: Combination = { protocol: "grpc-web", codec: "proto", method: methods[0] };
          const body = envelope(goodMessage(c.codec, c.method), 0x02);
          const head = requestHead(pathOf(c.method), {
            "content-type": contentTypeOf(c.protocol, c.codec, c.method),
            "content-length": body.length,
          });
          socket.write(Buffer.concat([Buffer.from(head), body]));
          const response = await socket.nextResponse(5_000);
          const outcome = outcomeOf(c.protocol, c.method, { ...response, trailers: {} });
          assert.equal(outcome.code, "internal", outcome.message);
        } finally {
          socket.destroy();
        }
      });

      it("a message flagged compressed with its encoding named is still served", async () => {
        for (const c of combinations.filter(enveloped)) {
          const { gzipSync } = await import("node:zlib");
          const headers = c.protocol === "connect" ? "connect-content-encoding" : "grpc-encoding";
          const stream = session.request({
            ":method": "POST",
            ":path": pathOf(c.method),
            "content-type": contentTypeOf(c.protocol, c.codec, c.method),
            [headers]: "gzip",
            ...(c.protocol === "grpc" ? { te: "trailers" } : {}),
          });
          const chunks: Buffer[] = [];
          let trailers: http2.IncomingHttpHeaders = {};
          let responseHeaders: http2.IncomingHttpHeaders = {};
          stream.on("response", (h) => {
            responseHeaders = h;
          });
          stream.on("trailers", (t) => {
            trailers = t;
          });
          stream.on("data", (chunk: Buffer) => chunks.push(chunk));
          const ended = new Promise((resolve) => stream.on("end", resolve));
          stream.end(envelope(gzipSync(goodMessage(c.codec, c.method)), 0x01));
          await ended;
          const outcome = outcomeOf(c.protocol, c.method, {
            status: Number(responseHeaders[":status"]),
            headers: responseHeaders,
            trailers,
            body: Buffer.concat(chunks),
          });
          assert.equal(outcome.code, "ok", `${labelOf(c)}: ${outcome.message}`);
        }
      });
    });
  });
}
