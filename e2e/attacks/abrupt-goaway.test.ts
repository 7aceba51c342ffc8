import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startCanary } from "../support/canary.js";
import { requestsThenGoaway } from "../support/raw-h2.js";
import { type ServerProcess, spawnServer } from "../support/server.js";

/**
 * A client that resets some streams (so that the server defers the next
 * ones a turn, server/listen/reset-flood-guard.ts), opens more, and ends the
 * connection with GOAWAY CANCEL in the same breath: the server then meets
 * streams whose session is already gone. Each such stream once ended the
 * process (its socket asked of a destroyed session; its error unheard).
 */
for (const fastPath of ["on", "off"]) {
  describe(`streams whose connection goes away before they are served (FAST_PATH=${fastPath})`, () => {
    let server: ServerProcess;
    before(async () => {
      server = await spawnServer({ FAST_PATH: fastPath });
    });
    after(() => server.close());

    it("leave the server running and serving others", async () => {
      const canary = startCanary(server.url);
      for (let round = 0; round < 40; round++) {
        await Promise.all(
          ["/simpletest.SimpleTest/GetOne", "/simpletest.Nope/GetOne"].map((path) =>
            requestsThenGoaway(
              server.port,
              [
                [":method", "POST"],
                [":scheme", "http"],
                [":authority", `127.0.0.1:${server.port}`],
                [":path", path],
                ["content-type", "application/grpc"],
                ["te", "trailers"],
              ],
              20,
              5,
            ),
          ),
        );
      }
      await sleep(500);
      const report = await canary.stop();
      assert.equal(server.child.exitCode, null, `the server exited:\n${server.lines.slice(-20).join("\n")}`);
      assert.deepEqual(report.failures, []);
      assert.ok(report.served > 0);
    });
  });
}
