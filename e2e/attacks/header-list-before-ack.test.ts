import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { type Canary, startCanary } from "../support/canary.js";
import { unacknowledgedRequest } from "../support/raw-h2.js";
import { runCommand } from "../support/run-command.js";
import { type RunningServer, startServer } from "../support/server.js";

const enhanceYourCalm = { reset: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM };

const getOne = (authority: string, extra: [string, string][]): [string, string][] => [
  [":method", "POST"],
  [":scheme", "http"],
  [":path", "/simpletest.SimpleTest/GetOne"],
  [":authority", authority],
  ["content-type", "application/grpc"],
  ["te", "trailers"],
  ...extra,
];

const healthz = (authority: string, extra: [string, string][]): [string, string][] => [
  [":method", "GET"],
  [":scheme", "http"],
  [":path", "/healthz"],
  [":authority", authority],
  ...extra,
];

/** A Connect GET of GetOne whose URL carries `size` bytes of message. */
const connectGetUrl = (base: string, size: number) =>
  `${base}/simpletest.SimpleTest/GetOne?encoding=json&message=${encodeURIComponent(JSON.stringify({ hello: "a".repeat(size) }))}`;

for (const fastPath of ["on", "off"]) {
  describe(`HTTP/2: MAX_HEADER_BYTES holds from the first request, before the client acknowledges SETTINGS (FAST_PATH=${fastPath})`, {
    concurrency: true,
  }, () => {
    let server: RunningServer;
    let canary: Canary;
    let authority: string;
    before(async () => {
      server = await startServer({ FAST_PATH: fastPath });
      authority = `127.0.0.1:${server.port}`;
      canary = startCanary(server.url);
    });
    after(async () => {
      const report = await canary.stop();
      await server.close();
      assert.deepEqual(report.failures, []);
      assert.ok(report.served > 0);
      console.log(
        `FAST_PATH=${fastPath}: canary served ${report.served}, p50/p99 ${report.p50Ms.toFixed(1)}/${report.p99Ms.toFixed(1)} ms`,
      );
    });

    it("a gRPC call with one 64 KB header is reset (ENHANCE_YOUR_CALM), as after the acknowledgement", async () => {
      assert.deepEqual(
        await unacknowledgedRequest(server.port, getOne(authority, [["x-big", "a".repeat(65_000)]])),
        enhanceYourCalm,
      );
    });

    it("a GET with 97 KiB of headers in 100 fields is reset", async () => {
      const fields = Array.from({ length: 100 }, (_, i): [string, string] => [`x-h${i}`, "b".repeat(990)]);
      assert.deepEqual(await unacknowledgedRequest(server.port, healthz(authority, fields)), enhanceYourCalm);
    });

    it("a header list just over 16 KiB, counted as HTTP/2 counts it (name + value + 32 per field), is reset", async () => {
      const base = healthz(authority, []);
      const size = base.reduce((sum, [name, value]) => sum + name.length + value.length + 32, 0);
      const filler = 16 * 1024 - size - "x-fill".length - 32 + 1;
      assert.deepEqual(
        await unacknowledgedRequest(server.port, healthz(authority, [["x-fill", "c".repeat(filler)]])),
        enhanceYourCalm,
      );
      assert.deepEqual(
        await unacknowledgedRequest(server.port, healthz(authority, [["x-fill", "c".repeat(filler - 1)]])),
        { status: 200 },
      );
    });

    it("larger blocks never reach JavaScript: nghttp2 ends the connection (a field over 64 KiB; 7.6 MB in 127 fields)", async () => {
      assert.deepEqual(
        await unacknowledgedRequest(server.port, healthz(authority, [["x-huge", "e".repeat(1_000_000)]])),
        {
          goaway: http2.constants.NGHTTP2_COMPRESSION_ERROR,
        },
      );
      const fields = Array.from({ length: 127 }, (_, i): [string, string] => [`x-h${i}`, "f".repeat(60_000)]);
      const outcome = await unacknowledgedRequest(server.port, healthz(authority, fields));
      assert.ok("goaway" in outcome || "reset" in outcome, JSON.stringify(outcome));
    });

    it("a gRPC call with a 12 KB header, under the limit, is served before the acknowledgement too", async () => {
      assert.deepEqual(await unacknowledgedRequest(server.port, getOne(authority, [["x-fine", "d".repeat(12_000)]])), {
        status: 200,
      });
    });

    it("curl --http2-prior-knowledge with a 20 KB Connect GET URL is refused, as HTTP/1.1 refuses it with 431", async () => {
      const url = connectGetUrl(server.url, 20_000);
      const h2 = await runCommand("curl", [
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--http2-prior-knowledge",
        url,
      ]);
      assert.notEqual(h2.code, 0);
      assert.equal(h2.stdout, "000");
      const h1 = await runCommand("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--http1.1", url]);
      assert.equal(h1.stdout, "431");
      const small = await runCommand("curl", [
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--http2-prior-knowledge",
        connectGetUrl(server.url, 100),
      ]);
      assert.equal(small.stdout, "200");
    });
  });
}
