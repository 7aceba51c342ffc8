import assert from "node:assert/strict";
import net from "node:net";
import { after, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { createWritableIterable } from "@connectrpc/connect/protocol";
import { createSimpleTestClient, type SimpleTestClient } from "../client/simple-test-client.js";
import { eventually } from "../testkit/eventually.js";
import { type ServerProcess, spawnServer } from "./support/server.js";

/** A bidi PostAndPost in flight: say a name, hear the answer; or end it. */
function openConversation(client: SimpleTestClient) {
  const requests = createWritableIterable<{ namelist: string }>();
  const responses = client.postAndPost(requests)[Symbol.asyncIterator]();
  return {
    async say(name: string): Promise<string | undefined> {
      await requests.write({ namelist: name });
      const answer = await responses.next();
      return answer.done ? undefined : answer.value.resultlist;
    },
    /** Ends the requests and resolves when the server ends the call: "ok" or the error's code. */
    async end(): Promise<string> {
      requests.close();
      return finished();
    },
    finished,
  };
  async function finished(): Promise<string> {
    try {
      while (!(await responses.next()).done) {
        // The server answers requests only; none are left.
      }
      return "ok";
    } catch (e) {
      return Code[ConnectError.from(e).code];
    }
  }
}

/** Resolves with the outcome of connecting anew: "refused" once the port is closed. */
function connectAnew(port: number): Promise<"accepted" | "refused"> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve("accepted");
    });
    socket.once("error", () => resolve("refused"));
  });
}

function refusedWithin(port: number, ms: number): Promise<boolean> {
  return eventually(async () => (await connectAnew(port)) === "refused", { timeoutMs: ms, intervalMs: 20 }).then(
    () => true,
    () => false,
  );
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  describe(`on ${signal}, a bidi stream in flight finishes within the grace period`, () => {
    let server: ServerProcess;
    let client: SimpleTestClient;
    after(async () => {
      client?.close();
      await server?.close();
    });

    it("keeps answering during the grace period, refuses new connections, ends OK, and exits 0", async () => {
      server = await spawnServer({ SHUTDOWN_GRACE_MS: "20000" });
      client = createSimpleTestClient({ baseUrl: server.url, protocol: "grpc" });
      const conversation = openConversation(client);
      assert.equal(await conversation.say("before"), "Hello !! before");

      const signalledAt = performance.now();
      server.child.kill(signal);
      assert.ok(await refusedWithin(server.port, 5_000), "new connections are still accepted");
      assert.equal(await conversation.say("during"), "Hello !! during");
      assert.equal(await conversation.say("still"), "Hello !! still");
      assert.equal(await conversation.end(), "ok");

      assert.equal(await server.exited, 0);
      const exitMs = performance.now() - signalledAt;
      assert.ok(exitMs < 20_000, `waited out the grace period: exited after ${exitMs.toFixed(0)} ms`);
    });
  });
}

describe("on SIGTERM, a stream still open when the grace period ends", () => {
  const graceMs = 800;
  let server: ServerProcess;
  let client: SimpleTestClient;
  after(async () => {
    client?.close();
    await server?.close();
  });

  it("is cancelled with unavailable, no sooner, and the server exits 0", async () => {
    server = await spawnServer({ SHUTDOWN_GRACE_MS: String(graceMs) });
    client = createSimpleTestClient({ baseUrl: server.url, protocol: "grpc" });
    const conversation = openConversation(client);
    assert.equal(await conversation.say("before"), "Hello !! before");

    const signalledAt = performance.now();
    server.child.kill("SIGTERM");
    assert.equal(await conversation.say("during"), "Hello !! during");
    assert.equal(await conversation.finished(), "Unavailable");
    const cancelledAfter = performance.now() - signalledAt;
    assert.ok(cancelledAfter >= graceMs, `cancelled ${cancelledAfter.toFixed(0)} ms after the signal`);

    assert.equal(await server.exited, 0);
  });
});
