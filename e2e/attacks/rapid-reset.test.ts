import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { type CanaryReport, startCanary } from "../support/canary.js";
import { scrape, total } from "../support/prometheus.js";
import { envelope, readAnswer } from "../support/raw-http.js";
import { runCommand } from "../support/run-command.js";
import { assertStillServing, type ServerProcess, spawnServer } from "../support/server.js";

const resetBurst = 200;
const resetsPerSecond = 50;
const floodScript = fileURLToPath(new URL("../python/stream_flood.py", import.meta.url));
const attackSeconds = 3;
const streamsPerSecond = 1500;

interface Flood {
  readonly sent: number;
  readonly answered: number;
  readonly connections: number;
  readonly goaways: Record<string, number>;
  readonly msToGoaway: readonly number[];
}

/** Raw HTTP/2 GetOne streams at `streamsPerSecond` for `attackSeconds`, reset at once or answered. */
async function flood(server: ServerProcess, mode: "reset" | "honest"): Promise<Flood> {
  const { code, stdout, stderr } = await runCommand(
    "/usr/bin/python3",
    [
      floodScript,
      String(server.port),
      "/simpletest.SimpleTest/GetOne",
      mode,
      String(attackSeconds),
      String(streamsPerSecond),
    ],
    { timeoutMs: (attackSeconds + 20) * 1000 },
  );
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout) as Flood;
}

/** What an honest client on its own connection sees while `load` runs. */
async function canaryDuring<T>(server: ServerProcess, load: () => Promise<T>): Promise<[CanaryReport, T]> {
  const canary = startCanary(server.url);
  const result = await load();
  return [await canary.stop(), result];
}

const handledGetOne = async (server: ServerProcess) =>
  total(await scrape(server.url), "grpc_server_handled_total", { grpc_method: "GetOne" });

const ms = (report: CanaryReport) =>
  `p50 ${report.p50Ms.toFixed(1)} ms, p99 ${report.p99Ms.toFixed(1)} ms, max ${report.maxMs.toFixed(1)} ms (${report.served} calls)`;

for (const fastPath of ["on", "off"]) {
  describe(`rapid reset (CVE-2023-44487), FAST_PATH=${fastPath}`, () => {
    let server: ServerProcess;
    before(async () => {
      server = await spawnServer({
        FAST_PATH: fastPath,
        HTTP2_RESET_BURST: String(resetBurst),
        HTTP2_RESET_RATE: String(resetsPerSecond),
      });
    });
    after(() => server?.close());

    it("a connection that resets more than HTTP2_RESET_BURST streams, faster than HTTP2_RESET_RATE, is closed with GOAWAY ENHANCE_YOUR_CALM", async (t) => {
      const session = http2.connect(server.url);
      session.on("error", () => {});
      const goaway = new Promise<number>((resolve) => session.once("goaway", (code: number) => resolve(code)));
      const closed = new Promise((resolve) => session.once("close", resolve));
      const started = performance.now();
      let resets = 0;
      // Batches with pauses between them, so that the server has read every reset before it
      // closes the connection (unread bytes would turn its close into a TCP reset and lose the GOAWAY).
      while (!session.closed && !session.destroyed && resets < 10 * resetBurst) {
        for (let i = 0; i < 20; i++) {
          const stream = session.request({
            ":method": "POST",
            ":path": "/simpletest.SimpleTest/GetOne",
            "content-type": "application/grpc",
            te: "trailers",
          });
          stream.on("error", () => {});
          stream.close(http2.constants.NGHTTP2_CANCEL);
          resets++;
        }
        await sleep(20);
      }
      const code = await Promise.race([goaway, closed.then(() => undefined)]);
      const elapsedMs = performance.now() - started;
      t.diagnostic(`closed after ${resets} resets sent in ${elapsedMs.toFixed(0)} ms, GOAWAY code ${code}`);
      assert.equal(code, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      // The burst, what the rate refilled meanwhile, and the batch in flight.
      assert.ok(resets >= resetBurst, `closed after only ${resets} resets`);
      assert.ok(resets <= resetBurst + (elapsedMs / 1000) * resetsPerSecond + 100, `${resets} resets taken`);
      await closed;
      await assertStillServing(server.url);
    });

    it("a connection that resets a call now and then is served as before, its next calls too", async () => {
      const session = http2.connect(server.url);
      session.on("error", () => {});
      try {
        for (let round = 0; round < 20; round++) {
          const cancelled = session.request({
            ":method": "POST",
            ":path": "/simpletest.SimpleTest/GetOne",
            "content-type": "application/grpc",
            te: "trailers",
          });
          cancelled.on("error", () => {});
          cancelled.close(http2.constants.NGHTTP2_CANCEL);
          // Sent right behind the reset, so it is one of the streams the guard starts a turn later.
          const answers = await Promise.all(
            ["GetOne", "GetList"].map((method) =>
              readAnswer(
                (() => {
                  const stream = session.request({
                    ":method": "POST",
                    ":path": `/simpletest.SimpleTest/${method}`,
                    "content-type": "application/grpc",
                    te: "trailers",
                  });
                  stream.end(envelope(Uint8Array.of(0x0a, 0x01, 0x78)));
                  return stream;
                })(),
              ),
            ),
          );
          for (const answer of answers) assert.equal(answer.trailers["grpc-status"], "0");
          assert.match(answers[0].body.toString(), /Hello !! x/);
        }
        assert.equal(session.destroyed, false);
      } finally {
        session.destroy();
      }
    });

    it("the resetting connection gets GOAWAY ENHANCE_YOUR_CALM, its reset streams start no handler, and an honest client keeps the latency an equal honest load gives it", async (t) => {
      const [honestCanary, honest] = await canaryDuring(server, () => flood(server, "honest"));
      const handledBefore = await handledGetOne(server);
      const [attackCanary, attack] = await canaryDuring(server, () => flood(server, "reset"));
      const handledDuring = (await handledGetOne(server)) - handledBefore;

      const sortedMs = [...attack.msToGoaway].sort((a, b) => a - b);
      const toGoaway =
        sortedMs.length === 0 ? "" : `, median ${sortedMs[Math.floor(sortedMs.length / 2)]} ms to GOAWAY`;
      t.diagnostic(`honest load: ${honest.answered} of ${honest.sent} streams answered; canary ${ms(honestCanary)}`);
      t.diagnostic(
        `rapid reset: ${attack.sent} streams reset on ${attack.connections} connections, GOAWAYs seen ${JSON.stringify(attack.goaways)}${toGoaway}, ${handledDuring} handlers run; canary ${ms(attackCanary)}`,
      );

      assert.deepEqual(honestCanary.failures, []);
      assert.deepEqual(attackCanary.failures, []);
      // All but the streams still in flight when the load stopped (100 at most).
      assert.ok(honest.answered >= honest.sent - 100, "the honest load was served");
      // The flood's unread bytes often turn the server's close into a TCP reset, and the GOAWAY is lost.
      for (const code of Object.keys(attack.goaways)) assert.equal(code, "11", "GOAWAY ENHANCE_YOUR_CALM (0xb)");
      assert.ok(attack.connections > 2, "one connection took every reset without being closed");
      // Only a connection's first few streams, before it has reset any, reach a handler.
      assert.ok(
        handledDuring < attack.sent / 10,
        `${handledDuring} handlers ran for ${attack.sent} streams reset at once`,
      );
      // Wide margins: two shared cores, ±50% noise between runs.
      assert.ok(
        attackCanary.p99Ms < Math.max(500, 5 * honestCanary.p99Ms),
        `canary p99 ${attackCanary.p99Ms.toFixed(0)} ms under attack, ${honestCanary.p99Ms.toFixed(0)} ms under an honest load`,
      );
      await assertStillServing(server.url);
    });
  });
}
