import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createSimpleTestClient } from "../../client/simple-test-client.js";
import { startCanary } from "../support/canary.js";
import { type SelfSigned, selfSigned } from "../support/self-signed.js";
import { type ServerProcess, spawnServer } from "../support/server.js";

const maxConnections = 20;

/** A raw TCP connection that sends nothing: resolves with when the server closed it, or "open" after `giveUpMs`. */
function closedAfter(port: number, giveUpMs: number): Promise<number | "open"> {
  return new Promise((resolve) => {
    const start = performance.now();
    const socket = net.connect(port, "127.0.0.1");
    socket.on("error", () => {});
    const giveUp = setTimeout(() => {
      resolve("open");
      socket.destroy();
    }, giveUpMs);
    socket.once("close", () => {
      clearTimeout(giveUp);
      resolve(performance.now() - start);
    });
    socket.resume();
  });
}

for (const scheme of ["http", "https"] as const) {
  describe(`MAX_CONNECTIONS: past it new connections are closed at once; those open are served (${scheme})`, () => {
    let cert: SelfSigned | undefined;
    let server: ServerProcess;
    before(async () => {
      cert = scheme === "https" ? selfSigned() : undefined;
      server = await spawnServer({
        MAX_CONNECTIONS: String(maxConnections),
        ...(cert ? { TLS_CERT: cert.certPath, TLS_KEY: cert.keyPath } : {}),
      });
    });
    after(async () => {
      await server?.close();
      cert?.remove();
    });

    it(`with ${maxConnections} open, 200 more are each closed at once and logged in one line; the canary is served`, async () => {
      const canary = startCanary(server.url, { ca: cert?.ca });
      // The canary's own connection is one of the limit's.
      await sleep(500);
      const holders = await Promise.all(
        Array.from({ length: maxConnections - 1 }, async () => {
          const session = http2.connect(server.url, { ca: cert?.ca });
          session.on("error", () => {});
          await new Promise((resolve) => session.once("remoteSettings", resolve));
          return session;
        }),
      );
      try {
        const times = await Promise.all(Array.from({ length: 200 }, () => closedAfter(server.port, 5_000)));
        assert.deepEqual(
          times.filter((t) => t === "open"),
          [],
        );
        const slowest = Math.max(...(times as number[]));
        assert.ok(slowest < 2_000, `one was closed after ${slowest.toFixed(0)} ms`);
        const report = await canary.stop();
        assert.deepEqual(report.failures, []);
        assert.ok(report.served > 0);
        const limitLines = server.lines.filter((line) => line.includes("MAX_CONNECTIONS"));
        assert.equal(limitLines.length, 1, limitLines.join("\n"));
        assert.equal(JSON.parse(limitLines[0] as string).maxConnections, maxConnections);
        console.log(
          `${scheme}: 200 connections over the limit closed after at most ${slowest.toFixed(0)} ms; ` +
            `canary p50/p99 ${report.p50Ms.toFixed(1)}/${report.p99Ms.toFixed(1)} ms`,
        );
      } finally {
        for (const session of holders) session.destroy();
      }
      // Room again: a new client is served.
      await sleep(200);
      const client = createSimpleTestClient({ baseUrl: server.url, protocol: "grpc", ca: cert?.ca });
      try {
        assert.equal((await client.getOne({ hello: "room" })).result, "Hello !! room");
      } finally {
        client.close();
      }
    });
  });
}
