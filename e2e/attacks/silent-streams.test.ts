import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startCanary } from "../support/canary.js";
import { sample, scrape } from "../support/prometheus.js";
import { assertStillServing, type ServerProcess, spawnServer } from "../support/server.js";

const holdMs = 2_000;
const streams = 40;

async function cpuSeconds(server: ServerProcess): Promise<number> {
  return sample(await scrape(server.url), "process_cpu_seconds_total") ?? Number.NaN;
}

/**
 * A client stream opened and left: its headers only, or its first message
 * begun and not finished. The fast lane waits through such pauses for client
 * streams; a wait that polled the event loop kept a core busy for as long as
 * the client stayed silent.
 */
function openAndStall(session: http2.ClientHttp2Session, path: string, partial: boolean): void {
  const stream = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
  });
  stream.on("error", () => {});
  stream.resume();
  // An envelope that promises 100 bytes and brings 2.
  if (partial) stream.write(Buffer.from([0, 0, 0, 0, 100, 0x0a, 5]));
}

for (const fastPath of ["on", "off"]) {
  describe(`client and bidi streams left silent, FAST_PATH=${fastPath}`, () => {
    let server: ServerProcess;
    before(async () => {
      server = await spawnServer({ FAST_PATH: fastPath });
    });
    after(() => server?.close());

    it(`${streams} silent or half-sent streams cost the server almost no CPU while they wait; others are served`, async (t) => {
      const session = http2.connect(server.url);
      session.on("error", () => {});
      const canary = startCanary(server.url);
      try {
        for (let i = 0; i < streams; i++) {
          const path = i % 4 < 2 ? "/simpletest.SimpleTest/PostList" : "/simpletest.SimpleTest/PostAndPost";
          openAndStall(session, path, i % 2 === 1);
        }
        await sleep(200);
        const before = await cpuSeconds(server);
        await sleep(holdMs);
        const used = (await cpuSeconds(server)) - before;
        t.diagnostic(`server CPU while ${streams} streams waited ${holdMs} ms: ${(used * 1000).toFixed(0)} ms`);
        // A server polling for their bytes spends the whole time on one core; an idle one, a few ms.
        assert.ok(used < (holdMs / 1000) * 0.4, `server CPU ${used.toFixed(2)} s in ${holdMs / 1000} s`);
      } finally {
        session.destroy();
      }
      const report = await canary.stop();
      assert.deepEqual(report.failures, []);
      assert.ok(report.served > 0);
      await assertStillServing(server.url);
    });
  });
}
