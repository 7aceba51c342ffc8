import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type Canary, startCanary } from "../support/canary.js";
import { envelope } from "../support/raw-http.js";
import { assertStillServing, type ServerProcess, spawnServer } from "../support/server.js";

const bodyTimeoutMs = 1_500;
const byteEveryMs = 200;
/** How late the cut may come on two shared, noisy cores; the old server waited out the 300 s deadline. */
const slackMs = 4_000;

/** A GetOne request message of `size` bytes: field 1, a string of "a". */
function getOneMessage(size: number): Buffer {
  return Buffer.concat([Buffer.from([0x0a, size - 2]), Buffer.alloc(size - 2, 0x61)]);
}

interface Cut {
  readonly elapsedMs: number;
  /** grpc-status, or the Connect error code. */
  readonly code: string;
}

/** Sends `first` at once, then the bytes of `trickled` one every `byteEveryMs`, until the server answers. */
function trickleHttp2(
  url: string,
  path: string,
  headers: Record<string, string>,
  first: Buffer,
  trickled: Buffer,
  pauseFirstMs = 0,
): Promise<Cut> {
  const session = http2.connect(url);
  session.on("error", () => {});
  const started = performance.now();
  const stream = session.request({ ":method": "POST", ":path": path, ...headers });
  stream.on("error", () => {});
  stream.write(first);
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  const drip = setTimeout(() => {
    timer = setInterval(() => {
      if (sent < trickled.length && !stream.destroyed) stream.write(trickled.subarray(sent, ++sent));
    }, byteEveryMs);
  }, pauseFirstMs);
  return new Promise<Cut>((resolve, reject) => {
    let status = "";
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      status = String(h["grpc-status"] ?? "");
    });
    stream.on("trailers", (t) => {
      status = String(t["grpc-status"] ?? status);
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    // The answer may come while the request is still being sent: its end is what counts.
    stream.on("end", () => {
      const elapsedMs = performance.now() - started;
      if (status !== "") return resolve({ elapsedMs, code: `grpc-status ${status}` });
      const body = Buffer.concat(chunks).toString();
      if (body.startsWith("{")) return resolve({ elapsedMs, code: JSON.parse(body).code });
      reject(new Error(`an answer without a status after ${elapsedMs.toFixed(0)} ms: ${body}`));
    });
    stream.on("close", () => reject(new Error(`stream closed without an answer (rst ${stream.rstCode})`)));
  }).finally(() => {
    clearTimeout(drip);
    clearInterval(timer);
    session.destroy();
  });
}

/** An HTTP/1.1 Connect GetOne whose declared body trickles in; resolves with the answer's status line and code. */
function trickleHttp1(port: number, message: Buffer): Promise<Cut & { statusLine: string }> {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  const started = performance.now();
  socket.write(
    `POST /simpletest.SimpleTest/GetOne HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/proto\r\nContent-Length: ${message.length}\r\n\r\n`,
  );
  let sent = 0;
  const timer = setInterval(() => {
    if (sent < message.length && socket.writable) socket.write(message.subarray(sent, ++sent));
  }, byteEveryMs);
  return new Promise<Cut & { statusLine: string }>((resolve, reject) => {
    let text = "";
    socket.on("data", (chunk) => {
      text += chunk.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(text)?.[1];
      if (end < 0 || length === undefined || text.length < end + 4 + Number(length)) return;
      const body = text.slice(end + 4, end + 4 + Number(length));
      resolve({
        elapsedMs: performance.now() - started,
        statusLine: text.slice(0, text.indexOf("\r\n")),
        code: JSON.parse(body).code,
      });
    });
    socket.on("close", () => reject(new Error(`closed without an answer: ${JSON.stringify(text)}`)));
  }).finally(() => {
    clearInterval(timer);
    socket.destroy();
  });
}

function assertCutInTime(cut: Cut, fromMs: number): void {
  assert.ok(cut.elapsedMs >= fromMs * 0.9, `cut after ${cut.elapsedMs.toFixed(0)} ms, before its time`);
  assert.ok(cut.elapsedMs <= fromMs + slackMs, `cut only after ${cut.elapsedMs.toFixed(0)} ms`);
}

const grpcHeaders = { "content-type": "application/grpc", te: "trailers" };

for (const fastPath of ["on", "off"]) {
  describe(`request bodies that trickle in, REQUEST_BODY_TIMEOUT_MS=${bodyTimeoutMs}, FAST_PATH=${fastPath}`, () => {
    let server: ServerProcess;
    let canary: Canary;
    before(async () => {
      server = await spawnServer({ FAST_PATH: fastPath, REQUEST_BODY_TIMEOUT_MS: String(bodyTimeoutMs) });
      canary = startCanary(server.url);
    });
    after(async () => {
      const report = await canary?.stop();
      await server?.close();
      assert.deepEqual(report?.failures, [], "the canary was served throughout");
    });

    it("HTTP/2, gRPC unary: deadline_exceeded once the body is REQUEST_BODY_TIMEOUT_MS late", async (t) => {
      const message = getOneMessage(100);
      const whole = Buffer.from(envelope(message));
      const cut = await trickleHttp2(
        server.url,
        "/simpletest.SimpleTest/GetOne",
        grpcHeaders,
        whole.subarray(0, 5),
        whole.subarray(5),
      );
      t.diagnostic(`${cut.code} after ${cut.elapsedMs.toFixed(0)} ms`);
      assert.equal(cut.code, "grpc-status 4");
      assertCutInTime(cut, bodyTimeoutMs);
    });

    it("HTTP/2, Connect unary: deadline_exceeded once the body is REQUEST_BODY_TIMEOUT_MS late", async (t) => {
      const message = getOneMessage(100);
      const cut = await trickleHttp2(
        server.url,
        "/simpletest.SimpleTest/GetOne",
        { "content-type": "application/proto" },
        message.subarray(0, 1),
        message.subarray(1),
      );
      t.diagnostic(`${cut.code} after ${cut.elapsedMs.toFixed(0)} ms`);
      assert.equal(cut.code, "deadline_exceeded");
      assertCutInTime(cut, bodyTimeoutMs);
    });

    it("HTTP/1.1, Connect unary: 504 deadline_exceeded once the body is REQUEST_BODY_TIMEOUT_MS late", async (t) => {
      const cut = await trickleHttp1(server.port, getOneMessage(100));
      t.diagnostic(`${cut.statusLine}, ${cut.code} after ${cut.elapsedMs.toFixed(0)} ms`);
      assert.match(cut.statusLine, /^HTTP\/1\.1 504 /);
      assert.equal(cut.code, "deadline_exceeded");
      assertCutInTime(cut, bodyTimeoutMs);
    });

    it("HTTP/2, gRPC client streaming: a quiet stream may wait between messages, a message that trickles is cut", async (t) => {
      const quietMs = 2 * bodyTimeoutMs;
      const trickled = Buffer.from(envelope(getOneMessage(100)));
      const cut = await trickleHttp2(
        server.url,
        "/simpletest.SimpleTest/PostList",
        grpcHeaders,
        Buffer.from(envelope(getOneMessage(10))),
        trickled,
        quietMs,
      );
      t.diagnostic(
        `${cut.code} after ${cut.elapsedMs.toFixed(0)} ms (${quietMs} ms quiet, then a byte every ${byteEveryMs} ms)`,
      );
      assert.equal(cut.code, "grpc-status 4");
      assertCutInTime(cut, quietMs + bodyTimeoutMs);
    });

    it("keeps serving afterwards", async () => {
      await sleep(100);
      await assertStillServing(server.url);
    });
  });
}
