import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { sample, scrapeUntil } from "./support/prometheus.js";
import { envelope } from "./support/raw-http.js";
import { requestListBytes } from "./support/request-bytes.js";
import { type RunningServer, startServer } from "./support/server.js";

describe("a client that never reads cannot hold a stream past its call", () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  it("a bidi stream whose answers are never read is reset soon after its deadline", { timeout: 20_000 }, async () => {
    const session = http2.connect(server.url);
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": "/simpletest.SimpleTest/PostAndPost",
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-timeout": "500m",
      });
      stream.pause(); // never read: the server's answers fill the window, then its writes wait
      const frame = envelope(requestListBytes("x".repeat(100)));
      const started = performance.now();
      const closed = new Promise<number>((resolve) => stream.once("close", () => resolve(stream.rstCode ?? -1)));
      stream.on("error", () => {});
      // Offer far more than any window holds, without waiting for it to be taken.
      for (let i = 0; i < 20_000 && !stream.destroyed; i++) stream.write(frame);
      const rstCode = await closed;
      const elapsed = performance.now() - started;
      assert.equal(rstCode, http2.constants.NGHTTP2_CANCEL);
      assert.ok(elapsed >= 500, `reset after ${elapsed.toFixed(0)} ms, before the deadline`);

      const text = await scrapeUntil(server.url, "grpc_server_in_flight", { grpc_method: "PostAndPost" }, 0);
      assert.equal(sample(text, "grpc_server_in_flight", { grpc_method: "PostAndPost" }), 0);
    } finally {
      session.destroy();
    }
  });
});
