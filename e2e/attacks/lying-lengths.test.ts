import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type Canary, startCanary } from "../support/canary.js";
import { H1Socket, requestHead } from "../support/h1-socket.js";
import { readAnswer } from "../support/raw-http.js";
import {
  contentTypeOf,
  isBare,
  type Method,
  methods,
  outcomeOf,
  pathOf,
  type RawAnswer,
  type RawProtocol,
  rawProtocols,
} from "../support/raw-rpc.js";
import { assertStillServing, type RunningServer, startServer } from "../support/server.js";

/*
 * Issue 12, point 3: a request that declares a message over the limit
 * (MAX_MESSAGE_BYTES, 4 MiB by default) is refused with `resource_exhausted`
 * as soon as the claim arrives, whether or not the bytes ever follow: a gRPC
 * envelope that claims 4 GiB, a Connect unary body whose Content-Length is
 * 64 MiB. On the fast lane such calls waited for the body until their
 * deadline (up to MAX_TIMEOUT_MS, 5 min by default).
 */

/** Wide, on a noisy machine: at once is milliseconds; the deadline is minutes away. */
const atOnceMs = 2_000;

/** The header of an envelope that claims 4 GiB, and the first bytes of its message. */
const lyingEnvelope = Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 0x0a, 0x05, 0x61]);
/** The start of a Connect unary body that claims 64 MiB. */
const lyingLength = 64 * 1024 * 1024;
const bodyStart = Buffer.from([0x0a, 0x05, 0x61]);

interface Combination {
  readonly protocol: RawProtocol;
  readonly method: Method;
  readonly http: "1.1" | "2";
}

// Bidi streaming needs HTTP/2: over HTTP/1.1 connect-es answers 505 before reading anything.
const combinations: readonly Combination[] = rawProtocols.flatMap((protocol) =>
  methods.flatMap((method) =>
    (["1.1", "2"] as const)
      .filter((http) => http === "2" || method.kind !== "bidi_streaming")
      .map((http) => ({ protocol, method, http })),
  ),
);

/** Sends the lie over HTTP/2 and never ends the stream; resolves with the answer and how long it took. */
async function lieOverHttp2(url: string, c: Combination): Promise<{ answer: RawAnswer; afterMs: number }> {
  const session = http2.connect(url);
  try {
    const headers: http2.OutgoingHttpHeaders = {
      ":method": "POST",
      ":path": pathOf(c.method),
      "content-type": contentTypeOf(c.protocol, "proto", c.method),
    };
    if (c.protocol === "grpc") headers.te = "trailers";
    if (isBare(c.protocol, c.method)) headers["content-length"] = String(lyingLength);
    const started = performance.now();
    const stream = session.request(headers, { endStream: false });
    stream.write(isBare(c.protocol, c.method) ? bodyStart : lyingEnvelope);
    const answer = await withTimeout(readAnswer(stream), atOnceMs);
    return { answer, afterMs: performance.now() - started };
  } finally {
    session.destroy();
  }
}

/** The same over HTTP/1.1: a Content-Length for Connect unary, a chunked body for the enveloped protocols. */
async function lieOverHttp1(port: number, c: Combination): Promise<{ answer: RawAnswer; afterMs: number }> {
  const socket = new H1Socket(port);
  try {
    await socket.ready;
    const contentType = contentTypeOf(c.protocol, "proto", c.method);
    const bare = isBare(c.protocol, c.method);
    const head = requestHead(
      pathOf(c.method),
      bare
        ? { "content-type": contentType, "content-length": lyingLength }
        : { "content-type": contentType, "transfer-encoding": "chunked", te: "trailers" },
    );
    const body = bare
      ? bodyStart
      : Buffer.concat([Buffer.from(`${lyingEnvelope.length.toString(16)}\r\n`), lyingEnvelope, Buffer.from("\r\n")]);
    socket.write(Buffer.concat([Buffer.from(head), body]));
    const response = await socket.nextResponse(atOnceMs);
    return {
      answer: { status: response.status, headers: response.headers, trailers: {}, body: response.body },
      afterMs: response.afterMs,
    };
  } finally {
    socket.destroy();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

for (const fastPath of ["on", "off"]) {
  describe(`a declared length over the limit is refused at once (FAST_PATH=${fastPath})`, () => {
    let server: RunningServer;
    let canary: Canary;
    let slowestMs = 0;

    before(async () => {
      server = await startServer({ FAST_PATH: fastPath });
      canary = startCanary(server.url);
    });
    after(async () => {
      const report = await canary.stop();
      await assertStillServing(server.url);
      await server.close();
      console.log(
        `lying lengths, FAST_PATH=${fastPath}: slowest refusal ${slowestMs.toFixed(1)} ms;`,
        `canary ${report.served} calls, p50 ${report.p50Ms.toFixed(1)} ms, p99 ${report.p99Ms.toFixed(1)} ms`,
      );
      assert.deepEqual(report.failures, [], "the canary was served throughout");
      assert.ok(report.served > 0);
    });

    for (const c of combinations) {
      const lie = isBare(c.protocol, c.method) ? "a Content-Length of 64 MiB" : "an envelope that claims 4 GiB";
      it(`${c.protocol} ${c.method.name} over HTTP/${c.http}: ${lie}, never sent`, async () => {
        const { answer, afterMs } =
          c.http === "2" ? await lieOverHttp2(server.url, c) : await lieOverHttp1(server.port, c);
        const outcome = outcomeOf(c.protocol, c.method, answer);
        assert.equal(outcome.code, "resource_exhausted", outcome.message);
        assert.ok(afterMs < atOnceMs, `answered after ${Math.round(afterMs)} ms`);
        slowestMs = Math.max(slowestMs, afterMs);
      });
    }

    it("90 such calls at once on one connection, held open for a second: each refused at once, the canary served", async () => {
      const session = http2.connect(server.url);
      try {
        const started = performance.now();
        const streams = Array.from({ length: 90 }, () => {
          const stream = session.request(
            { ":method": "POST", ":path": pathOf(methods[0]), "content-type": "application/grpc", te: "trailers" },
            { endStream: false },
          );
          stream.write(lyingEnvelope);
          return readAnswer(stream);
        });
        const answers = await withTimeout(Promise.all(streams), atOnceMs);
        const afterMs = performance.now() - started;
        for (const answer of answers)
          assert.equal(answer.trailers["grpc-status"] ?? answer.headers["grpc-status"], "8");
        slowestMs = Math.max(slowestMs, afterMs);
        await sleep(1_000);
      } finally {
        session.destroy();
      }
    });
  });
}
