import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { envelope } from "../support/raw-http.js";
import { type RunningServer, startServer } from "../support/server.js";

/**
 * The server in this process, logging to this process's stdout: its RPC
 * lines are caught there. In its own process the server would see the reset
 * later than here, after its call had started, and log the peer right.
 */
function catchRpcLines(): { lines: string[]; release(): void } {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    const text = chunk.toString();
    const rpc = text.split("\n").filter((line) => line.includes('"msg":"rpc"'));
    lines.push(...rpc);
    return rpc.length > 0 ? true : write(chunk, ...rest);
  }) as typeof process.stdout.write;
  return { lines, release: () => (process.stdout.write = write) };
}

for (const fastPath of ["on", "off"]) {
  describe(`streams reset as soon as they open are logged with the client's real address (FAST_PATH=${fastPath})`, () => {
    let server: RunningServer;
    let caught: ReturnType<typeof catchRpcLines>;
    before(async () => {
      caught = catchRpcLines();
      server = await startServer({ FAST_PATH: fastPath, LOG_LEVEL: "info" });
    });
    after(async () => {
      await server.close();
      caught.release();
    });

    it("every RPC line names the peer as address:port, never undefined:undefined", async () => {
      const session = http2.connect(server.url);
      session.on("error", () => {});
      for (let i = 0; i < 5; i++) {
        for (const method of ["GetOne", "GetList", "PostList", "PostAndPost"]) {
          const stream = session.request({
            ":method": "POST",
            ":path": `/simpletest.SimpleTest/${method}`,
            "content-type": "application/grpc",
            te: "trailers",
          });
          stream.on("error", () => {});
          stream.end(envelope(new Uint8Array(0)));
          stream.close(http2.constants.NGHTTP2_CANCEL);
        }
      }
      await sleep(1_000);
      session.destroy();
      const rpcLines = caught.lines.map((line) => JSON.parse(line) as { peer?: string });
      assert.ok(rpcLines.length > 0, "no RPC was logged");
      assert.deepEqual(
        rpcLines.filter((line) => !/^127\.0\.0\.1:\d+$/.test(line.peer ?? "")),
        [],
      );
    });
  });
}
