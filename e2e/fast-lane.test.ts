import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createContextValues, createServiceImplSpec, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import { SimpleTest } from "../gen/simpletest/simple_test_pb.js";
import { type App, buildApp } from "../server/app.js";
import { createCallDeadline } from "../server/call-deadline.js";
import { loadConfig } from "../server/config.js";
import { createFastLane } from "../server/fast-lane/fast-lane.js";
import { createOnePortServer } from "../server/listen/one-port.js";
import { createRequestBodyBudget } from "../server/request-body-budget.js";
import { createSimpleTestService } from "../server/services/simple-test.js";
import { envelope, h2cRequest, type RawResponse, readAnswer } from "./support/raw-http.js";
import {
  assertStillServing,
  type InProcessServer,
  type ServerProcess,
  spawnServer,
  startServer,
} from "./support/server.js";

const getOne = "/simpletest.SimpleTest/GetOne";
const getList = "/simpletest.SimpleTest/GetList";
const postList = "/simpletest.SimpleTest/PostList";
const postAndPost = "/simpletest.SimpleTest/PostAndPost";
const grpc = { "content-type": "application/grpc", te: "trailers" };
const grpcWeb = { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" };
const json = { "content-type": "application/json" } as const;
/** A Connect JSON call of GetOne over HTTP/1.1 with this body. */
const connectJson = (body: string) => (url: string) => h1Request(url, getOne, json, Buffer.from(body));
/** The one origin both servers' CORS_ORIGINS list. */
const listedOrigin = "http://allowed.example";
const limit = 1024;
const requestOne = (hello: string) => {
  const text = Buffer.from(hello);
  // Field 1, length-delimited; lengths here stay under 16 KiB (two varint bytes at most).
  const length = text.length < 128 ? [text.length] : [(text.length & 0x7f) | 0x80, text.length >> 7];
  return Uint8Array.from([0x0a, ...length, ...text]);
};

/** `count` RequestList messages, each in its envelope, back to back. */
const stream = (count: number, namelist = "world") =>
  Buffer.concat(Array.from({ length: count }, (_, i) => envelope(requestOne(`${namelist}${i}`))));

/**
 * A gRPC call whose request parts go out one at a time: each after the
 * answer's next bytes arrived (`waitFor: "answer"`, a ping-pong client), or
 * after a pause (`"pause"`); then the request ends.
 */
async function inParts(
  url: string,
  path: string,
  parts: Uint8Array[],
  waitFor: "answer" | "pause",
  headers: Record<string, string> = {},
) {
  const session = http2.connect(url);
  try {
    // Else the first parts could wait for the connection and go out together.
    await once(session, "connect");
    const call = session.request({ ":method": "POST", ":path": path, ...grpc, ...headers });
    const answer = readAnswer(call);
    for (const [i, part] of parts.entries()) {
      if (i > 0 && waitFor === "pause") await sleep(50);
      if (i > 0 && waitFor === "answer") await once(call, "data");
      call.write(part);
    }
    call.end();
    return await answer;
  } finally {
    session.close();
  }
}

/** One HTTP/1.1 request; the answer as the client sees it. */
function h1Request(url: string, path: string, headers: Record<string, string>, body: Uint8Array): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url + path, { method: "POST", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          trailers: res.trailers,
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** What must match byte for byte: everything but the date. */
function comparable(res: RawResponse) {
  const { date: _, ...headers } = res.headers;
  return { status: res.status, headers, trailers: res.trailers, body: res.body.toString("base64") };
}

/** Each request, and which path answers it with the lane on (off, connect-es answers all). */
const cases: [string, "lane" | "connect-es", (url: string) => Promise<RawResponse>][] = [
  ["gRPC: a good call", "lane", (url) => h2cRequest(url, getOne, grpc, envelope(requestOne("world")))],
  [
    "gRPC: with a deadline",
    "lane",
    (url) => h2cRequest(url, getOne, { ...grpc, "grpc-timeout": "5S" }, envelope(requestOne("x"))),
  ],
  [
    "gRPC: a deadline already passed",
    "lane",
    (url) => h2cRequest(url, getOne, { ...grpc, "grpc-timeout": "0n" }, envelope(requestOne("x"))),
  ],
  [
    "gRPC: a malformed deadline",
    "connect-es",
    (url) => h2cRequest(url, getOne, { ...grpc, "grpc-timeout": "1x" }, envelope(requestOne("x"))),
  ],
  [
    "gRPC: an answer compressed because the client accepts gzip",
    "lane",
    (url) =>
      h2cRequest(url, getOne, { ...grpc, "grpc-accept-encoding": "gzip" }, envelope(requestOne("z".repeat(1000)))),
  ],
  [
    "gRPC: an unknown method",
    "connect-es",
    (url) => h2cRequest(url, "/simpletest.SimpleTest/Nope", grpc, envelope(requestOne("x"))),
  ],
  [
    "gRPC: a request over the size limit",
    "connect-es",
    (url) => h2cRequest(url, getOne, grpc, envelope(requestOne("x".repeat(limit + 10)))),
  ],
  [
    "gRPC: an answer over the size limit",
    "lane",
    (url) => h2cRequest(url, getOne, grpc, envelope(requestOne("x".repeat(limit - 12)))),
  ],
  [
    "gRPC: a truncated message",
    "connect-es",
    (url) => h2cRequest(url, getOne, grpc, envelope(Uint8Array.of(0x0a, 0x05, 0x61))),
  ],
  [
    "gRPC: invalid UTF-8",
    "connect-es",
    (url) => h2cRequest(url, getOne, grpc, envelope(Uint8Array.of(0x0a, 0x02, 0xc3, 0x28))),
  ],
  [
    "gRPC: an envelope whose length runs past the end",
    "connect-es",
    (url) => h2cRequest(url, getOne, grpc, envelope(requestOne("abc")).slice(0, 6)),
  ],
  ["gRPC: no message at all", "connect-es", (url) => h2cRequest(url, getOne, grpc, new Uint8Array(0))],
  [
    "gRPC: two messages for a unary method",
    "connect-es",
    (url) => h2cRequest(url, getOne, grpc, Buffer.concat([envelope(requestOne("a")), envelope(requestOne("b"))])),
  ],
  [
    "gRPC: the compressed flag without an encoding",
    "connect-es",
    (url) => h2cRequest(url, getOne, grpc, envelope(requestOne("a"), 1)),
  ],
  ["gRPC GetList: a good call", "lane", (url) => h2cRequest(url, getList, grpc, envelope(requestOne("world")))],
  [
    "gRPC GetList: a client that accepts gzip",
    "lane",
    (url) =>
      h2cRequest(url, getList, { ...grpc, "grpc-accept-encoding": "gzip" }, envelope(requestOne("z".repeat(900)))),
  ],
  [
    "gRPC GetList: a deadline already passed",
    "lane",
    (url) => h2cRequest(url, getList, { ...grpc, "grpc-timeout": "0n" }, envelope(requestOne("x"))),
  ],
  [
    "gRPC GetList: a truncated message",
    "connect-es",
    (url) => h2cRequest(url, getList, grpc, envelope(Uint8Array.of(0x0a, 0x05))),
  ],
  [
    "gRPC GetList: two messages for a server-streaming method",
    "connect-es",
    (url) => h2cRequest(url, getList, grpc, Buffer.concat([envelope(requestOne("a")), envelope(requestOne("b"))])),
  ],
  [
    "gRPC GetList: a request over the size limit",
    "connect-es",
    (url) => h2cRequest(url, getList, grpc, envelope(requestOne("x".repeat(limit + 10)))),
  ],
  ["gRPC PostList: ten messages in one go", "lane", (url) => h2cRequest(url, postList, grpc, stream(10))],
  ["gRPC PostList: no message at all", "lane", (url) => h2cRequest(url, postList, grpc, new Uint8Array(0))],
  [
    "gRPC PostList: with a deadline",
    "lane",
    (url) => h2cRequest(url, postList, { ...grpc, "grpc-timeout": "5S" }, stream(3)),
  ],
  [
    "gRPC PostList: a deadline already passed",
    "lane",
    (url) => h2cRequest(url, postList, { ...grpc, "grpc-timeout": "0n" }, stream(3)),
  ],
  [
    "gRPC PostList: a truncated message after good ones",
    "connect-es",
    (url) => h2cRequest(url, postList, grpc, Buffer.concat([stream(2), envelope(Uint8Array.of(0x0a, 0x05, 0x61))])),
  ],
  [
    "gRPC PostList: an envelope cut short at the end",
    "connect-es",
    (url) => h2cRequest(url, postList, grpc, stream(2).subarray(0, -3)),
  ],
  [
    "gRPC PostList: a message over the size limit after a good one (the lane serves a stream it stops reading whole)",
    "lane",
    (url) => h2cRequest(url, postList, grpc, Buffer.concat([stream(1), envelope(requestOne("x".repeat(limit + 10)))])),
  ],
  [
    "gRPC PostList: the compressed flag on the second message",
    "connect-es",
    (url) => h2cRequest(url, postList, grpc, Buffer.concat([stream(1), envelope(requestOne("a"), 1)])),
  ],
  [
    "gRPC PostList: messages sent with pauses between them (a slow stream: the lane serves it as it comes)",
    "lane",
    (url) => inParts(url, postList, [stream(1), stream(2), stream(1)], "pause"),
  ],
  ...(
    [
      ["an envelope flagged 0x80 (a server's trailers)", envelope(requestOne("b"), 0x80)],
      ["a message over the size limit", envelope(requestOne("x".repeat(limit + 10)))],
      ["a message flagged compressed", envelope(requestOne("b"), 1)],
      ["an undecodable message", envelope(Uint8Array.of(0x0a, 0x05, 0x61))],
      ["an envelope cut short at the end", stream(1).subarray(0, -3)],
    ] as const
  ).map(([what, bad]): (typeof cases)[number] => [
    `gRPC PostList: good messages, a pause, then ${what}`,
    "lane",
    (url) => inParts(url, postList, [stream(2), Buffer.concat([stream(1), bad])], "pause"),
  ]),
  [
    "gRPC PostList: the client's deadline passes while the stream pauses",
    "lane",
    (url) => inParts(url, postList, [stream(1), stream(1)], "pause", { "grpc-timeout": "20m" }),
  ],
  [
    "gRPC PostList: the headers, then the messages after a pause (the lane waits for a client stream's first byte)",
    "lane",
    (url) => inParts(url, postList, [new Uint8Array(0), stream(3)], "pause"),
  ],
  ["gRPC PostAndPost: ten messages in one go", "lane", (url) => h2cRequest(url, postAndPost, grpc, stream(10))],
  ["gRPC PostAndPost: no message at all", "lane", (url) => h2cRequest(url, postAndPost, grpc, new Uint8Array(0))],
  [
    "gRPC PostAndPost: a client that accepts gzip",
    "lane",
    (url) => h2cRequest(url, postAndPost, { ...grpc, "grpc-accept-encoding": "gzip" }, stream(3, "z".repeat(300))),
  ],
  [
    "gRPC PostAndPost: a ping-pong client, each message after the last answer",
    "lane",
    (url) => inParts(url, postAndPost, [stream(1, "a"), stream(1, "b"), stream(1, "c")], "answer"),
  ],
  [
    "gRPC PostAndPost: a ping-pong client, twenty messages",
    "lane",
    (url) =>
      inParts(
        url,
        postAndPost,
        Array.from({ length: 20 }, (_, i) => stream(1, `m${i}`)),
        "answer",
      ),
  ],
  [
    "gRPC PostAndPost: four messages sent in 3-byte pieces with pauses between",
    "lane",
    (url) => {
      const body = stream(4);
      const pieces = Array.from({ length: Math.ceil(body.length / 3) }, (_, i) => body.subarray(3 * i, 3 * i + 3));
      return inParts(url, postAndPost, pieces, "pause");
    },
  ],
  [
    "gRPC PostAndPost: a ping-pong client, then an envelope flagged 2",
    "lane",
    (url) => inParts(url, postAndPost, [stream(1, "a"), envelope(requestOne("b"), 2)], "answer"),
  ],
  [
    "gRPC PostAndPost: a ping-pong client, then an undecodable message",
    "lane",
    (url) => inParts(url, postAndPost, [stream(1, "a"), envelope(Uint8Array.of(0x0a, 0x05))], "answer"),
  ],
  [
    "gRPC PostAndPost: an undecodable message after good ones",
    "connect-es",
    (url) => h2cRequest(url, postAndPost, grpc, Buffer.concat([stream(2), envelope(Uint8Array.of(0x0a, 0x05))])),
  ],
  ["gRPC-Web: a good call", "lane", (url) => h2cRequest(url, getOne, grpcWeb, envelope(requestOne("world")))],
  [
    "gRPC-Web over HTTP/1.1: a good call",
    "lane",
    (url) => h1Request(url, getOne, grpcWeb, envelope(requestOne("world"))),
  ],
  [
    "gRPC-Web over HTTP/1.1: the content type without +proto",
    "lane",
    (url) => h1Request(url, getOne, { "content-type": "application/grpc-web" }, envelope(requestOne("world"))),
  ],
  [
    "gRPC-Web: with a deadline",
    "lane",
    (url) => h2cRequest(url, getOne, { ...grpcWeb, "grpc-timeout": "5S" }, envelope(requestOne("x"))),
  ],
  [
    "gRPC-Web: a deadline already passed (the status in the body's one envelope)",
    "lane",
    (url) => h2cRequest(url, getOne, { ...grpcWeb, "grpc-timeout": "0n" }, envelope(requestOne("x"))),
  ],
  [
    "gRPC-Web over HTTP/1.1: a deadline already passed",
    "lane",
    (url) => h1Request(url, getOne, { ...grpcWeb, "grpc-timeout": "0n" }, envelope(requestOne("x"))),
  ],
  [
    "gRPC-Web: an answer compressed because the client accepts gzip",
    "lane",
    (url) =>
      h2cRequest(url, getOne, { ...grpcWeb, "grpc-accept-encoding": "gzip" }, envelope(requestOne("z".repeat(1000)))),
  ],
  [
    "gRPC-Web: an answer over the size limit",
    "lane",
    (url) => h2cRequest(url, getOne, grpcWeb, envelope(requestOne("x".repeat(limit - 12)))),
  ],
  [
    "gRPC-Web: a truncated message",
    "connect-es",
    (url) => h2cRequest(url, getOne, grpcWeb, envelope(Uint8Array.of(0x0a, 0x05, 0x61))),
  ],
  [
    "gRPC-Web: two messages for a unary method",
    "connect-es",
    (url) => h2cRequest(url, getOne, grpcWeb, Buffer.concat([envelope(requestOne("a")), envelope(requestOne("b"))])),
  ],
  [
    "gRPC-Web: an envelope flagged as trailers",
    "connect-es",
    (url) => h2cRequest(url, getOne, grpcWeb, envelope(requestOne("a"), 0x80)),
  ],
  [
    "gRPC-Web: a request over the size limit",
    "connect-es",
    (url) => h2cRequest(url, getOne, grpcWeb, envelope(requestOne("x".repeat(limit + 10)))),
  ],
  [
    "gRPC-Web: a call from a page of a listed origin (CORS lets it read the answer)",
    "lane",
    (url) => h2cRequest(url, getOne, { ...grpcWeb, origin: listedOrigin }, envelope(requestOne("x"))),
  ],
  [
    "gRPC-Web over HTTP/1.1: a call from a page of another origin (CORS says nothing its browser would accept)",
    "lane",
    (url) => h1Request(url, getOne, { ...grpcWeb, origin: "http://example.com" }, envelope(requestOne("x"))),
  ],
  [
    "gRPC-Web GetList: a call from a page of a listed origin, a deadline already passed",
    "lane",
    (url) =>
      h2cRequest(url, getList, { ...grpcWeb, origin: listedOrigin, "grpc-timeout": "0n" }, envelope(requestOne("x"))),
  ],
  [
    "gRPC-Web: a call from a page of a listed origin, a truncated message",
    "connect-es",
    (url) => h2cRequest(url, getOne, { ...grpcWeb, origin: listedOrigin }, envelope(Uint8Array.of(0x0a, 0x05, 0x61))),
  ],
  [
    "gRPC-Web: the text encoding",
    "connect-es",
    (url) =>
      h2cRequest(
        url,
        getOne,
        { "content-type": "application/grpc-web-text" },
        Buffer.from(Buffer.from(envelope(requestOne("x"))).toString("base64")),
      ),
  ],
  [
    "gRPC-Web: JSON messages",
    "connect-es",
    (url) => h2cRequest(url, getOne, { "content-type": "application/grpc-web+json" }, envelope(Buffer.from("{}"))),
  ],
  ["gRPC-Web GetList: a good call", "lane", (url) => h2cRequest(url, getList, grpcWeb, envelope(requestOne("world")))],
  [
    "gRPC-Web GetList over HTTP/1.1: a good call",
    "lane",
    (url) => h1Request(url, getList, grpcWeb, envelope(requestOne("world"))),
  ],
  [
    "gRPC-Web GetList: a client that accepts gzip",
    "lane",
    (url) =>
      h2cRequest(url, getList, { ...grpcWeb, "grpc-accept-encoding": "gzip" }, envelope(requestOne("z".repeat(900)))),
  ],
  [
    "gRPC-Web GetList: a deadline already passed",
    "lane",
    (url) => h2cRequest(url, getList, { ...grpcWeb, "grpc-timeout": "0n" }, envelope(requestOne("x"))),
  ],
  [
    "gRPC-Web GetList: two messages for a server-streaming method",
    "connect-es",
    (url) => h2cRequest(url, getList, grpcWeb, Buffer.concat([envelope(requestOne("a")), envelope(requestOne("b"))])),
  ],
  [
    "gRPC-Web PostList: a client stream (connect-es's)",
    "connect-es",
    (url) => h2cRequest(url, postList, grpcWeb, stream(3)),
  ],
  [
    "Connect proto over h2c: a good call",
    "lane",
    (url) => h2cRequest(url, getOne, { "content-type": "application/proto" }, requestOne("world")),
  ],
  ["Connect JSON over HTTP/1.1: a good call", "lane", connectJson('{"hello":"world"}')],
  [
    "Connect JSON over HTTP/1.1: with a deadline",
    "lane",
    (url) => h1Request(url, getOne, { ...json, "connect-timeout-ms": "5000" }, Buffer.from("{}")),
  ],
  [
    "Connect JSON over HTTP/1.1: an answer compressed because the client accepts gzip",
    "lane",
    (url) =>
      h1Request(url, getOne, { ...json, "accept-encoding": "gzip" }, Buffer.from(`{"hello":"${"z".repeat(1000)}"}`)),
  ],
  [
    "Connect JSON over HTTP/1.1: an answer beyond ASCII, with a 4-byte character and characters JSON escapes",
    "lane",
    connectJson('{"hello":"é€😀\\"\\n\\u0001"}'),
  ],
  [
    "Connect JSON over HTTP/1.1: a request with whitespace between its tokens",
    "lane",
    connectJson('\r\n{ "hello" :\t"world" }\n'),
  ],
  [
    "Connect JSON over HTTP/1.1: a request with a key the message does not have, which connect-es ignores",
    "lane",
    connectJson('{"hello":"a","other":[1,{"b":null}]}'),
  ],
  [
    "Connect JSON over h2c: an answer beyond ASCII",
    "lane",
    (url) => h2cRequest(url, getOne, json, Buffer.from('{"hello":"é€😀"}')),
  ],
  [
    "Connect JSON over HTTP/1.1: an answer over the size limit",
    "lane",
    connectJson(`{"hello":"${"x".repeat(limit - 12)}"}`),
  ],
  [
    "Connect JSON over HTTP/1.1: a call from a page of a listed origin",
    "lane",
    (url) => h1Request(url, getOne, { ...json, origin: listedOrigin }, Buffer.from("{}")),
  ],
  [
    "Connect proto over h2c: a call from a page of another origin, an answer over the size limit",
    "lane",
    (url) =>
      h2cRequest(
        url,
        getOne,
        { "content-type": "application/proto", origin: "null" },
        requestOne("x".repeat(limit - 12)),
      ),
  ],
  ["Connect JSON over HTTP/1.1: a wrong JSON type", "connect-es", connectJson('{"hello":1}')],
  ["Connect JSON over HTTP/1.1: a key given twice", "connect-es", connectJson('{"hello":"a","hello":"b"}')],
  ["Connect JSON over HTTP/1.1: invalid JSON", "connect-es", connectJson('{"hello":')],
  [
    "Connect JSON over HTTP/1.1: a request over the size limit",
    "connect-es",
    connectJson(`{"hello":"${"x".repeat(limit)}"}`),
  ],
  [
    "Connect proto over HTTP/1.1: an undecodable message",
    "connect-es",
    (url) => h1Request(url, getOne, { "content-type": "application/proto" }, Uint8Array.of(0x0a, 0x05, 0x61)),
  ],
  [
    "Connect proto over HTTP/1.1: an unknown method",
    "connect-es",
    (url) => h1Request(url, "/simpletest.SimpleTest/Nope", { "content-type": "application/proto" }, requestOne("x")),
  ],
];

/**
 * A server's log lines, parsed, with what differs from call to call taken
 * out (time, duration, the peer's port); each reqId is checked and replaced.
 */
function comparableLog(lines: string[]) {
  return lines.map((line) => {
    const { time: _, durationMs, reqId, peer, err, ...fields } = JSON.parse(line);
    if (fields.msg === "rpc") {
      assert.match(reqId, /^req-[0-9a-z]+$/, line);
      assert.equal(typeof durationMs, "number", line);
    }
    return {
      ...fields,
      reqId: reqId === undefined ? undefined : "req-N",
      peer: peer?.replace(/:\d+$/, ":port"),
      err: err === undefined ? undefined : { type: err.type, message: err.message },
    };
  });
}

/** The RPC counters from /metrics: every series but timings (durations' buckets and sums). */
async function rpcMetrics(url: string): Promise<string[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split("\n").filter((line) => line.startsWith("grpc_server_") && !/_(bucket|sum)\{/.test(line));
}

const laneAnswered = (server: InProcessServer) => server.app.fastLane?.answered() ?? 0;

describe("the fast lane answers exactly as connect-es does (FAST_PATH=on vs off)", () => {
  let on: InProcessServer;
  let off: InProcessServer;
  const logOf = { on: [] as string[], off: [] as string[] };
  before(async () => {
    const env = { MAX_MESSAGE_BYTES: String(limit), LOG_LEVEL: "info", CORS_ORIGINS: listedOrigin };
    [on, off] = await Promise.all([
      startServer({ ...env, FAST_PATH: "on" }, { logStream: { write: (line) => logOf.on.push(line) } }),
      startServer({ ...env, FAST_PATH: "off" }, { logStream: { write: (line) => logOf.off.push(line) } }),
    ]);
    assert.ok(on.app.fastLane, "FAST_PATH=on serves through the lane");
    assert.equal(off.app.fastLane, undefined, "FAST_PATH=off has no lane to answer anything");
  });
  after(() => Promise.all([on?.close(), off?.close()]));

  for (const [what, path, send] of cases) {
    it(`${what} (on, ${path} answers)`, async () => {
      logOf.on.length = 0;
      logOf.off.length = 0;
      const answeredBefore = laneAnswered(on);
      const [fast, plain] = [comparable(await send(on.url)), comparable(await send(off.url))];
      assert.deepEqual(fast, plain);
      // Proof of the path, without touching the bytes: the lane counts the calls it answered.
      assert.equal(laneAnswered(on) - answeredBefore, path === "lane" ? 1 : 0, "calls the lane answered");
      // A call's line is written as it ends, which may be just after its last byte left.
      await sleep(20);
      assert.deepEqual(comparableLog(logOf.on), comparableLog(logOf.off));
    });
  }

  it("the RPC metrics, after every case, are the same on both servers", async () => {
    const [fast, plain] = await Promise.all([rpcMetrics(on.url), rpcMetrics(off.url)]);
    assert.ok(fast.length > 0);
    assert.deepEqual(fast, plain);
  });

  it("a good call really answers (the comparison is not between two failures)", async () => {
    const res = await h2cRequest(on.url, getOne, grpc, envelope(requestOne("world")));
    assert.equal(res.trailers["grpc-status"], "0");
    assert.ok(res.body.includes("Hello !! world"));
  });
});

/**
 * Builds the app with FAST_PATH as given, sends `calls` gRPC GetOne calls (the
 * lane's hottest shape), and counts the requests that reached Node's
 * compatibility layer: the "request" events of the HTTP/2 server the front makes.
 * Also says which "stream" listeners that server was ever given and lost: Node
 * adds its compatibility layer's own with the front's first "request" listener.
 */
async function compatRequests(fastPath: "on" | "off", calls: number) {
  const made: http2.Http2Server[] = [];
  const streamListeners = { added: [] as unknown[], removed: [] as unknown[] };
  const createServer = http2.createServer;
  // The front calls http2.createServer once: that server is the one to watch.
  http2.createServer = ((...args: Parameters<typeof createServer>) => {
    const server = createServer(...args);
    made.push(server);
    server.on("newListener", (event, listener) => event === "stream" && streamListeners.added.push(listener));
    server.on("removeListener", (event, listener) => event === "stream" && streamListeners.removed.push(listener));
    return server;
  }) as typeof createServer;
  let app: App;
  try {
    app = await buildApp(loadConfig({ LOG_LEVEL: "silent", PORT: "0", HOST: "127.0.0.1", FAST_PATH: fastPath }));
  } finally {
    http2.createServer = createServer;
  }
  assert.equal(made.length, 1);
  let requests = 0;
  made[0].on("request", () => requests++);
  const streams: http2.ServerHttp2Stream[] = [];
  made[0].on("session", (session: http2.ServerHttp2Session) => session.on("stream", (stream) => streams.push(stream)));
  await app.fastify.listen({ host: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${(app.fastify.server.address() as AddressInfo).port}`;
  for (let i = 0; i < calls; i++) {
    const res = await h2cRequest(url, getOne, grpc, envelope(requestOne("x")));
    assert.equal(res.trailers["grpc-status"], "0");
  }
  const listening = made[0].listeners("stream");
  await Promise.all(streams.map((stream) => stream.closed || once(stream, "close")));
  await sleep(0);
  const closedStreams = streams.map((stream) => stream.eventNames().map((name) => [name, stream.listenerCount(name)]));
  await app.fastify.close();
  return { requests, lane: app.fastLane, streamListeners: { ...streamListeners, listening }, closedStreams };
}

describe("client streams that pause inside a message or run long, on the fast lane as through connect-es", () => {
  let on: InProcessServer;
  let off: InProcessServer;
  const bodyTimeoutMs = 300;
  before(async () => {
    const env = { REQUEST_BODY_TIMEOUT_MS: String(bodyTimeoutMs), LOG_LEVEL: "silent" };
    [on, off] = await Promise.all([
      startServer({ ...env, FAST_PATH: "on" }),
      startServer({ ...env, FAST_PATH: "off" }),
    ]);
  });
  after(() => Promise.all([on?.close(), off?.close()]));

  /**
   * Sends `body`: whole, or its first `sent` bytes and, after `pauseMs`, the
   * rest (without it, a client that stalls there); and reads the answer.
   */
  async function send(url: string, body: Uint8Array, sent = body.length, pauseMs?: number) {
    const session = http2.connect(url);
    try {
      const call = session.request({ ":method": "POST", ":path": postList, ...grpc });
      const answer = readAnswer(call);
      if (sent < body.length) {
        call.write(body.subarray(0, sent));
        if (pauseMs !== undefined) await sleep(pauseMs).then(() => call.end(body.subarray(sent)));
      } else call.end(body);
      return comparable(await answer);
    } finally {
      // A stalled call's stream is still open on the client's side: the connection goes with it.
      session.destroy();
    }
  }

  it("a message that pauses midway (for less than the body timeout): the lane waits for the rest", async () => {
    const whole = stream(2, "y".repeat(1000));
    const before = laneAnswered(on);
    const sent = whole.length - 500;
    const [fast, plain] = await Promise.all([send(on.url, whole, sent, 100), send(off.url, whole, sent, 100)]);
    assert.deepEqual(fast, plain);
    assert.equal(fast.trailers["grpc-status"], "0");
    assert.ok(Buffer.from(fast.body, "base64").includes("PostList OK"));
    assert.equal(laneAnswered(on) - before, 1, "the lane answered it");
  });

  it("ten 64 KiB messages: longer than the lane holds whole, so it serves them a message at a time", async () => {
    const body = stream(10, "x".repeat(64 * 1024));
    const before = laneAnswered(on);
    const [fast, plain] = [await send(on.url, body), await send(off.url, body)];
    assert.deepEqual(fast, plain);
    assert.equal(fast.trailers["grpc-status"], "0");
    assert.equal(laneAnswered(on) - before, 1, "the lane answered it");
  });

  for (const [how, cut, code] of [
    // Node's client half-closes a stream before it resets it: the upload ends inside a message.
    ["ends its upload inside a message, then resets", "close", "InvalidArgument"],
    // gRPC clients such as grpc-go reset a stream outright: the reset is what the server sees.
    ["resets its stream inside a message", "destroy", "Canceled"],
  ] as const) {
    it(`a client that ${how}, once the lane serves it live: ${code}, as through connect-es`, async () => {
      const handled = async (url: string) =>
        (await rpcMetrics(url)).filter(
          (line) => line.startsWith("grpc_server_handled_total") && line.includes("PostList"),
        );
      const count = (lines: string[]) =>
        Number(
          lines
            .find((line) => line.includes(`grpc_code="${code}"`))
            ?.split(" ")
            .at(-1) ?? 0,
        );
      const cutMidMessage = async (url: string) => {
        const session = http2.connect(url);
        await once(session, "connect");
        const call = session.request({ ":method": "POST", ":path": postList, ...grpc });
        call.on("error", () => {});
        call.write(stream(1));
        await sleep(50);
        call.write(stream(1).subarray(0, 8));
        await sleep(50);
        if (cut === "close") call.close(http2.constants.NGHTTP2_CANCEL);
        else call.destroy();
        await sleep(100);
        session.destroy();
      };
      const [onBefore, offBefore] = await Promise.all([handled(on.url), handled(off.url)]);
      const before = laneAnswered(on);
      await Promise.all([cutMidMessage(on.url), cutMidMessage(off.url)]);
      assert.equal(laneAnswered(on) - before, 1, "the lane served it");
      const [fast, plain] = await Promise.all([handled(on.url), handled(off.url)]);
      assert.deepEqual(fast, plain);
      assert.equal(count(fast) - count(onBefore), 1, fast.join("\n"));
      assert.equal(count(plain) - count(offBefore), 1, plain.join("\n"));
      await assertStillServing(on.url);
    });
  }

  it("a message begun and not finished: deadline_exceeded after the body timeout, on both paths alike", async () => {
    const whole = stream(2, "y".repeat(1000));
    const before = laneAnswered(on);
    const sent = whole.length - 500;
    const [fast, plain] = await Promise.all([send(on.url, whole, sent), send(off.url, whole, sent)]);
    assert.deepEqual(fast, plain);
    assert.equal(fast.trailers["grpc-status"] ?? fast.headers["grpc-status"], "4");
    assert.equal(laneAnswered(on) - before, 1, "the lane answered it");
  });
});

describe("FAST_PATH=off installs nothing of the lane", () => {
  it("off: no lane exists, and every call goes through Node's compatibility layer", async () => {
    const { requests, lane } = await compatRequests("off", 5);
    assert.equal(lane, undefined);
    assert.equal(requests, 5);
  });

  it('off: the HTTP/2 server keeps the one "stream" listener Node gave it, untouched (public APIs only)', async () => {
    const { streamListeners } = await compatRequests("off", 1);
    assert.equal(streamListeners.added.length, 1, "Node's compatibility listener, and no other");
    assert.deepEqual(streamListeners.removed, []);
    assert.deepEqual(streamListeners.listening, streamListeners.added);
  });

  it("on: the lane takes the same calls before Node makes compatibility objects for them", async () => {
    const { requests, lane } = await compatRequests("on", 5);
    assert.equal(lane?.answered(), 5);
    assert.equal(requests, 0);
  });

  for (const fastPath of ["on", "off"] as const) {
    it(`${fastPath}: a closed stream keeps only the front's "error" listener, letting go of its call`, async () => {
      const { closedStreams } = await compatRequests(fastPath, 3);
      assert.deepEqual(closedStreams, Array(3).fill([["error", 1]]));
    });
  }

  it('on: to see streams first, the front takes Node\'s "stream" listener out and puts its own in', async () => {
    const { streamListeners } = await compatRequests("on", 1);
    const [node, front] = streamListeners.added;
    assert.deepEqual(streamListeners.removed, [node]);
    assert.deepEqual(streamListeners.listening, [front]);
  });
});

const { NGHTTP2_CANCEL: CANCEL } = http2.constants;

describe("a client that leaves mid-stream on the fast lane", () => {
  let server: ServerProcess;
  before(async () => {
    server = await spawnServer({ GETLIST_INTERVAL_MS: "200" });
  });
  after(() => server?.close());

  for (const [how, leave] of [
    ["resets its stream", (_: http2.ClientHttp2Session, stream: http2.ClientHttp2Stream) => stream.close(CANCEL)],
    // The server's stream then fails with an "error" event, which ends the process if nobody listens.
    ["closes its connection with an error code", (session: http2.ClientHttp2Session) => session.goaway(CANCEL)],
  ] as const) {
    it(`${how}: the call ends, and the server serves on`, async () => {
      const session = http2.connect(server.url);
      const stream = session.request({ ":method": "POST", ":path": getList, ...grpc });
      stream.end(envelope(requestOne("x")));
      await once(stream, "data");
      leave(session, stream);
      await sleep(100);
      session.destroy();
      await assertStillServing(server.url);
      assert.equal(server.child.exitCode, null);
    });
  }
});

describe("interceptors on the fast lane see a request as connect-es gives it", () => {
  const seen: Record<string, unknown>[] = [];
  let url: string;
  let close: () => Promise<void>;
  before(async () => {
    // One that copies the request, as interceptors that replace its message do, and one after it that reads it.
    const copies: Interceptor = (next) => (req) => next({ ...req });
    const replaces: Interceptor = (next) => (req) =>
      req.header.has("x-replace") ? next({ ...req, header: new Headers({ "x-probe": "replaced" }) }) : next(req);
    const reads: Interceptor = (next) => (req) => {
      seen.push({ probe: req.header.get("x-probe"), url: req.url, aborted: req.signal.aborted });
      return next(req);
    };
    const lane = createFastLane();
    const front = createOnePortServer(
      lane.wrap(() => assert.fail("the lane handed the call on")),
      {
        takeStream: lane.takeStream,
        http1: { headersTimeoutMs: 5_000, requestTimeoutMs: 5_000, keepAliveTimeoutMs: 5_000, maxHeaderBytes: 16_384 },
        http2: {
          maxConcurrentStreams: 100,
          maxHeaderListBytes: 16_384,
          idleTimeoutMs: 60_000,
          keepAliveIntervalMs: 0,
          keepAliveTimeoutMs: 1_000,
          resets: { burst: 200, perSecond: 50 },
          streamTable: true,
        },
      },
    );
    const service: ServiceImpl<typeof SimpleTest> = {
      ...createSimpleTestService({ getListIntervalMs: 0 }),
      getOne: (request, context) => {
        if (context.requestHeader.has("x-cookies")) {
          context.responseHeader.append("set-cookie", "a=1");
          context.responseHeader.append("set-cookie", "b=2");
          context.responseHeader.set("x-note", "kept");
        }
        return { result: `${request.hello} ${context.requestHeader.get("x-probe")}` };
      },
    };
    lane.serve({
      services: [createServiceImplSpec<typeof SimpleTest>(SimpleTest, service)],
      interceptors: [copies, replaces, reads],
      contextValues: () => createContextValues(),
      gates: [],
      corsHeaders: () => ({}),
      deadline: createCallDeadline({ maxTimeoutMs: 60_000, unbounded: [], stuckStreamGraceMs: 1_000 }),
      bodyBudget: createRequestBodyBudget({ perConnectionBytes: 2 ** 24, perServerBytes: 2 ** 27, timeoutMs: 30_000 }),
      log: { error: () => assert.fail("the lane failed a call") },
    });
    await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
    close = () => new Promise((resolve) => front.close(() => resolve()));
  });
  after(() => close());

  it("an interceptor that replaces the request's headers: those after it, and the handler, see its own", async () => {
    seen.length = 0;
    const res = await h2cRequest(
      url,
      getOne,
      { ...grpc, "x-probe": "here", "x-replace": "1" },
      envelope(requestOne("a")),
    );
    assert.ok(res.body.includes("a replaced"));
    assert.deepEqual(seen, [{ probe: "replaced", url: `${url}${getOne}`, aborted: false }]);
  });

  // On Node 24.7 and later the lane gives Node the headers as a flat list, a header of several values repeated.
  it("a handler's response headers reach the client, a header of several values as several fields", async () => {
    const res = await h2cRequest(url, getOne, { ...grpc, "x-cookies": "1" }, envelope(requestOne("a")));
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "application/grpc+proto");
    assert.deepEqual(res.headers["set-cookie"], ["a=1", "b=2"]);
    assert.equal(res.headers["x-note"], "kept");
    assert.equal(res.trailers["grpc-status"], "0");
  });

  for (const [what, path, check] of [
    ["unary", getOne, (res: RawResponse) => assert.ok(res.body.includes("a here"))],
    ["server streaming", getList, (res: RawResponse) => assert.ok(res.body.includes("test4"))],
  ] as const) {
    it(`${what}: headers, URL and signal reach the interceptor after one that copied the request, and the handler`, async () => {
      seen.length = 0;
      const res = await h2cRequest(url, path, { ...grpc, "x-probe": "here" }, envelope(requestOne("a")));
      assert.equal(res.trailers["grpc-status"], "0");
      check(res);
      assert.deepEqual(seen, [{ probe: "here", url: `${url}${path}`, aborted: false }]);
    });
  }
});
