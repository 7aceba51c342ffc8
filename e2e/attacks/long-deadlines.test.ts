import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { type Canary, type CanaryReport, startCanary } from "../support/canary.js";
import { openCall } from "../support/open-call.js";
import {
  bodyOf,
  contentTypeOf,
  goodMessage,
  type Method,
  methods,
  outcomeOf,
  pathOf,
  type RawProtocol,
} from "../support/raw-rpc.js";
import { type ServerProcess, spawnServer } from "../support/server.js";

const maxMs = 800;
/** Timers round to the millisecond: an answer may come a hair before the nominal deadline. */
const timerSlackMs = 2;

/** Deadlines of 2^31 ms or more, which no Node timer holds, in each protocol's own syntax. */
const overlong: Record<RawProtocol, readonly string[]> = {
  grpc: ["99999999H", "2592000S", "2147484S"],
  "grpc-web": ["99999999H", "2592000S"],
  connect: ["3000000000", "9999999999"],
};
const headerOf = (protocol: RawProtocol) => (protocol === "connect" ? "connect-timeout-ms" : "grpc-timeout");

const routes = [
  { protocol: "grpc", httpVersion: "2" },
  { protocol: "grpc-web", httpVersion: "2" },
  { protocol: "grpc-web", httpVersion: "1.1" },
  { protocol: "connect", httpVersion: "2" },
  { protocol: "connect", httpVersion: "1.1" },
] as const;

const getOne = methods.find((m) => m.name === "GetOne") as Method;
const postList = methods.find((m) => m.name === "PostList") as Method;

/** A grpcio client (Debian's python3-grpcio) calling GetOne with `timeout` seconds; prints the answer's bytes. */
const grpcioCall = `
import sys, grpc
channel = grpc.insecure_channel(sys.argv[1])
call = channel.unary_unary("/simpletest.SimpleTest/GetOne")
try:
    print(call(b"\\x0a\\x01x", timeout=float(sys.argv[2])).hex())
except grpc.RpcError as e:
    print(e.code().name, e.details())
`;

function grpcio(address: string, timeoutS: number): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("/usr/bin/python3", ["-c", grpcioCall, address, String(timeoutS)], (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout.trim()),
    ),
  );
}

for (const fastPath of ["on", "off"]) {
  describe(`a deadline of 2^31 ms or more is capped at MAX_TIMEOUT_MS, never refused (FAST_PATH=${fastPath})`, () => {
    let server: ServerProcess;
    let canary: Canary;
    before(async () => {
      server = await spawnServer({ FAST_PATH: fastPath, MAX_TIMEOUT_MS: String(maxMs) });
      canary = startCanary(server.url);
    });
    let report: CanaryReport | undefined;
    after(async () => {
      report ??= await canary.stop();
      await server.close();
    });

    describe("every protocol, every HTTP version", { concurrency: true }, () => {
      for (const { protocol, httpVersion } of routes) {
        for (const value of overlong[protocol]) {
          const headers = { "content-type": contentTypeOf(protocol, "proto", getOne), te: "trailers" };
          const deadline = { [headerOf(protocol)]: value };

          it(`${protocol} HTTP/${httpVersion}, ${headerOf(protocol)}: ${value}: a quick call is served`, async () => {
            const answer = await openCall(server.url, httpVersion, {
              path: pathOf(getOne),
              headers: { ...headers, ...deadline },
              body: bodyOf(protocol, getOne, [goodMessage("proto", getOne)]),
              end: true,
            });
            assert.equal(outcomeOf(protocol, getOne, answer).code, "ok");
          });

          it(`${protocol} HTTP/${httpVersion}, ${headerOf(protocol)}: ${value}: a stalled call ends at the maximum`, async () => {
            const start = performance.now();
            const answer = await openCall(server.url, httpVersion, {
              path: pathOf(postList),
              headers: { ...headers, "content-type": contentTypeOf(protocol, "proto", postList), ...deadline },
            });
            const elapsed = performance.now() - start;
            assert.equal(outcomeOf(protocol, postList, answer).code, "deadline_exceeded");
            assert.ok(elapsed >= maxMs - timerSlackMs && elapsed < 5_000, `answered after ${elapsed.toFixed(0)} ms`);
          });
        }
      }

      it("grpcio with timeout=30 days is served", async () => {
        assert.equal(await grpcio(`127.0.0.1:${server.port}`, 30 * 86_400), "0a0a48656c6c6f2021212078");
      });
    });

    it("the process writes nothing but its JSON log lines (no TimeoutOverflowWarning), and the canary is served", async () => {
      // After every call above: a suite without concurrency runs its tests in order.
      report = await canary.stop();
      assert.deepEqual(report.failures, []);
      console.log(`FAST_PATH=${fastPath}: canary p50/p99 ${report.p50Ms.toFixed(1)}/${report.p99Ms.toFixed(1)} ms`);
      const notJson = server.lines.filter((line) => {
        try {
          JSON.parse(line);
          return false;
        } catch {
          return true;
        }
      });
      assert.deepEqual(notJson, []);
      assert.ok(!server.lines.some((line) => line.includes("Warning")));
    });
  });
}
