import assert from "node:assert/strict";
import { once } from "node:events";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { envelope, h2cRequest, type RawH2Response, readAnswer } from "./support/raw-http.js";
import { requestOneBytes } from "./support/request-bytes.js";
import { type RunningServer, startServer } from "./support/server.js";

const grpcHeaders = { "content-type": "application/grpc", te: "trailers" };
const maxMessageBytes = 100;

/** A gRPC request whose body never ends: only its deadline ends it. */
async function bodyNeverEnds(url: string, path: string, timeout: string): Promise<RawH2Response> {
  const session = http2.connect(url);
  try {
    const stream = session.request({ ":method": "POST", ":path": path, ...grpcHeaders, "grpc-timeout": timeout });
    stream.write(envelope(requestOneBytes("x")).subarray(0, 3));
    return await readAnswer(stream);
  } finally {
    session.destroy();
  }
}

/** Waits for the answer's status and reads its body to the end. */
async function readAnswerHead(stream: http2.ClientHttp2Stream): Promise<number> {
  const [headers] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
  stream.resume();
  await once(stream, "end");
  return Number(headers[":status"]);
}

/**
 * Each answer with no message that the server writes, for each path that
 * writes one: the not-found handler, connect-es before and after decoding, the
 * fast lane. A proxy passes the status on only if it is in the one HEADERS
 * frame that ends the stream, with no content-length (HAProxy 2.6 dropped
 * trailers after `content-length: 0`; e2e/cluster.test.ts checks through it).
 */
const cases: { name: string; code: number; ask: (url: string) => Promise<RawH2Response> }[] = [
  { name: "unknown method", code: 12, ask: (url) => h2cRequest(url, "/simpletest.SimpleTest/Nope", grpcHeaders) },
  { name: "unknown service", code: 12, ask: (url) => h2cRequest(url, "/nope.Nope/GetOne", grpcHeaders) },
  {
    name: "a message that does not decode",
    code: 3,
    ask: (url) =>
      h2cRequest(url, "/simpletest.SimpleTest/GetOne", grpcHeaders, envelope(Uint8Array.of(0x0a, 0x05, 0x61))),
  },
  {
    name: "a message over MAX_MESSAGE_BYTES",
    code: 8,
    ask: (url) =>
      h2cRequest(
        url,
        "/simpletest.SimpleTest/GetOne",
        grpcHeaders,
        envelope(requestOneBytes("x".repeat(maxMessageBytes))),
      ),
  },
  {
    name: "an envelope flagged compressed with no grpc-encoding",
    code: 13,
    ask: (url) => h2cRequest(url, "/simpletest.SimpleTest/GetOne", grpcHeaders, envelope(requestOneBytes("x"), 1)),
  },
  {
    name: "a malformed grpc-timeout",
    code: 3,
    ask: (url) =>
      h2cRequest(
        url,
        "/simpletest.SimpleTest/GetOne",
        { ...grpcHeaders, "grpc-timeout": "soon" },
        envelope(requestOneBytes("x")),
      ),
  },
  {
    name: "a unary call whose deadline passes before its request ends",
    code: 4,
    ask: (url) => bodyNeverEnds(url, "/simpletest.SimpleTest/GetOne", "200m"),
  },
  {
    name: "a server stream whose deadline passes before its request ends",
    code: 4,
    ask: (url) => bodyNeverEnds(url, "/simpletest.SimpleTest/GetList", "200m"),
  },
];

for (const fastPath of ["on", "off"]) {
  describe(`answers are well-formed for proxies (FAST_PATH=${fastPath})`, () => {
    let server: RunningServer;
    before(async () => {
      server = await startServer({ FAST_PATH: fastPath, MAX_MESSAGE_BYTES: String(maxMessageBytes) });
    });
    after(() => server?.close());

    for (const { name, code, ask } of cases) {
      it(`${name}: Trailers-Only, grpc-status ${code}, no content-length`, async () => {
        const answer = await ask(server.url);
        assert.equal(answer.status, 200);
        assert.equal(answer.headers["grpc-status"], String(code), JSON.stringify(answer.headers));
        assert.equal(answer.headers["content-length"], undefined);
        assert.ok(answer.endedWithHeaders, "the HEADERS frame ends the stream");
        assert.deepEqual(answer.trailers, {});
        assert.equal(answer.body.length, 0);
      });
    }

    it("an answer with messages: head without content-length, then the messages, then the status as trailers", async () => {
      const answer = await h2cRequest(
        server.url,
        "/simpletest.SimpleTest/GetOne",
        grpcHeaders,
        envelope(requestOneBytes("x")),
      );
      assert.equal(answer.headers["content-length"], undefined);
      assert.equal(answer.headers["grpc-status"], undefined);
      assert.ok(answer.body.length > 5);
      assert.equal(answer.trailers["grpc-status"], "0");
    });

    it("an answer given before the request body ends leaves the stream open for the rest (no reset)", async () => {
      const session = http2.connect(server.url);
      try {
        const stream = session.request({
          ":method": "POST",
          ":path": "/simpletest.SimpleTest/Nope",
          "content-type": "application/proto",
        });
        stream.write("x");
        const answer = await readAnswerHead(stream);
        assert.equal(answer, 404);
        // Node resets such a stream (RST_STREAM NO_ERROR) as soon as its answer is out; HAProxy
        // 2.6 then dropped the answer or the HTTP/1.1 client's connection (EPIPE) 1 time in 6.
        await sleep(100);
        assert.equal(stream.closed, false, "the server reset the stream");
        stream.end("rest of the body");
        await once(stream, "close");
        assert.equal(stream.rstCode, http2.constants.NGHTTP2_NO_ERROR);
      } finally {
        session.destroy();
      }
    });

    it("gRPC-Web keeps its status in the headers of an empty answer", async () => {
      const answer = await h2cRequest(server.url, "/simpletest.SimpleTest/Nope", {
        "content-type": "application/grpc-web+proto",
      });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers["grpc-status"], "12");
      assert.equal(answer.body.length, 0);
    });
  });
}
