import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type CallOptions, Code, ConnectError } from "@connectrpc/connect";
import { createAsyncIterable, createWritableIterable } from "@connectrpc/connect/protocol";
import { createSimpleTestClient, type SimpleTestClient } from "../../client/simple-test-client.js";
import { describeTransport, transports } from "./matrix.js";
import type { RunningServer } from "./server.js";

export const getListInterval = 100;

/** PostAndPost sends one request, waits for its answer, then sends the next: nothing may be held back. */
export async function assertPingPong(client: SimpleTestClient, options?: CallOptions): Promise<void> {
  const requests = createWritableIterable<{ namelist: string }>();
  const responses = client.postAndPost(requests, options)[Symbol.asyncIterator]();
  for (const name of ["alice", "bob", "carol", ""]) {
    await requests.write({ namelist: name });
    const answer = await responses.next();
    assert.equal(answer.done, false);
    assert.equal(answer.value?.resultlist, `Hello !! ${name}`);
  }
  requests.close();
  assert.equal((await responses.next()).done, true);
}

/**
 * The SimpleTest contract, asserted over every transport against a server that
 * `start` provides (it must pause `getListInterval` ms between GetList messages).
 */
export function describeContract(start: () => Promise<RunningServer & { ca?: Buffer }>): void {
  let server: RunningServer & { ca?: Buffer };
  before(async () => {
    server = await start();
  });
  after(() => server?.close());

  for (const transport of transports) {
    describe(describeTransport(transport), () => {
      let client: SimpleTestClient;
      before(() => {
        client = createSimpleTestClient({ baseUrl: server.url, ca: server.ca, ...transport });
      });
      after(() => client?.close());

      it("GetOne answers Hello !! + hello", async () => {
        assert.deepEqual((await client.getOne({ hello: "world" })).result, "Hello !! world");
        assert.equal((await client.getOne({ hello: "" })).result, "Hello !! ");
        assert.equal((await client.getOne({ hello: "héllo ✓ 世界" })).result, "Hello !! héllo ✓ 世界");
      });

      it("GetList streams test0..test4 as separate messages, each as it is produced", async () => {
        const arrivals: { text: string; at: number }[] = [];
        for await (const message of client.getList({ hello: "x" })) {
          arrivals.push({ text: message.resultlist, at: performance.now() });
        }
        assert.deepEqual(
          arrivals.map((a) => a.text),
          ["test0", "test1", "test2", "test3", "test4"],
        );
        // The server pauses between messages; a stream buffered to its end would
        // deliver all five together.
        const spread = arrivals[4].at - arrivals[0].at;
        assert.ok(spread >= 3.5 * getListInterval, `five messages arrived within ${spread.toFixed(0)} ms`);
      });

      it("PostList reads every request, then answers PostList OK", async () => {
        const names = Array.from({ length: 50 }, (_, i) => ({ namelist: `n${i}` }));
        assert.equal((await client.postList(createAsyncIterable(names))).result, "PostList OK");
      });

      it("PostList answers PostList OK for an empty stream", async () => {
        assert.equal((await client.postList(createAsyncIterable([]))).result, "PostList OK");
      });

      if (transport.httpVersion === "2") {
        it("PostAndPost answers each request before the next is sent (ping-pong)", { timeout: 10_000 }, () =>
          assertPingPong(client),
        );
      } else {
        it("PostAndPost is refused with a clear error: bidi needs HTTP/2", async () => {
          const calling = async () => {
            for await (const _ of client.postAndPost(createAsyncIterable([{ namelist: "a" }]))) {
              // drain
            }
          };
          await assert.rejects(calling, (e) => ConnectError.from(e).code === Code.Unimplemented);
        });
      }
    });
  }
}
