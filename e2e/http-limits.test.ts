import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createSimpleTestClient } from "../client/simple-test-client.js";
import { http2Preface } from "../server/listen/http2-preface.js";
import { envelope } from "./support/raw-http.js";
import { requestListBytes } from "./support/request-bytes.js";
import { type RunningServer, startServer } from "./support/server.js";

/** Timers round to the millisecond. */
const timerSlackMs = 2;

/** Writes `bytes` on a new connection, then only listens: what came back, and when the server closed it. */
function rawConnection(port: number, bytes: string | Uint8Array): Promise<{ received: string; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const start = performance.now();
    const socket = net.connect(port, "127.0.0.1", () => socket.write(bytes));
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
    });
    socket.on("error", () => {});
    socket.on("close", () => resolve({ received, closedAfterMs: performance.now() - start }));
  });
}

/** A well-behaved client on its own connection, calling while another misbehaves. */
async function servedMeanwhile(url: string): Promise<string> {
  await sleep(50);
  const client = createSimpleTestClient({ baseUrl: url, protocol: "grpc" });
  try {
    return (await client.getOne({ hello: "meanwhile" })).result;
  } finally {
    client.close();
  }
}

/** An HTTP/2 session that has the server's SETTINGS, as any client has after its first round trip. */
async function settledSession(url: string): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(url);
  session.on("error", () => {});
  await new Promise((resolve) => session.once("remoteSettings", resolve));
  return session;
}

/** Sends one request and reads the stream to its end: the status, or the code of the reset. */
function exchange(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
): Promise<{ status?: number; rstCode: number }> {
  return new Promise((resolve) => {
    const stream = session.request(headers);
    let status: number | undefined;
    stream.on("response", (h) => {
      status = Number(h[":status"]);
    });
    stream.on("error", () => {});
    stream.on("close", () => resolve({ status, rstCode: stream.rstCode ?? 0 }));
    stream.resume();
    stream.end();
  });
}

const grpcHeaders = (method: string) => ({
  ":method": "POST",
  ":path": `/simpletest.SimpleTest/${method}`,
  "content-type": "application/grpc",
  te: "trailers",
});

describe("HTTP limits: a client that crosses one gets the documented error; others are served", {
  concurrency: true,
}, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({
      MAX_HEADER_BYTES: "4096",
      HTTP1_HEADERS_TIMEOUT_MS: "500",
      HTTP1_REQUEST_TIMEOUT_MS: "800",
      HTTP1_KEEPALIVE_TIMEOUT_MS: "300",
      HTTP2_MAX_CONCURRENT_STREAMS: "2",
    });
  });
  after(() => server.close());

  it("HTTP/1.1: a header block over MAX_HEADER_BYTES is refused with 431", async () => {
    const [refused, other] = await Promise.all([
      rawConnection(server.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(5000)}\r\n\r\n`),
      servedMeanwhile(server.url),
    ]);
    assert.match(refused.received, /^HTTP\/1\.1 431 /);
    assert.equal(other, "Hello !! meanwhile");
  });

  it("HTTP/2: a header block over MAX_HEADER_BYTES resets the stream (ENHANCE_YOUR_CALM); the connection lives on", async () => {
    const session = await settledSession(server.url);
    try {
      const [refused, other] = await Promise.all([
        exchange(session, { ":path": "/healthz", "x-big": "a".repeat(5000) }),
        servedMeanwhile(server.url),
      ]);
      assert.deepEqual(refused, { status: undefined, rstCode: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM });
      assert.equal(other, "Hello !! meanwhile");
      assert.deepEqual(await exchange(session, { ":path": "/healthz" }), { status: 200, rstCode: 0 });
    } finally {
      session.destroy();
    }
  });

  it("HTTP/2: a stream past HTTP2_MAX_CONCURRENT_STREAMS is refused (REFUSED_STREAM); the others run", async () => {
    // Sent before the server's SETTINGS arrive, so the client cannot hold the third back.
    const session = http2.connect(server.url);
    session.on("error", () => {});
    const streams = [0, 1, 2].map(() => session.request(grpcHeaders("PostAndPost")));
    try {
      const outcomes = await Promise.all(
        streams.map(
          (stream) =>
            new Promise<string>((resolve) => {
              stream.on("error", () => {});
              stream.on("response", () => resolve("answered"));
              stream.on("close", () => resolve(`reset ${stream.rstCode}`));
              stream.write(envelope(requestListBytes("a")));
            }),
        ),
      );
      assert.deepEqual(outcomes, ["answered", "answered", `reset ${http2.constants.NGHTTP2_REFUSED_STREAM}`]);
      assert.equal(await servedMeanwhile(server.url), "Hello !! meanwhile");
    } finally {
      session.destroy();
    }
  });

  it("HTTP/1.1: a client that sends half a header block is answered 408 and cut after HTTP1_HEADERS_TIMEOUT_MS", async () => {
    const [cut, other] = await Promise.all([
      rawConnection(server.port, "POST /simpletest.SimpleTest/GetOne HTTP/1.1\r\nHost: x\r\n"),
      servedMeanwhile(server.url),
    ]);
    assert.match(cut.received, /^HTTP\/1\.1 408 /);
    assert.ok(cut.closedAfterMs >= 500 - timerSlackMs, `cut after ${cut.closedAfterMs.toFixed(0)} ms`);
    assert.ok(cut.closedAfterMs < 5_000, `cut after ${cut.closedAfterMs.toFixed(0)} ms`);
    assert.equal(other, "Hello !! meanwhile");
  });

  it("HTTP/1.1: a body that stalls is answered 408 and cut after HTTP1_REQUEST_TIMEOUT_MS", async () => {
    const [cut, other] = await Promise.all([
      rawConnection(
        server.port,
        'POST /simpletest.SimpleTest/GetOne HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{"\r\n',
      ),
      servedMeanwhile(server.url),
    ]);
    assert.match(cut.received, /^HTTP\/1\.1 408 /);
    assert.ok(cut.closedAfterMs >= 800 - timerSlackMs, `cut after ${cut.closedAfterMs.toFixed(0)} ms`);
    assert.ok(cut.closedAfterMs < 5_000, `cut after ${cut.closedAfterMs.toFixed(0)} ms`);
    assert.equal(other, "Hello !! meanwhile");
  });

  it("HTTP/1.1: a keep-alive connection left idle is closed after HTTP1_KEEPALIVE_TIMEOUT_MS", async () => {
    const idle = await rawConnection(server.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(idle.received, /^HTTP\/1\.1 200 [\s\S]*\r\nKeep-Alive: timeout=0\r\n/i);
    assert.ok(idle.closedAfterMs >= 300 - timerSlackMs, `closed after ${idle.closedAfterMs.toFixed(0)} ms`);
    assert.ok(idle.closedAfterMs < 5_000, `closed after ${idle.closedAfterMs.toFixed(0)} ms`);
  });
});

describe("HTTP/2 idle connections and keepalive pings", () => {
  // Far above HTTP2_KEEPALIVE_MS + HTTP2_KEEPALIVE_TIMEOUT_MS, so that a busy machine cannot
  // take a cut by the ping timeout for one by the idle timeout, or the other way round.
  const idleMs = 2_500;
  const pingMs = 200;
  const pingTimeoutMs = 300;
  let server: RunningServer;
  before(async () => {
    server = await startServer({
      HTTP2_IDLE_TIMEOUT_MS: String(idleMs),
      HTTP2_KEEPALIVE_MS: String(pingMs),
      HTTP2_KEEPALIVE_TIMEOUT_MS: String(pingTimeoutMs),
    });
  });
  after(() => server.close());

  it("a connection with no calls gets GOAWAY (NO_ERROR) after HTTP2_IDLE_TIMEOUT_MS, though it answers pings", async () => {
    const start = performance.now();
    const session = http2.connect(server.url);
    session.on("error", () => {});
    let pings = 0;
    session.on("ping", () => pings++);
    try {
      const [code] = await new Promise<[number]>((resolve) => session.once("goaway", (...args) => resolve([args[0]])));
      const after = performance.now() - start;
      assert.equal(code, http2.constants.NGHTTP2_NO_ERROR);
      assert.ok(after >= idleMs - timerSlackMs, `GOAWAY after ${after.toFixed(0)} ms`);
      assert.ok(pings >= 2, `${pings} pings`);
    } finally {
      session.destroy();
    }
  });

  it("a peer that does not answer pings is cut after HTTP2_KEEPALIVE_MS + HTTP2_KEEPALIVE_TIMEOUT_MS", async () => {
    const emptySettings = Uint8Array.of(0, 0, 0, 4, 0, 0, 0, 0, 0);
    const [silent, other] = await Promise.all([
      rawConnection(server.port, Buffer.concat([http2Preface, emptySettings])),
      servedMeanwhile(server.url),
    ]);
    assert.ok(silent.closedAfterMs >= pingMs + pingTimeoutMs - timerSlackMs, `${silent.closedAfterMs.toFixed(0)} ms`);
    assert.ok(silent.closedAfterMs < idleMs, `cut after ${silent.closedAfterMs.toFixed(0)} ms, by the idle timeout`);
    assert.equal(other, "Hello !! meanwhile");
  });

  it("pings do not disturb a long, quiet bidi stream: it ping-pongs and ends OK", async () => {
    const session = http2.connect(server.url);
    session.on("error", () => {});
    let pings = 0;
    session.on("ping", () => pings++);
    const stream = session.request(grpcHeaders("PostAndPost"));
    let trailers: http2.IncomingHttpHeaders = {};
    stream.on("trailers", (t) => {
      trailers = t;
    });
    const answers: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => answers.push(chunk));
    try {
      for (const name of ["a", "b", "c"]) {
        stream.write(envelope(requestListBytes(name)));
        await sleep(3 * pingMs);
      }
      stream.end();
      await new Promise((resolve) => stream.once("close", resolve));
      const text = Buffer.concat(answers).toString("latin1");
      assert.deepEqual(text.match(/Hello !! [abc]/g), ["Hello !! a", "Hello !! b", "Hello !! c"]);
      assert.equal(trailers["grpc-status"], "0");
      assert.ok(pings >= 6, `${pings} pings`);
    } finally {
      session.destroy();
    }
  });
});
