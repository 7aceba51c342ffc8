import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createSimpleTestClient } from "../../client/simple-test-client.js";
import { eventually } from "../../testkit/eventually.js";
import { startCanary } from "../support/canary.js";
import { assertStillServing, type ServerProcess, spawnServer } from "../support/server.js";

const mib = 1024 * 1024;
const messageLimit = 4 * mib;
const perConnection = 16 * mib;
const streams = 100;
const attackMs = 4_000;

/** The server's own account of its memory and of the request bytes it holds, from GET /metrics. */
async function memoryOf(server: ServerProcess): Promise<{ rss: number; held: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
  return { rss: read("process_resident_memory_bytes"), held: read("simpletest_request_bytes_held") };
}

/** The first bytes of a body that says it carries one message of the largest size allowed. */
const bodyStart = {
  grpc: () => {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(messageLimit, 1);
    // A protobuf field 1 (string) as long as the rest of the message.
    return Buffer.concat([header, Buffer.from([0x0a, 0xfa, 0xff, 0xff, 0x01])]);
  },
  connect: () => Buffer.from([0x0a, 0xfa, 0xff, 0xff, 0x01]),
};

/**
 * Opens `streams` unary GetOne calls on one connection, each sending a body
 * one byte short of the largest message, as fast as the server takes it,
 * for `attackMs`; returns how many bytes the server took in all.
 */
async function unfinishedBodies(session: http2.ClientHttp2Session, shape: "grpc" | "connect"): Promise<number> {
  const until = performance.now() + attackMs;
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const taken = await Promise.all(
    Array.from({ length: streams }, async () => {
      const stream = session.request({
        ":method": "POST",
        ":path": "/simpletest.SimpleTest/GetOne",
        "content-type": shape === "grpc" ? "application/grpc" : "application/proto",
        ...(shape === "grpc" ? { te: "trailers" } : {}),
      });
      stream.on("error", () => {});
      let written = 0;
      const first = bodyStart[shape]();
      stream.write(first);
      written += first.length;
      const total = (shape === "grpc" ? 5 : 0) + messageLimit - 1;
      while (written + chunk.length < total && performance.now() < until && !stream.destroyed) {
        written += chunk.length;
        if (stream.write(chunk)) continue;
        const drained = await Promise.race([
          new Promise<boolean>((resolve) => stream.once("drain", () => resolve(true))),
          sleep(Math.max(0, until - performance.now())).then(() => false),
        ]);
        if (!drained) break;
      }
      return written - stream.writableLength;
    }),
  );
  return taken.reduce((a, b) => a + b, 0);
}

for (const fastPath of ["on", "off"]) {
  for (const shape of ["grpc", "connect"] as const) {
    describe(`request bytes held for unfinished bodies, FAST_PATH=${fastPath}, ${shape}`, () => {
      let server: ServerProcess;
      before(async () => {
        server = await spawnServer({ FAST_PATH: fastPath, REQUEST_BODY_TIMEOUT_MS: "60000" });
      });
      after(() => server?.close());

      it(`${streams} unary calls on one connection, each sending ${messageLimit / mib} MiB that never ends: the server holds at most REQUEST_BUFFER_PER_CONNECTION_BYTES and a message, and an honest client is served throughout`, async (t) => {
        const before = await memoryOf(server);
        const canary = startCanary(server.url);
        const session = http2.connect(server.url);
        session.on("error", () => {});
        try {
          const taken = await unfinishedBodies(session, shape);
          const during = await memoryOf(server);
          const report = await canary.stop();
          t.diagnostic(
            `server took ${(taken / mib).toFixed(1)} MiB of ${((streams * messageLimit) / mib).toFixed(0)} MiB offered; holds ${(during.held / mib).toFixed(1)} MiB of request bytes; RSS ${(before.rss / mib).toFixed(0)} → ${(during.rss / mib).toFixed(0)} MiB; canary p50 ${report.p50Ms.toFixed(1)} ms, p99 ${report.p99Ms.toFixed(1)} ms, ${report.served} calls`,
          );
          assert.deepEqual(report.failures, []);
          assert.ok(report.served > 10, `the canary was served ${report.served} times`);
          // The bound, the message the longest-holding call may finish, and the chunk each call
          // read as the bound was reached (at most 16 KiB each).
          assert.ok(
            during.held <= perConnection + messageLimit + 2 * mib,
            `the server holds ${(during.held / mib).toFixed(1)} MiB of request bytes`,
          );
          // What a stalled stream's flow-control window lets through on top (64 KiB each) is in RSS too.
          const growth = during.rss - before.rss;
          assert.ok(growth < 120 * mib, `RSS grew by ${(growth / mib).toFixed(0)} MiB`);
        } finally {
          session.destroy();
          await canary.stop();
        }
        // The server sees the streams close a moment after the client destroys its connection.
        await eventually(async () => (await memoryOf(server)).held === 0, {
          intervalMs: 100,
          what: "every byte to be let go when the calls end",
        });
        await assertStillServing(server.url);
      });
    });
  }
}

for (const fastPath of ["on", "off"]) {
  describe(`a server full of unfinished bodies, FAST_PATH=${fastPath}`, () => {
    let server: ServerProcess;
    before(async () => {
      server = await spawnServer({
        FAST_PATH: fastPath,
        REQUEST_BUFFER_BYTES: String(mib),
        REQUEST_BUFFER_PER_CONNECTION_BYTES: String(mib),
      });
    });
    after(() => server?.close());

    it("refuses new calls at once with resource_exhausted while it holds REQUEST_BUFFER_BYTES, and serves them again once the bytes are let go", async () => {
      const session = http2.connect(server.url);
      session.on("error", () => {});
      const client = createSimpleTestClient({ baseUrl: server.url, protocol: "grpc" });
      try {
        const attack = unfinishedBodies(session, "grpc");
        let held = 0;
        for (let i = 0; i < 50 && held < mib; i++) {
          await sleep(100);
          held = (await memoryOf(server)).held;
        }
        assert.ok(held >= mib, `the server holds ${held} bytes`);
        const started = performance.now();
        await assert.rejects(client.getOne({ hello: "x" }, { timeoutMs: 5_000 }), (e: Error) =>
          /resource_exhausted/.test(e.message),
        );
        assert.ok(performance.now() - started < 2_000, "refused at once, not after waiting");
        session.destroy();
        await attack;
        await sleep(200);
        assert.equal((await client.getOne({ hello: "x" }, { timeoutMs: 5_000 })).result, "Hello !! x");
      } finally {
        session.destroy();
        client.close();
      }
    });
  });
}
