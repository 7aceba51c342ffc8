import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createHealthClient } from "../client/health-client.js";
import { openCall } from "./support/open-call.js";
import {
  bodyOf,
  contentTypeOf,
  goodMessage,
  type Method,
  methods,
  outcomeOf,
  pathOf,
  type RawProtocol,
} from "./support/raw-rpc.js";
import { type RunningServer, startServer } from "./support/server.js";

/** Every protocol over every HTTP version it runs on; bidi streaming needs HTTP/2. */
const routes = [
  { protocol: "grpc", httpVersion: "2" },
  { protocol: "grpc-web", httpVersion: "2" },
  { protocol: "grpc-web", httpVersion: "1.1" },
  { protocol: "connect", httpVersion: "2" },
  { protocol: "connect", httpVersion: "1.1" },
] as const satisfies readonly { protocol: RawProtocol; httpVersion: "1.1" | "2" }[];

const methodsOver = (httpVersion: "1.1" | "2") =>
  methods.filter((m) => httpVersion === "2" || m.kind !== "bidi_streaming");

/** The header that carries a deadline in each protocol, in its own syntax. */
function deadlineHeader(protocol: RawProtocol, ms: number): Record<string, string> {
  return protocol === "connect" ? { "connect-timeout-ms": String(ms) } : { "grpc-timeout": `${ms}m` };
}

function headersFor(protocol: RawProtocol, method: Method, extra: Record<string, string> = {}) {
  return { "content-type": contentTypeOf(protocol, "proto", method), te: "trailers", ...extra };
}

/** Timers round to the millisecond: an answer may come a hair before the nominal deadline. */
const timerSlackMs = 2;

describe("deadlines: the server ends a call when its deadline passes, though the client does not", () => {
  const deadlineMs = 500;
  let server: RunningServer;
  before(async () => {
    server = await startServer({ GETLIST_INTERVAL_MS: "300" });
  });
  after(() => server.close());

  describe("a client that sends its headers and nothing else gets deadline_exceeded on time", {
    concurrency: true,
  }, () => {
    for (const { protocol, httpVersion } of routes) {
      for (const method of methodsOver(httpVersion)) {
        it(`${protocol} HTTP/${httpVersion} ${method.name}, ${deadlineMs} ms`, async () => {
          const start = performance.now();
          const answer = await openCall(server.url, httpVersion, {
            path: pathOf(method),
            headers: headersFor(protocol, method, deadlineHeader(protocol, deadlineMs)),
          });
          const elapsed = performance.now() - start;
          assert.equal(outcomeOf(protocol, method, answer).code, "deadline_exceeded");
          assert.ok(elapsed >= deadlineMs - timerSlackMs, `answered after ${elapsed.toFixed(0)} ms`);
          assert.ok(elapsed < 5_000, `answered after ${elapsed.toFixed(0)} ms`);
        });
      }
    }
  });

  describe("a GetList that would outlive its deadline is cut mid-stream", { concurrency: true }, () => {
    const getList = methods.find((m) => m.name === "GetList") as Method;
    for (const { protocol, httpVersion } of routes) {
      it(`${protocol} HTTP/${httpVersion}: the messages so far, then deadline_exceeded`, async () => {
        const answer = await openCall(server.url, httpVersion, {
          path: pathOf(getList),
          headers: headersFor(protocol, getList, deadlineHeader(protocol, deadlineMs)),
          body: bodyOf(protocol, getList, [goodMessage("proto", getList)]),
          end: true,
        });
        const outcome = outcomeOf(protocol, getList, answer);
        assert.equal(outcome.code, "deadline_exceeded");
        // Messages leave at 0, 300, 600 … ms: two fit in 500 ms, five would need 1200.
        assert.equal(outcome.messages, 2);
      });
    }
  });
});

describe("the server's maximum deadline (MAX_TIMEOUT_MS)", { concurrency: true }, () => {
  // Well above the 200 ms a client asks for below: a busy machine's late answer to that call is
  // still told apart from the server's maximum.
  const maxMs = 1_500;
  const postList = methods.find((m) => m.name === "PostList") as Method;
  let server: RunningServer;
  before(async () => {
    server = await startServer({ MAX_TIMEOUT_MS: String(maxMs) });
  });
  after(() => server.close());

  const stalledPostList = async (protocol: RawProtocol, extra: Record<string, string>) => {
    const start = performance.now();
    const answer = await openCall(server.url, "2", {
      path: pathOf(postList),
      headers: headersFor(protocol, postList, extra),
    });
    return { code: outcomeOf(protocol, postList, answer).code, elapsed: performance.now() - start };
  };

  for (const protocol of ["grpc", "grpc-web", "connect"] as const) {
    it(`${protocol}: a call with no deadline ends with deadline_exceeded at the maximum`, async () => {
      const { code, elapsed } = await stalledPostList(protocol, {});
      assert.equal(code, "deadline_exceeded");
      assert.ok(elapsed >= maxMs - timerSlackMs && elapsed < 5_000, `answered after ${elapsed.toFixed(0)} ms`);
    });

    it(`${protocol}: a call asking for a longer deadline gets the maximum, not a refusal`, async () => {
      const { code, elapsed } = await stalledPostList(protocol, deadlineHeader(protocol, 60_000));
      assert.equal(code, "deadline_exceeded");
      assert.ok(elapsed >= maxMs - timerSlackMs && elapsed < 5_000, `answered after ${elapsed.toFixed(0)} ms`);
    });
  }

  it("a deadline of days gets the maximum, not the 1 ms Node gives an oversized timer", async () => {
    const { code, elapsed } = await stalledPostList("connect", deadlineHeader("connect", 10 * 24 * 3_600_000));
    assert.equal(code, "deadline_exceeded");
    assert.ok(elapsed >= maxMs - timerSlackMs, `answered after ${elapsed.toFixed(0)} ms`);
  });

  it("a deadline longer than any timer holds (gRPC's largest, 99999999H) gets the maximum too", async () => {
    const { code, elapsed } = await stalledPostList("grpc", { "grpc-timeout": "99999999H" });
    assert.equal(code, "deadline_exceeded");
    assert.ok(elapsed >= maxMs - timerSlackMs && elapsed < 5_000, `answered after ${elapsed.toFixed(0)} ms`);
  });

  it("a shorter deadline is the client's own", async () => {
    const { code, elapsed } = await stalledPostList("grpc", deadlineHeader("grpc", 200));
    assert.equal(code, "deadline_exceeded");
    assert.ok(elapsed >= 200 - timerSlackMs && elapsed < maxMs, `answered after ${elapsed.toFixed(0)} ms`);
  });

  it("grpc.health.v1.Health/Watch with no deadline stays open past the maximum", async () => {
    const client = createHealthClient({ baseUrl: server.url, protocol: "grpc" });
    const abort = new AbortController();
    const statuses: number[] = [];
    const watching = (async () => {
      for await (const { status } of client.watch({ service: "" }, { signal: abort.signal })) statuses.push(status);
      return "ended";
    })().catch((e: unknown) => (abort.signal.aborted ? "cancelled by the test" : e));
    try {
      assert.equal(await Promise.race([watching, sleep(2 * maxMs).then(() => "still open")]), "still open");
      assert.equal(statuses.length, 1);
    } finally {
      abort.abort();
      await watching;
      client.close();
    }
  });
});
