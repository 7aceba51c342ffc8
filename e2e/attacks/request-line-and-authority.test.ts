import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { type Canary, startCanary } from "../support/canary.js";
import { readAnswer } from "../support/raw-http.js";
import { type RunningServer, startServer } from "../support/server.js";

/** Writes `request` on a new connection and resolves with all the server sent until it closed or went quiet. */
function rawHttp1(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(request));
    let received = "";
    const quiet = setTimeout(() => socket.destroy(), 2_000);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(quiet);
      resolve(received);
    });
  });
}

const connectGetOne = (version: string, host: string) => {
  const body = '{"hello":"x"}';
  return (
    `POST /simpletest.SimpleTest/GetOne HTTP/${version}\r\nHost: ${host}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`
  );
};

/** The answer's status, or how nghttp2 reset the stream (it refuses some authorities itself). */
async function h2Status(url: string, path: string, authority: string): Promise<number | string> {
  const session = http2.connect(url);
  session.on("error", () => {});
  try {
    const stream = session.request(
      path === "/healthz"
        ? { ":path": path, ":authority": authority }
        : {
            ":method": "POST",
            ":path": path,
            ":authority": authority,
            "content-type": "application/json",
          },
    );
    const answer = readAnswer(stream);
    stream.end(path === "/healthz" ? undefined : '{"hello":"x"}');
    return await answer.then(
      ({ status }) => status,
      () => `reset ${stream.rstCode}`,
    );
  } finally {
    session.close();
  }
}

const badAuthorities = ["user@evil:1", "a/b?c", "evil#frag", "a\\b", "user:pass@127.0.0.1"];
const goodAuthorities = ["localhost:8080", "example.com", "127.0.0.1:1", "[::1]:8080", "xn--bcher-kva.example"];

for (const fastPath of ["on", "off"]) {
  describe(`the request line and authority a client sends (FAST_PATH=${fastPath})`, { concurrency: true }, () => {
    let server: RunningServer;
    let canary: Canary;
    before(async () => {
      server = await startServer({ FAST_PATH: fastPath });
      canary = startCanary(server.url);
    });
    after(async () => {
      const report = await canary.stop();
      await server.close();
      assert.deepEqual(report.failures, []);
    });

    it("an HTTP/2.0 request line over HTTP/1.1 is refused with 505, and the connection closed", async () => {
      const answer = await rawHttp1(server.port, connectGetOne("2.0", "localhost"));
      assert.match(answer, /^HTTP\/1\.1 505 /);
      assert.match(answer, /\r\nConnection: close\r\n/i);
      assert.match(await rawHttp1(server.port, "GET /healthz HTTP/2.0\r\nHost: localhost\r\n\r\n"), /^HTTP\/1\.1 505 /);
    });

    it("HTTP/1.0 and HTTP/1.1 request lines are served", async () => {
      assert.match(await rawHttp1(server.port, connectGetOne("1.1", "localhost")), /^HTTP\/1\.1 200 /);
      assert.match(await rawHttp1(server.port, connectGetOne("1.0", "localhost")), /^HTTP\/1\.1 200 /);
    });

    for (const authority of badAuthorities) {
      it(`Host: ${authority} gets 400 over HTTP/1.1`, async () => {
        assert.match(await rawHttp1(server.port, connectGetOne("1.1", authority)), /^HTTP\/1\.1 400 /);
      });
      for (const path of ["/simpletest.SimpleTest/GetOne", "/healthz"]) {
        it(`:authority ${authority} gets 400 over HTTP/2, or nghttp2's PROTOCOL_ERROR (${path})`, async () => {
          const refused = [400, `reset ${http2.constants.NGHTTP2_PROTOCOL_ERROR}`];
          assert.ok(refused.includes(await h2Status(server.url, path, authority)));
        });
      }
    }

    for (const authority of goodAuthorities) {
      it(`Host and :authority ${authority} are served`, async () => {
        assert.match(await rawHttp1(server.port, connectGetOne("1.1", authority)), /^HTTP\/1\.1 200 /);
        assert.equal(await h2Status(server.url, "/simpletest.SimpleTest/GetOne", authority), 200);
      });
    }
  });
}
