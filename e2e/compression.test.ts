import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createSimpleTestClient } from "../client/simple-test-client.js";
import { envelope, h2cRequest } from "./support/raw-http.js";
import { requestOneBytes } from "./support/request-bytes.js";
import { type RunningServer, startServer } from "./support/server.js";

/** Large enough that the server compresses the answer (connect-es skips messages under 1 KiB). */
const hello = "compress me ".repeat(400);
const encodedRequest = requestOneBytes(hello);

describe("gzip and br are negotiated both ways", () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  for (const protocol of ["connect", "grpc", "grpc-web"] as const) {
    for (const sendCompression of ["gzip", "br"] as const) {
      it(`${protocol} accepts ${sendCompression}-compressed requests`, async () => {
        const client = createSimpleTestClient({ baseUrl: server.url, protocol, sendCompression });
        try {
          assert.equal((await client.getOne({ hello })).result, `Hello !! ${hello}`);
        } finally {
          client.close();
        }
      });
    }
  }

  for (const encoding of ["gzip", "br"]) {
    it(`Connect answers with Content-Encoding ${encoding} when the client accepts it`, async () => {
      const res = await fetch(`${server.url}/simpletest.SimpleTest/GetOne`, {
        method: "POST",
        headers: { "content-type": "application/json", "accept-encoding": encoding },
        body: JSON.stringify({ hello }),
      });
      assert.equal(res.headers.get("content-encoding"), encoding);
      assert.equal((await res.json()).result, `Hello !! ${hello}`);
    });

    it(`gRPC answers with grpc-encoding ${encoding} when the client accepts it`, async () => {
      const res = await h2cRequest(
        server.url,
        "/simpletest.SimpleTest/GetOne",
        { "content-type": "application/grpc", te: "trailers", "grpc-accept-encoding": encoding },
        envelope(encodedRequest),
      );
      assert.equal(res.headers["grpc-encoding"], encoding);
      assert.equal(res.body[0], 1, "the message's compressed flag is set");
      assert.equal(res.trailers["grpc-status"], "0");
    });
  }

  it("a compression the server does not know is refused with unimplemented", async () => {
    const res = await h2cRequest(
      server.url,
      "/simpletest.SimpleTest/GetOne",
      { "content-type": "application/grpc", te: "trailers", "grpc-encoding": "snappy" },
      envelope(encodedRequest, 1),
    );
    assert.equal(res.trailers["grpc-status"] ?? res.headers["grpc-status"], "12");
  });
});
