import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { startCanary } from "../support/canary.js";
import { sample, scrape } from "../support/prometheus.js";
import { envelope } from "../support/raw-http.js";
import { assertStillServing, type ServerProcess, spawnServer } from "../support/server.js";

const mib = 1024 * 1024;
const maxWatchStreams = 1_000;
/** HTTP2_MAX_CONCURRENT_STREAMS's default: Watch streams per connection. */
const perConnection = 100;

async function rssOf(server: ServerProcess): Promise<number> {
  return sample(await scrape(server.url), "process_resident_memory_bytes") ?? Number.NaN;
}

interface Watch {
  readonly stream: http2.ClientHttp2Stream;
  /** Resolves with the first message's bytes, or with the call's grpc-status if it ends first. */
  readonly first: Promise<{ message?: Buffer; status?: string }>;
}

/** A raw gRPC Health/Watch of the server as a whole. */
function watch(session: http2.ClientHttp2Session): Watch {
  const stream = session.request({
    ":method": "POST",
    ":path": "/grpc.health.v1.Health/Watch",
    "content-type": "application/grpc",
    te: "trailers",
  });
  stream.on("error", () => {});
  stream.end(envelope(new Uint8Array(0)));
  const first = new Promise<{ message?: Buffer; status?: string }>((resolve) => {
    stream.once("data", (chunk: Buffer) => resolve({ message: chunk }));
    stream.on("response", (headers) => {
      if (headers["grpc-status"] !== undefined) resolve({ status: String(headers["grpc-status"]) });
    });
    stream.on("trailers", (trailers) => resolve({ status: String(trailers["grpc-status"]) }));
    stream.on("close", () => resolve({ status: `closed (rst ${stream.rstCode})` }));
  });
  return { stream, first };
}

for (const fastPath of ["on", "off"]) {
  describe(`Health/Watch streams held open, FAST_PATH=${fastPath}`, () => {
    let server: ServerProcess;
    const sessions: http2.ClientHttp2Session[] = [];
    before(async () => {
      server = await spawnServer({ FAST_PATH: fastPath });
    });
    after(async () => {
      for (const session of sessions) session.destroy();
      await server?.close();
    });

    it(`past MAX_WATCH_STREAMS (${maxWatchStreams}) a new Watch is resource_exhausted; a Watch that ends frees its place; others are served throughout`, async (t) => {
      const before = await rssOf(server);
      const canary = startCanary(server.url);
      const open: Watch[] = [];
      let answered = 0;
      // A connection's worth at a time: the canary measures the streams held, not one burst of a thousand.
      for (let i = 0; i < maxWatchStreams / perConnection; i++) {
        const session = http2.connect(server.url);
        session.on("error", () => {});
        sessions.push(session);
        const batch = Array.from({ length: perConnection }, () => watch(session));
        open.push(...batch);
        for (const first of await Promise.all(batch.map((w) => w.first))) if (first.message) answered++;
      }
      assert.equal(answered, maxWatchStreams, "every Watch under the cap");
      const during = await rssOf(server);

      const extra = http2.connect(server.url);
      extra.on("error", () => {});
      sessions.push(extra);
      const refused = await watch(extra).first;
      assert.deepEqual(refused, { status: "8" }, "RESOURCE_EXHAUSTED");

      open[0].stream.close(http2.constants.NGHTTP2_CANCEL);
      let admitted: { message?: Buffer; status?: string } = {};
      for (let attempt = 0; attempt < 50 && admitted.message === undefined; attempt++) {
        admitted = await watch(extra).first;
        if (admitted.message === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.ok(admitted.message !== undefined, `after one Watch ended: ${JSON.stringify(admitted)}`);

      const report = await canary.stop();
      t.diagnostic(
        `${maxWatchStreams} Watch streams held: RSS ${(before / mib).toFixed(0)} → ${(during / mib).toFixed(0)} MiB; the next refused with grpc-status ${refused.status}; canary p50 ${report.p50Ms.toFixed(1)} ms, p99 ${report.p99Ms.toFixed(1)} ms`,
      );
      assert.deepEqual(report.failures, []);
      await assertStillServing(server.url);
    });
  });
}
