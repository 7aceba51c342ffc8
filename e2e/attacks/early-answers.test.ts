import assert from "node:assert/strict";
import { once } from "node:events";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { type Canary, type CanaryReport, startCanary } from "../support/canary.js";
import { type H1Response, H1Socket, requestHead } from "../support/h1-socket.js";
import { assertStillServing, type RunningServer, startServer } from "../support/server.js";

/*
 * Issue 12, point 2: an answer that goes out before the request's body was
 * read (a body over the limit, a bad header, a deadline) must leave an
 * HTTP/1.1 connection able to serve the next request at once, or say
 * `Connection: close` and close it. On the fast lane, the connection said
 * keep-alive and then never answered again: the lane had paused the request,
 * and the drain of the rest of its body never started. Over HTTP/2, a stream
 * whose body the client never finishes is reset a second after its answer
 * (as connect-es's are), rather than left open on the lane until the client
 * goes.
 */

const limit = 64 * 1024;
const getOne = "/simpletest.SimpleTest/GetOne";
/** Wide: an answer is at once when it comes in milliseconds; a dead connection is reset after seconds. */
const atOnceMs = 2_000;

interface EarlyAnswer {
  readonly what: string;
  readonly head: string;
  /** The body bytes sent with the head (all of it, unless `rest` follows). */
  readonly body: Buffer;
  readonly status: number;
  /** The rest of the body, sent after the answer, for a body the client keeps sending. */
  readonly rest?: Buffer;
}

const overLimitJson = Buffer.from(JSON.stringify({ hello: "x".repeat(limit * 3) }));
const overLimitProto = Buffer.concat([Buffer.from([0x0a, 0x80, 0x80, 0x0c]), Buffer.alloc(3 * 65536, 0x61)]);
const good = Buffer.from(JSON.stringify({ hello: "next" }));

const keptAlive: readonly EarlyAnswer[] = [
  {
    what: "a JSON body over the limit",
    head: requestHead(getOne, { "content-type": "application/json", "content-length": overLimitJson.length }),
    body: overLimitJson,
    status: 429,
  },
  {
    what: "a protobuf body over the limit",
    head: requestHead(getOne, { "content-type": "application/proto", "content-length": overLimitProto.length }),
    body: overLimitProto,
    status: 429,
  },
  {
    what: "an unknown content type",
    head: requestHead(getOne, { "content-type": "text/plain", "content-length": overLimitJson.length }),
    body: overLimitJson,
    status: 415,
  },
  {
    what: "a malformed connect-timeout-ms",
    head: requestHead(getOne, {
      "content-type": "application/json",
      "connect-timeout-ms": "abc",
      "content-length": good.length,
    }),
    body: good,
    status: 400,
  },
  {
    what: "a deadline that passes while the body is still coming",
    head: requestHead(getOne, {
      "content-type": "application/json",
      "connect-timeout-ms": "200",
      "content-length": good.length,
    }),
    body: good.subarray(0, 5),
    rest: good.subarray(5),
    status: 504,
  },
];

const closed: readonly EarlyAnswer[] = [
  {
    what: "a Content-Length of 64 MiB, the body never finished",
    head: requestHead(getOne, { "content-type": "application/json", "content-length": 64 * 1024 * 1024 }),
    body: Buffer.from('{"hello":"'),
    status: 429,
  },
  {
    what: "a chunked body over the limit, never finished",
    head: requestHead(getOne, { "content-type": "application/json", "transfer-encoding": "chunked" }),
    body: Buffer.concat([Buffer.from(`${overLimitJson.length.toString(16)}\r\n`), overLimitJson, Buffer.from("\r\n")]),
    status: 429,
  },
];

const next = requestHead(getOne, { "content-type": "application/json", "content-length": good.length }) + good;

for (const fastPath of ["on", "off"]) {
  describe(`after an early answer, an HTTP/1.1 connection serves the next request or is closed (FAST_PATH=${fastPath})`, () => {
    let server: RunningServer;
    let canary: Canary;
    const sockets: H1Socket[] = [];
    let slowestNextMs = 0;

    before(async () => {
      server = await startServer({ FAST_PATH: fastPath, MAX_MESSAGE_BYTES: String(limit) });
      canary = startCanary(server.url);
    });
    after(async () => {
      for (const socket of sockets) socket.destroy();
      const report: CanaryReport = await canary.stop();
      await assertStillServing(server.url);
      await server.close();
      console.log(
        `early answers, FAST_PATH=${fastPath}: slowest next answer ${slowestNextMs.toFixed(1)} ms;`,
        `canary ${report.served} calls, p50 ${report.p50Ms.toFixed(1)} ms, p99 ${report.p99Ms.toFixed(1)} ms`,
      );
      assert.deepEqual(report.failures, [], "the canary was served throughout");
      assert.ok(report.served > 0);
    });

    const open = async () => {
      const socket = new H1Socket(server.port);
      sockets.push(socket);
      await socket.ready;
      return socket;
    };

    for (const early of keptAlive) {
      it(`${early.what}: answered ${early.status}, then the next request on the connection at once`, async () => {
        const socket = await open();
        socket.write(Buffer.concat([Buffer.from(early.head), early.body]));
        const first = await socket.nextResponse(atOnceMs);
        assert.equal(first.status, early.status);
        assert.equal(first.headers.connection, "keep-alive");
        if (early.rest) socket.write(early.rest);
        socket.write(next);
        const second: H1Response = await socket.nextResponse(atOnceMs);
        assert.equal(second.status, 200);
        assert.deepEqual(JSON.parse(second.body.toString()), { result: "Hello !! next" });
        slowestNextMs = Math.max(slowestNextMs, second.afterMs);
      });
    }

    for (const early of closed) {
      it(`${early.what}: answered ${early.status} with Connection: close, and closed`, async () => {
        const socket = await open();
        socket.write(Buffer.concat([Buffer.from(early.head), early.body]));
        const first = await socket.nextResponse(atOnceMs);
        assert.equal(first.status, early.status);
        assert.equal(first.headers.connection, "close");
        await socket.waitClosed(atOnceMs);
      });
    }
  });
}

for (const fastPath of ["on", "off"]) {
  describe(`after an early answer, an HTTP/2 stream whose body never ends is reset (FAST_PATH=${fastPath})`, () => {
    let server: RunningServer;
    before(async () => {
      server = await startServer({ FAST_PATH: fastPath });
    });
    after(() => server.close());

    for (const shape of [
      { what: "gRPC", contentType: "application/grpc", timeout: { "grpc-timeout": "200m" }, status: "4" },
      { what: "Connect", contentType: "application/proto", timeout: { "connect-timeout-ms": "200" }, status: "504" },
    ]) {
      it(`${shape.what}: a deadline passes mid-body; answered, then the stream is reset within seconds`, {
        timeout: 20_000,
      }, async () => {
        const session = http2.connect(server.url);
        try {
          const stream = session.request(
            {
              ":method": "POST",
              ":path": getOne,
              "content-type": shape.contentType,
              te: "trailers",
              ...shape.timeout,
            },
            { endStream: false },
          );
          stream.write(Buffer.from([0, 0, 0, 0, 10, 1]));
          const answered = new Promise<string | undefined>((resolve) => {
            // A gRPC error with no message comes Trailers-Only: its status is in the headers.
            stream.on("response", (h) => {
              if (h[":status"] !== 200) resolve(String(h[":status"]));
              else if (h["grpc-status"] !== undefined) resolve(String(h["grpc-status"]));
            });
            stream.on("trailers", (t) => resolve(t["grpc-status"] as string | undefined));
          });
          stream.on("data", () => {});
          const closed = new Promise<number>((resolve) => stream.on("close", () => resolve(stream.rstCode ?? -1)));
          assert.equal(await answered, shape.status);
          const started = performance.now();
          await Promise.race([
            closed,
            new Promise((_, reject) => setTimeout(() => reject(new Error("the stream is still open")), 5_000)),
          ]);
          assert.equal(stream.rstCode, http2.constants.NGHTTP2_CANCEL);
          assert.ok(performance.now() - started < 5_000);
        } finally {
          session.destroy();
        }
      });

      it(`${shape.what}: a deadline passes mid-body; answered, then the client ends its request: the stream and its connection close`, {
        timeout: 20_000,
      }, async () => {
        const session = http2.connect(server.url);
        try {
          const stream = session.request(
            { ":method": "POST", ":path": getOne, "content-type": shape.contentType, te: "trailers", ...shape.timeout },
            { endStream: false },
          );
          stream.write(Buffer.from([0, 0, 0, 0, 10, 1]));
          stream.on("data", () => {});
          await once(stream, "response");
          stream.end(Buffer.alloc(9));
          // A graceful close waits for every stream the server still holds open.
          const closed = once(session, "close", { signal: AbortSignal.timeout(5_000) });
          session.close();
          await assert.doesNotReject(closed, "the connection is still open 5 s after the client ended its request");
        } finally {
          session.destroy();
        }
      });
    }
  });
}
