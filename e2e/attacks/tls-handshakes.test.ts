import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import tls from "node:tls";
import { eventually } from "../../testkit/eventually.js";
import { startCanary } from "../support/canary.js";
import { type SelfSigned, selfSigned } from "../support/self-signed.js";
import { type ServerProcess, spawnServer } from "../support/server.js";

const headersTimeoutMs = 1_000;

/** The first bytes a real TLS client sends: a whole ClientHello, caught on a plain TCP server. */
async function clientHello(): Promise<Buffer> {
  const catcher = net.createServer();
  await new Promise<void>((resolve) => catcher.listen(0, "127.0.0.1", resolve));
  const caught = new Promise<Buffer>((resolve) =>
    catcher.once("connection", (socket) => socket.once("data", (hello: Buffer) => resolve(hello))),
  );
  const client = tls.connect({ port: (catcher.address() as net.AddressInfo).port, host: "127.0.0.1" });
  client.on("error", () => {});
  const hello = await caught;
  client.destroy();
  catcher.close();
  return hello;
}

/**
 * A connection that never finishes its handshake: it sends `bytes` (maybe
 * none), then trickles one more byte of them every `trickleMs` if asked.
 * Resolves with when the server closed it, or "open" if it outlives `giveUpMs`.
 */
function stalledHandshake(
  port: number,
  bytes: Buffer,
  options: { trickleMs?: number; giveUpMs: number },
): Promise<number | "open"> {
  return new Promise((resolve) => {
    const start = performance.now();
    const socket = net.connect(port, "127.0.0.1");
    let trickle: NodeJS.Timeout | undefined;
    socket.once("connect", () => {
      socket.write(bytes);
      if (options.trickleMs !== undefined) trickle = setInterval(() => socket.write(Buffer.of(0)), options.trickleMs);
    });
    socket.on("error", () => {});
    const giveUp = setTimeout(() => {
      resolve("open");
      socket.destroy();
    }, options.giveUpMs);
    socket.once("close", () => {
      clearTimeout(giveUp);
      clearInterval(trickle);
      resolve(performance.now() - start);
    });
    socket.resume();
  });
}

/** The file descriptors the server process holds: sockets, mostly. */
const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** Whether `openssl s_client` completes a TLS 1.2 handshake with only `cipher` offered. */
function handshakes(port: number, cipher: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = execFile(
      "openssl",
      ["s_client", "-connect", `127.0.0.1:${port}`, "-tls1_2", "-cipher", cipher],
      { timeout: 10_000 },
      (_error, stdout) => resolve(new RegExp(`Cipher is ${cipher}\\b`).test(stdout)),
    );
    child.stdin?.end();
  });
}

describe("TLS: a handshake that never finishes is closed after HTTP1_HEADERS_TIMEOUT_MS; others are served", () => {
  let cert: SelfSigned;
  let server: ServerProcess;
  before(async () => {
    cert = selfSigned();
    server = await spawnServer({
      TLS_CERT: cert.certPath,
      TLS_KEY: cert.keyPath,
      HTTP1_HEADERS_TIMEOUT_MS: String(headersTimeoutMs),
    });
  });
  after(async () => {
    await server?.close();
    cert?.remove();
  });

  it("50 silent, 50 half-hello and 10 trickling connections are each closed; the canary is served throughout", async () => {
    const hello = await clientHello();
    const quiet = startCanary(server.url, { ca: cert.ca });
    await sleep(2_000);
    const without = await quiet.stop();

    const fdsBefore = openFds(server.child.pid as number);
    const canary = startCanary(server.url, { ca: cert.ca });
    const giveUpMs = 10 * headersTimeoutMs;
    const closedAfter = await Promise.all([
      ...Array.from({ length: 50 }, () => stalledHandshake(server.port, Buffer.alloc(0), { giveUpMs })),
      ...Array.from({ length: 50 }, () => stalledHandshake(server.port, hello.subarray(0, 40), { giveUpMs })),
      ...Array.from({ length: 10 }, () =>
        stalledHandshake(server.port, hello.subarray(0, 5), { trickleMs: 200, giveUpMs }),
      ),
    ]);
    const during = await canary.stop();

    assert.deepEqual(
      closedAfter.filter((ms) => ms === "open"),
      [],
    );
    const times = (closedAfter as number[]).sort((a, b) => a - b);
    assert.ok(times[0] >= headersTimeoutMs - 50, `one was closed after ${times[0].toFixed(0)} ms`);
    assert.deepEqual(during.failures, []);
    assert.ok(during.served > 0);
    await eventually(() => openFds(server.child.pid as number) <= fdsBefore, {
      intervalMs: 100,
      what: "the server's file descriptors to fall back to their count before",
    });
    console.log(
      `closed after ${times[0].toFixed(0)}–${(times.at(-1) as number).toFixed(0)} ms; canary p50/p99 ` +
        `${during.p50Ms.toFixed(1)}/${during.p99Ms.toFixed(1)} ms during, ${without.p50Ms.toFixed(1)}/${without.p99Ms.toFixed(1)} ms without`,
    );
  });

  it("200 failed handshakes (bytes that are not TLS) are closed at once and leak no socket", async () => {
    const fdsBefore = openFds(server.child.pid as number);
    const garbage = Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const closedAfter = await Promise.all(
      Array.from({ length: 200 }, () => stalledHandshake(server.port, garbage, { giveUpMs: 10 * headersTimeoutMs })),
    );
    assert.ok(
      closedAfter.every((ms) => ms !== "open" && ms < headersTimeoutMs),
      JSON.stringify(closedAfter.filter((ms) => ms === "open" || ms >= headersTimeoutMs)),
    );
    await eventually(() => openFds(server.child.pid as number) <= fdsBefore, {
      intervalMs: 100,
      what: "the server's file descriptors to fall back to their count before",
    });
  });
});

describe("TLS 1.2 offers forward-secret AEAD ciphers only", () => {
  let cert: SelfSigned;
  let server: ServerProcess;
  before(async () => {
    // RSA, so that the ciphers with RSA key exchange are candidates at all.
    cert = selfSigned("rsa");
    server = await spawnServer({ TLS_CERT: cert.certPath, TLS_KEY: cert.keyPath });
  });
  after(async () => {
    await server?.close();
    cert?.remove();
  });

  for (const cipher of ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305"]) {
    it(`accepts ${cipher}`, async () => {
      assert.equal(await handshakes(server.port, cipher), true);
    });
  }
  for (const cipher of ["AES128-SHA", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384"]) {
    it(`refuses ${cipher}`, async () => {
      assert.equal(await handshakes(server.port, cipher), false);
    });
  }
});
