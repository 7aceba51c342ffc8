import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createWritableIterable } from "@connectrpc/connect/protocol";
import { createSimpleTestClient, type SimpleTestClient } from "../client/simple-test-client.js";
import { sample, scrape } from "./support/prometheus.js";
import { envelope } from "./support/raw-http.js";
import { requestListBytes, requestOneBytes } from "./support/request-bytes.js";
import { type ServerProcess, spawnServer } from "./support/server.js";

const attackMs = 3_000;
const mib = 1024 * 1024;

/** The server's own account of its memory, from GET /metrics. */
async function memoryOf(server: ServerProcess): Promise<{ rss: number; heap: number }> {
  const text = await scrape(server.url);
  const read = (name: string) => sample(text, name) ?? Number.NaN;
  return { rss: read("process_resident_memory_bytes"), heap: read("nodejs_heap_size_used_bytes") };
}

/**
 * Calls every method over gRPC (HTTP/2) and Connect (HTTP/1.1) in a loop until
 * `stop`, each call with a 5 s deadline; returns how many rounds succeeded.
 * Any failure rejects.
 */
async function politeCalls(url: string, stop: AbortSignal): Promise<number> {
  const clients: SimpleTestClient[] = [
    createSimpleTestClient({ baseUrl: url, protocol: "grpc" }),
    createSimpleTestClient({ baseUrl: url, protocol: "connect", httpVersion: "1.1" }),
  ];
  let rounds = 0;
  try {
    while (!stop.aborted) {
      for (const client of clients) {
        const options = { timeoutMs: 5_000 };
        assert.equal((await client.getOne({ hello: "polite" }, options)).result, "Hello !! polite");
        const list: string[] = [];
        for await (const m of client.getList({}, options)) list.push(m.resultlist);
        assert.equal(list.length, 5);
      }
      const requests = createWritableIterable<{ namelist: string }>();
      const answers = clients[0].postAndPost(requests, { timeoutMs: 5_000 })[Symbol.asyncIterator]();
      await requests.write({ namelist: "ping" });
      assert.equal((await answers.next()).value?.resultlist, "Hello !! ping");
      requests.close();
      assert.equal((await answers.next()).done, true);
      rounds++;
      await sleep(50);
    }
    return rounds;
  } finally {
    for (const client of clients) client.close();
  }
}

async function oneGoodCall(url: string): Promise<void> {
  const client = createSimpleTestClient({ baseUrl: url, protocol: "grpc" });
  try {
    assert.equal((await client.getOne({ hello: "after" }, { timeoutMs: 5_000 })).result, "Hello !! after");
  } finally {
    client.close();
  }
}

describe("slow and greedy clients do not stop the server from answering everyone else", () => {
  let server: ServerProcess;
  before(async () => {
    server = await spawnServer();
  });
  after(() => server?.close());

  it("200 connections trickling header bytes (slowloris): others are answered throughout", async (t) => {
    const sockets: net.Socket[] = [];
    const stop = new AbortController();
    try {
      for (let i = 0; i < 200; i++) {
        const socket = net.connect(server.port, "127.0.0.1");
        socket.on("error", () => {});
        // Half start an HTTP/1.1 request, half an HTTP/2 preface; none finishes.
        socket.write(i % 2 === 0 ? "GET / HTTP/1.1\r\nHost: x\r\n" : "PRI * HTTP/2.0\r\n");
        sockets.push(socket);
      }
      const trickle = setInterval(() => {
        for (let i = 0; i < sockets.length; i += 2) if (sockets[i].writable) sockets[i].write("X");
      }, 250);
      const polite = politeCalls(server.url, stop.signal);
      await sleep(attackMs);
      clearInterval(trickle);
      stop.abort();
      const rounds = await polite;
      t.diagnostic(`${rounds} rounds of polite calls during the attack`);
      assert.ok(rounds >= 1);
      const open = sockets.filter((s) => !s.destroyed).length;
      assert.ok(open > 100, `the attack itself did not hold its connections open (${open} left)`);
    } finally {
      stop.abort();
      for (const socket of sockets) socket.destroy();
    }
    await oneGoodCall(server.url);
  });

  it("streams whose reader never reads: the server stops taking requests, memory stays bounded", async (t) => {
    const before = await memoryOf(server);
    const sessions: http2.ClientHttp2Session[] = [];
    const stop = new AbortController();
    // Each greedy stream offers 64 MiB of PostAndPost requests and reads none of
    // the answers; a server that buffered without limit would take all of it.
    const offeredPerStream = 64 * mib;
    const greedyStreams = 20;
    const accepted: number[] = [];
    const stopped = new Promise<boolean>((resolve) => stop.signal.addEventListener("abort", () => resolve(false)));
    try {
      const greedy = Array.from({ length: greedyStreams }, async (_, i) => {
        const session = http2.connect(server.url);
        session.on("error", () => {});
        sessions.push(session);
        const stream = session.request({
          ":method": "POST",
          ":path": "/simpletest.SimpleTest/PostAndPost",
          "content-type": "application/grpc",
          te: "trailers",
        });
        stream.on("error", () => {});
        stream.pause();
        const request = envelope(requestListBytes("n".repeat(60 * 1024)));
        let written = 0;
        while (written < offeredPerStream && !stop.signal.aborted) {
          if (stream.write(request)) {
            written += request.length;
            continue;
          }
          written += request.length;
          // Wait for the server to take more, or for the attack to end.
          const drained = await Promise.race([
            new Promise<boolean>((resolve) => stream.once("drain", () => resolve(true))),
            stopped,
          ]);
          if (!drained) break;
        }
        accepted[i] = written - stream.writableLength;
      });

      // And GetList streams that are opened and never read.
      const idle = http2.connect(server.url);
      idle.on("error", () => {});
      sessions.push(idle);
      for (let i = 0; i < 50; i++) {
        const stream = idle.request({
          ":method": "POST",
          ":path": "/simpletest.SimpleTest/GetList",
          "content-type": "application/grpc",
          te: "trailers",
        });
        stream.on("error", () => {});
        stream.pause();
        stream.end(envelope(requestOneBytes("x")));
      }

      const polite = politeCalls(server.url, stop.signal);
      await sleep(attackMs);
      const during = await memoryOf(server);
      stop.abort();
      await Promise.all(greedy);
      assert.ok((await polite) >= 1);

      const most = Math.max(...accepted);
      t.diagnostic(
        `most taken from one greedy stream: ${(most / mib).toFixed(2)} MiB; server RSS ${(before.rss / mib).toFixed(0)} → ${(during.rss / mib).toFixed(0)} MiB, heap ${(before.heap / mib).toFixed(0)} → ${(during.heap / mib).toFixed(0)} MiB`,
      );
      assert.ok(
        most < 8 * mib,
        `a greedy stream got ${(most / mib).toFixed(1)} MiB accepted of ${offeredPerStream / mib}`,
      );
      const growth = during.rss - before.rss;
      assert.ok(growth < 150 * mib, `RSS grew by ${(growth / mib).toFixed(0)} MiB under attack`);
    } finally {
      stop.abort();
      for (const session of sessions) session.destroy();
    }
    await oneGoodCall(server.url);
  });
});
