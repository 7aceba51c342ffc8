import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { createWritableIterable } from "@connectrpc/connect/protocol";
import { createSimpleTestClient, type SimpleTestClient } from "../client/simple-test-client.js";
import { sample, scrape, scrapeUntil, total } from "./support/prometheus.js";
import { envelope } from "./support/raw-http.js";
import { requestListBytes } from "./support/request-bytes.js";
import { type RunningServer, startServer } from "./support/server.js";

/** Every protocol over every HTTP version it runs on, with its `protocol` label. */
const routes = [
  { protocol: "grpc", httpVersion: "2", label: "grpc" },
  { protocol: "grpc-web", httpVersion: "2", label: "grpc_web" },
  { protocol: "grpc-web", httpVersion: "1.1", label: "grpc_web" },
  { protocol: "connect", httpVersion: "2", label: "connect" },
  { protocol: "connect", httpVersion: "1.1", label: "connect" },
] as const;

/** Starts a stream the server keeps running; the promise settles when the call ends. */
const streams = {
  GetList: async (client: SimpleTestClient, signal: AbortSignal) => {
    for await (const _ of client.getList({ hello: "x" }, { signal })) {
      // The server pauses between messages: the stream is in flight until the last one.
    }
  },
  PostList: async (client: SimpleTestClient, signal: AbortSignal) => {
    const requests = createWritableIterable<{ namelist: string }>();
    void requests.write({ namelist: "a" });
    await client.postList(requests, { signal });
  },
  PostAndPost: async (client: SimpleTestClient, signal: AbortSignal) => {
    const requests = createWritableIterable<{ namelist: string }>();
    void requests.write({ namelist: "a" });
    for await (const _ of client.postAndPost(requests, { signal })) {
      // Answered; the request stream stays open.
    }
  },
};

describe("cancellation: a client that aborts a stream mid-way releases the server's work at once", () => {
  let server: RunningServer;
  before(async () => {
    // GetList pauses longer than any test waits: a handler still running would stay in flight.
    server = await startServer({ GETLIST_INTERVAL_MS: "30000" });
  });
  after(() => server.close());

  for (const { protocol, httpVersion, label } of routes) {
    for (const method of ["GetList", "PostList", "PostAndPost"] as const) {
      if (method === "PostAndPost" && httpVersion === "1.1") continue;
      it(`${method} over ${protocol} HTTP/${httpVersion}: in flight, then back to 0 and counted once`, async () => {
        const series = { grpc_method: method, protocol: label };
        const client = createSimpleTestClient({ baseUrl: server.url, protocol, httpVersion });
        const abort = new AbortController();
        const canceled = { ...series, grpc_code: "Canceled" };
        const metricsBefore = await scrape(server.url);
        const handledBefore = total(metricsBefore, "grpc_server_handled_total", series);
        const canceledBefore = total(metricsBefore, "grpc_server_handled_total", canceled);
        const call = streams[method](client, abort.signal).catch(() => undefined);
        try {
          const during = await scrapeUntil(server.url, "grpc_server_in_flight", series, 1);
          assert.equal(sample(during, "grpc_server_in_flight", series), 1);
          abort.abort();
          const afterwards = await scrapeUntil(server.url, "grpc_server_in_flight", series, 0);
          assert.equal(sample(afterwards, "grpc_server_in_flight", series), 0);
          assert.equal(total(afterwards, "grpc_server_handled_total", series), handledBefore + 1);
          if (method === "GetList") {
            // The server was mid-stream: nothing but the client's cancel could end it.
            assert.equal(total(afterwards, "grpc_server_handled_total", canceled), canceledBefore + 1);
          }
        } finally {
          abort.abort();
          await call;
          client.close();
        }
      });
    }
  }

  // Node's own client half-closes a stream before it resets it, so the server
  // reads a complete upload; gRPC clients such as grpc-go reset it outright.
  for (const method of ["PostList", "PostAndPost"] as const) {
    it(`a ${method} reset before its end is Canceled, not taken for a complete upload`, async () => {
      const series = { grpc_method: method, protocol: "grpc" };
      const canceledBefore = total(await scrape(server.url), "grpc_server_handled_total", {
        ...series,
        grpc_code: "Canceled",
      });
      const session = http2.connect(server.url);
      try {
        const stream = session.request({
          ":method": "POST",
          ":path": `/simpletest.SimpleTest/${method}`,
          "content-type": "application/grpc",
          te: "trailers",
        });
        stream.on("error", () => {});
        stream.write(envelope(requestListBytes("a")));
        await scrapeUntil(server.url, "grpc_server_in_flight", series, 1);
        stream.destroy();
        const afterwards = await scrapeUntil(server.url, "grpc_server_in_flight", series, 0);
        assert.equal(sample(afterwards, "grpc_server_in_flight", series), 0);
        assert.equal(
          total(afterwards, "grpc_server_handled_total", { ...series, grpc_code: "Canceled" }),
          canceledBefore + 1,
        );
      } finally {
        session.destroy();
      }
    });
  }
});
