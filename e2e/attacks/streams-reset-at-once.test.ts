import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { envelope } from "../support/raw-http.js";
import { type RunningServer, startServer } from "../support/server.js";

/**
 * The server runs in this process, its RPC lines caught as it logs them: in
 * its own process it would see the reset later than here, after its call had
 * started, and log the peer right.
 */
function catchRpcLines(): { lines: string[]; logStream: { write(line: string): void } } {
  const lines: string[] = [];
  const logStream = {
    write(line: string) {
      if (line.includes('"msg":"rpc"')) lines.push(line.trimEnd());
    },
  };
  return { lines, logStream };
}

for (const fastPath of ["on", "off"]) {
  describe(`streams reset as soon as they open are logged with the client's real address (FAST_PATH=${fastPath})`, () => {
    let server: RunningServer;
    let caught: ReturnType<typeof catchRpcLines>;
    before(async () => {
      caught = catchRpcLines();
      server = await startServer(
        { FAST_PATH: fastPath, LOG_LEVEL: "info", GETLIST_INTERVAL_MS: "1000" },
        { logStream: caught.logStream },
      );
    });
    after(() => server.close());

    it("every RPC line names the peer as address:port, never undefined:undefined", async () => {
      // Calls in flight (a GetList between messages, a bidi stream waiting for its next request)
      // cut by a reset and the connection gone at once: by the time the call ends and logs, the
      // socket no longer knows its peer. A stream reset before its call begins logs nothing.
      const sessions: http2.ClientHttp2Session[] = [];
      const streams: http2.ClientHttp2Stream[] = [];
      for (let i = 0; i < 5; i++) {
        for (const method of ["GetList", "PostAndPost"]) {
          const session = http2.connect(server.url);
          session.on("error", () => {});
          sessions.push(session);
          const stream = session.request({
            ":method": "POST",
            ":path": `/simpletest.SimpleTest/${method}`,
            "content-type": "application/grpc",
            te: "trailers",
          });
          stream.on("error", () => {});
          stream.on("data", () => {});
          stream.write(envelope(new Uint8Array(0)));
          if (method === "GetList") stream.end();
          streams.push(stream);
        }
      }
      await sleep(300);
      for (const stream of streams) stream.close(http2.constants.NGHTTP2_CANCEL);
      for (const session of sessions) session.destroy();
      await sleep(1_000);
      const rpcLines = caught.lines.map((line) => JSON.parse(line) as { peer?: string });
      assert.equal(rpcLines.length, 10, "each call cut in flight is logged once");
      assert.deepEqual(
        rpcLines.filter((line) => !/^127\.0\.0\.1:\d+$/.test(line.peer ?? "")),
        [],
      );
    });
  });
}
