import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { createSimpleTestClient } from "../client/simple-test-client.js";
import { H1Socket, requestHead } from "./support/h1-socket.js";
import { describeTransport, transports } from "./support/matrix.js";
import { envelope, h2cRequest } from "./support/raw-http.js";
import { requestOneBytes } from "./support/request-bytes.js";
import { assertStillServing, type RunningServer, startServer } from "./support/server.js";

const getOnePath = "/simpletest.SimpleTest/GetOne";
const unknownPath = "/simpletest.SimpleTest/GetNothing";
/** A field-1 string whose bytes are not UTF-8. */
const invalidUtf8 = Uint8Array.of(0x0a, 0x02, 0xc3, 0x28);
/** Field 1 announces 5 bytes, but the message ends after 1. */
const truncated = Uint8Array.of(0x0a, 0x05, 0x61);

for (const fastPath of ["on", "off"]) {
  describe(`errors a user will hit get a clear code, and the server keeps serving (FAST_PATH=${fastPath})`, () => {
    let server: RunningServer;
    before(async () => {
      server = await startServer({ FAST_PATH: fastPath });
    });
    after(() => server.close());

    const post = (path: string, contentType: string, body: string | Uint8Array<ArrayBuffer>) =>
      fetch(server.url + path, { method: "POST", headers: { "content-type": contentType }, body });

    afterEach(async () => {
      await assertStillServing(server.url);
    });

    describe("an unknown method is unimplemented", () => {
      it("Connect: HTTP 404 with code unimplemented", async () => {
        const res = await post(unknownPath, "application/json", "{}");
        assert.equal(res.status, 404);
        assert.equal((await res.json()).code, "unimplemented");
      });

      it("Connect GET: HTTP 404 with code unimplemented", async () => {
        const res = await fetch(`${server.url}${unknownPath}?encoding=json&message=%7B%7D`);
        assert.equal(res.status, 404);
        assert.equal((await res.json()).code, "unimplemented");
      });

      it("gRPC: grpc-status 12", async () => {
        const res = await h2cRequest(server.url, unknownPath, {
          "content-type": "application/grpc",
          te: "trailers",
        });
        assert.equal(res.status, 200);
        assert.equal(res.headers["grpc-status"] ?? res.trailers["grpc-status"], "12");
      });

      it("gRPC-Web: grpc-status 12", async () => {
        const res = await post(unknownPath, "application/grpc-web+proto", envelope(new Uint8Array(0)));
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("grpc-status"), "12");
      });

      it("gRPC-Web over HTTP/1.1, its chunked body sent after its head: grpc-status 12 once the body is in, the connection kept", async () => {
        // connect-node sends every HTTP/1.1 body chunked, and under load its head and body go in separate
        // writes. An answer before the body's end closed the connection, and the client's last write
        // failed with EPIPE: unavailable, not unimplemented.
        const socket = new H1Socket(server.port);
        try {
          await socket.ready;
          socket.write(
            requestHead(unknownPath, { "content-type": "application/grpc-web+proto", "transfer-encoding": "chunked" }),
          );
          await assert.rejects(socket.nextResponse(300), /no answer within/);
          const body = Buffer.from(envelope(new Uint8Array(0)));
          socket.write(
            Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from("\r\n0\r\n\r\n")]),
          );
          const answer = await socket.nextResponse(5_000);
          assert.equal(answer.headers["grpc-status"], "12");
          assert.equal(answer.headers.connection, "keep-alive");
          assert.equal(socket.closed, false);
        } finally {
          socket.destroy();
        }
      });

      it("a path that is no RPC at all is a plain 404", async () => {
        const res = await fetch(`${server.url}/no/such/page`);
        assert.equal(res.status, 404);
      });
    });

    describe("bad JSON is invalid_argument, HTTP 400", () => {
      for (const [what, body] of [
        ["invalid JSON", '{"hello":'],
        ["a number for a string", '{"hello":1}'],
        ["an array for a message", "[]"],
        ["an unknown field name of the wrong type", '{"hello":"x","hello":{}}'],
      ]) {
        it(what, async () => {
          const res = await post(getOnePath, "application/json", body);
          assert.equal(res.status, 400);
          assert.equal((await res.json()).code, "invalid_argument");
        });
      }
    });

    it("an unsupported content type is HTTP 415", async () => {
      const res = await post(getOnePath, "text/plain", '{"hello":"x"}');
      assert.equal(res.status, 415);
    });

    it("a wrong HTTP method is HTTP 405", async () => {
      const res = await fetch(server.url + getOnePath, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(res.status, 405);
    });

    describe("undecodable protobuf is refused without leaking internals", () => {
      // connect-es calls a decoding failure internal, as grpc-go does; this server
      // says invalid_argument, as connect-go does (server/observe/undecodable-requests.ts).
      for (const [what, body] of [
        ["a truncated message", truncated],
        ["invalid UTF-8 in a string field", invalidUtf8],
      ] as const) {
        it(`Connect: ${what}`, async () => {
          const res = await post(getOnePath, "application/proto", body);
          const error = await res.json();
          assert.equal(res.status, 400);
          assert.equal(error.code, "invalid_argument");
          assert.doesNotMatch(error.message, /\/work\/|node_modules|at .*\(/);
        });

        it(`gRPC: ${what}`, async () => {
          const res = await h2cRequest(
            server.url,
            getOnePath,
            { "content-type": "application/grpc", te: "trailers" },
            envelope(body),
          );
          assert.equal(res.trailers["grpc-status"] ?? res.headers["grpc-status"], String(Code.InvalidArgument));
        });
      }

      it("gRPC: an envelope whose length runs past the end of the body", async () => {
        const lying = envelope(requestOneBytes("a")).slice(0, 6);
        const res = await h2cRequest(
          server.url,
          getOnePath,
          { "content-type": "application/grpc", te: "trailers" },
          lying,
        );
        assert.equal(res.trailers["grpc-status"] ?? res.headers["grpc-status"], String(Code.InvalidArgument));
      });
    });

    describe("a message over the 4 MiB limit is resource_exhausted", () => {
      const limit = 4 * 1024 * 1024;
      for (const transport of transports) {
        it(`request, ${describeTransport(transport)}`, async () => {
          const client = createSimpleTestClient({ baseUrl: server.url, ...transport });
          try {
            await assert.rejects(
              client.getOne({ hello: "x".repeat(limit + 1) }),
              (e) => ConnectError.from(e).code === Code.ResourceExhausted,
            );
          } finally {
            client.close();
          }
        });
      }

      it("response: an answer that would cross the limit is not sent", async () => {
        const client = createSimpleTestClient({ baseUrl: server.url, protocol: "grpc" });
        try {
          // The request fits; "Hello !! " pushes the answer past the limit.
          await assert.rejects(
            client.getOne({ hello: "x".repeat(limit - 8) }),
            (e) => ConnectError.from(e).code === Code.ResourceExhausted,
          );
        } finally {
          client.close();
        }
      });
    });
  });
}
