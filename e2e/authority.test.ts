import assert from "node:assert/strict";
import { once } from "node:events";
import http2 from "node:http2";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { createSimpleTestClient } from "../client/simple-test-client.js";
import { buildApp } from "../server/app.js";
import { loadConfig } from "../server/config.js";
import { describeTransport, transports } from "./support/matrix.js";
import { readAnswer } from "./support/raw-http.js";
import { assertStillServing } from "./support/server.js";

for (const fastPath of ["on", "off"]) {
  describe(`the :authority a client sends (FAST_PATH=${fastPath})`, () => {
    let close: () => Promise<void>;
    let url: string;
    before(async () => {
      const config = loadConfig({ HOST: "::1", PORT: "0", LOG_LEVEL: "silent", FAST_PATH: fastPath });
      const { fastify } = await buildApp(config);
      await fastify.listen({ host: config.host, port: 0 });
      url = `http://[::1]:${(fastify.server.address() as net.AddressInfo).port}`;
      close = () => fastify.close();
    });
    after(() => close());

    // Node's HTTP/2 client, under connect-node, sends an IPv6 authority unbracketed (::1:port).
    for (const transport of transports.filter((t) => t.httpVersion === "2")) {
      it(`an IPv6 server is served over ${describeTransport(transport)}`, async () => {
        const client = createSimpleTestClient({ baseUrl: url, ...transport });
        try {
          assert.equal((await client.getOne({ hello: "v6" })).result, "Hello !! v6");
          const list = [];
          for await (const m of client.getList({})) list.push(m.resultlist);
          assert.equal(list.length, 5);
        } finally {
          client.close();
        }
      });
    }

    it("an authority no URL takes (port 99999) gets HTTP 400, and the server serves on", async () => {
      const session = http2.connect(url);
      try {
        const stream = session.request({
          ":method": "POST",
          ":path": "/simpletest.SimpleTest/GetOne",
          ":authority": "example.com:99999",
          "content-type": "application/grpc",
          te: "trailers",
        });
        const answer = readAnswer(stream);
        stream.end();
        assert.equal((await answer).status, 400);
      } finally {
        session.close();
      }
      await assertStillServing(url);
    });

    it("an HTTP/1.1 Host no URL takes gets HTTP 400, and the server serves on", async () => {
      const socket = net.connect(Number(new URL(url).port), "::1");
      await once(socket, "connect");
      const body = '{"hello":"x"}';
      socket.write(
        `POST /simpletest.SimpleTest/GetOne HTTP/1.1\r\nHost: example.com:99999\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      const [answer] = (await once(socket, "data")) as [Buffer];
      socket.destroy();
      assert.match(answer.toString(), /^HTTP\/1\.1 400 /);
      await assertStillServing(url);
    });
  });
}
