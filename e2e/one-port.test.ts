import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { envelope, h2cRequest } from "./support/raw-http.js";
import { requestOneBytes } from "./support/request-bytes.js";
import { type RunningServer, startServer } from "./support/server.js";

/**
 * A loopback proxy that passes the client's first `slowBytes` bytes to the
 * server one packet per byte, as a slow or fragmenting network would.
 */
async function fragmentingProxy(target: number, slowBytes: number): Promise<{ url: string; close(): void }> {
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(target, "127.0.0.1");
    upstream.setNoDelay(true);
    sockets.add(client).add(upstream);
    let sent = 0;
    let queue = Promise.resolve();
    client.on("data", (chunk: Buffer) => {
      queue = queue.then(async () => {
        for (let i = 0; i < chunk.length; ) {
          const step = sent < slowBytes ? 1 : chunk.length - i;
          upstream.write(chunk.subarray(i, i + step));
          i += step;
          sent += step;
          if (sent <= slowBytes) await sleep(2);
        }
      });
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  proxy.listen(0, "127.0.0.1");
  await once(proxy, "listening");
  const { port } = proxy.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      proxy.close();
    },
  };
}

describe("the one port tells HTTP/2 from HTTP/1.1 however the first bytes arrive", () => {
  let server: RunningServer;
  let proxy: Awaited<ReturnType<typeof fragmentingProxy>>;
  before(async () => {
    server = await startServer();
    // The HTTP/2 preface is 24 bytes: fragment past it, into the first frame.
    proxy = await fragmentingProxy(server.port, 40);
  });
  after(async () => {
    proxy.close();
    await server.close();
  });

  it("serves gRPC over h2c when the connection preface comes a byte at a time", async () => {
    const res = await h2cRequest(
      proxy.url,
      "/simpletest.SimpleTest/GetOne",
      { "content-type": "application/grpc", te: "trailers" },
      envelope(requestOneBytes("split")),
    );
    assert.equal(res.trailers["grpc-status"], "0");
    assert.equal(Buffer.from(res.body.subarray(7)).toString(), "Hello !! split");
  });

  it("serves HTTP/1.1 when the request line comes a byte at a time", async () => {
    const res = await fetch(`${proxy.url}/simpletest.SimpleTest/GetOne`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"hello":"split"}',
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { result: "Hello !! split" });
  });

  it("serves a request line that starts like the preface but is HTTP/1.1", async () => {
    const socket = net.connect(server.port, "127.0.0.1");
    await once(socket, "connect");
    socket.write("PRI /simpletest.SimpleTest/GetOne HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    const [answer] = (await once(socket, "data")) as [Buffer];
    socket.destroy();
    // Not an RPC method Node's HTTP/1.1 parser accepts: a clean HTTP error, not a hang or a reset.
    assert.match(answer.toString(), /^HTTP\/1\.1 (400|405|404)/);
  });
});
