import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { createAsyncIterable, createWritableIterable } from "@connectrpc/connect/protocol";
import { createSimpleTestClient, type SimpleTestClient } from "../client/simple-test-client.js";
import { type Cluster, startCluster } from "../scripts/cluster/start-cluster.js";
import { freePort } from "../testkit/server-process.js";
import { describeContract, getListInterval } from "./support/contract.js";
import {
  errorCases,
  nodeMismatches,
  openBidi,
  openClientStream,
  pythonCodes,
  pythonMismatches,
} from "./support/error-matrix.js";
import { describeTransport, type Transport, transports } from "./support/matrix.js";
import { scrape, total } from "./support/prometheus.js";

/** Fast health checks keep the test short; replicas wait three intervals (SHUTDOWN_DELAY_MS) when stopped. */
const checkIntervalMs = 250;
/** Small, so that a request over it is cheap to send. */
const maxMessageBytes = 16_384;
/** Each error case is repeated this many times at once, so that a race cannot hide. */
const repeat = 20;

const h2Transports = transports.filter((t) => t.httpVersion === "2");

/** The sum of a replica's series `name` with those labels. */
const metricTotal = async (url: string, name: string, labels: Record<string, string> = {}) =>
  total(await scrape(url), name, labels);

/** One call of each kind the transport allows, answers checked exactly; `done` is told of each call. */
async function mixedCalls(client: SimpleTestClient, transport: Transport, tag: string, done = () => {}): Promise<void> {
  assert.equal((await client.getOne({ hello: tag })).result, `Hello !! ${tag}`);
  done();
  const list: string[] = [];
  for await (const m of client.getList({ hello: tag })) list.push(m.resultlist);
  assert.deepEqual(list, ["test0", "test1", "test2", "test3", "test4"]);
  done();
  const names = [{ namelist: "a" }, { namelist: "b" }];
  assert.equal((await client.postList(createAsyncIterable(names))).result, "PostList OK");
  done();
  if (transport.httpVersion === "1.1") return;
  const answers: string[] = [];
  for await (const m of client.postAndPost(createAsyncIterable(names))) answers.push(m.resultlist);
  assert.deepEqual(answers, ["Hello !! a", "Hello !! b"]);
  done();
}

describe("HAProxy (Debian's package) in front of three replicas", { timeout: 120_000 }, () => {
  let cluster: Cluster;
  const logs: string[] = [];
  before(async () => {
    cluster = await startCluster({
      replicas: 3,
      port: await freePort(),
      checkIntervalMs,
      env: {
        LOG_LEVEL: "warn",
        GETLIST_INTERVAL_MS: String(getListInterval),
        SHUTDOWN_GRACE_MS: "2000",
        MAX_MESSAGE_BYTES: String(maxMessageBytes),
      },
      onLine: (name, line) => logs.push(`${name} | ${line}`),
    });
  });
  after(() => cluster?.stop());

  const replica = (name: string) => {
    const found = cluster.replicas.find((r) => r.name === name);
    assert.ok(found, name);
    return found;
  };

  describe("every method, protocol and HTTP version, through the balancer", () => {
    describeContract(async () => ({ url: cluster.balancer.url, port: 0, close: async () => {} }));
  });

  it("spreads calls across the replicas, each counted once", async (t) => {
    const getOnes = () =>
      Promise.all(
        cluster.replicas.map((r) => metricTotal(r.url, "grpc_server_handled_total", { grpc_method: "GetOne" })),
      );
    const before = await getOnes();
    const calls = 30;
    for (let i = 0; i < calls; i++) {
      const transport = transports[i % transports.length];
      const client = createSimpleTestClient({ baseUrl: cluster.balancer.url, ...transport });
      assert.equal((await client.getOne({ hello: `${i}` })).result, `Hello !! ${i}`);
      client.close();
    }
    const share = (await getOnes()).map((n, i) => n - before[i]);
    t.diagnostic(`GetOne calls per replica: ${share.join(", ")}`);
    assert.equal(
      share.reduce((a, b) => a + b),
      calls,
      `shares ${share}`,
    );
    for (const [i, n] of share.entries()) assert.ok(n >= 3, `${cluster.replicas[i].name} took ${n} of ${calls}`);
  });

  it("loses no call when a replica is sent SIGTERM under steady mixed load", async (t) => {
    const leaving = replica("r2");
    let made = 0;
    let running = true;
    const failures: string[] = [];
    const workers = transports.map(async (transport, w) => {
      const client = createSimpleTestClient({ baseUrl: cluster.balancer.url, ...transport });
      for (let round = 0; running; round++) {
        try {
          await mixedCalls(client, transport, `w${w}-${round}`, () => made++);
        } catch (e) {
          made++;
          failures.push(`${describeTransport(transport)}: ${e instanceof Error ? e.message : e}`);
        }
      }
      client.close();
    });

    // Steady load first, then streams in flight on r2, so that the drain has something to finish.
    await sleep(1_000);
    for (let i = 0; (await metricTotal(leaving.url, "grpc_server_in_flight", {})) === 0; i++) {
      assert.ok(i < 100, "no call ever reached r2");
      await sleep(20);
    }
    const madeBefore = made;
    assert.equal(await leaving.stop("SIGTERM"), 0, "r2's exit code");
    await cluster.balancer.waitForStates(["r2"], "DOWN");
    const madeAtExit = made;
    await sleep(1_000);
    running = false;
    await Promise.all(workers);

    t.diagnostic(
      `calls made ${made} (${madeBefore} before SIGTERM, ${made - madeAtExit} after r2 exited), failed ${failures.length}`,
    );
    assert.deepEqual(failures, []);
    assert.ok(made - madeAtExit > 0, "the survivors carried on");

    await cluster.restartReplica("r2");
    await cluster.balancer.waitForStates(["r2"], "UP");
  });

  it("fails the calls in flight on a replica killed with SIGKILL, never hangs them, and keeps serving", async (t) => {
    const victim = replica("r1");
    // Calls the client holds open, one per transport: bidi over HTTP/2, client streaming over HTTP/1.1.
    const open = transports.map((transport) => {
      const client = createSimpleTestClient({ baseUrl: cluster.balancer.url, ...transport });
      const requests = createWritableIterable<{ namelist: string }>();
      const options = { timeoutMs: 10_000 };
      const answers: string[] = [];
      const done = (async () => {
        if (transport.httpVersion === "1.1") {
          answers.push((await client.postList(requests, options)).result);
        } else {
          for await (const m of client.postAndPost(requests, options)) answers.push(m.resultlist);
        }
      })().then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      return { transport, client, requests, answers, done };
    });
    for (const call of open) await call.requests.write({ namelist: "before" });
    // Every call has reached a replica: the bidi ones have had their first answer.
    for (let i = 0; ; i++) {
      const inFlight = await Promise.all(cluster.replicas.map((r) => metricTotal(r.url, "grpc_server_in_flight", {})));
      if (inFlight.reduce((a, b) => a + b) === open.length) break;
      assert.ok(i < 200, `in flight: ${inFlight}`);
      await sleep(20);
    }
    const onVictim = await metricTotal(victim.url, "grpc_server_in_flight", {});
    assert.ok(onVictim > 0, "no call in flight on r1");

    assert.equal(await victim.stop("SIGKILL"), "SIGKILL");
    const outcomes = await Promise.all(
      open.map(async (call) => {
        await call.requests.write({ namelist: "after" }).catch(() => {});
        call.requests.close();
        const error = await call.done;
        call.client.close();
        return { call, error };
      }),
    );
    const failed = outcomes.filter((o) => o.error !== undefined);
    t.diagnostic(
      `r1 had ${onVictim} of ${open.length} calls; they ended with: ${failed.map((o) => `${describeTransport(o.call.transport)} ${Code[o.error?.code ?? 0]} "${o.error?.rawMessage}"`).join("; ")}`,
    );
    assert.equal(failed.length, onVictim, "exactly the calls on r1 fail");
    // HAProxy ends these calls without a status; the client reports them as a lost connection.
    for (const { call, error } of failed) {
      assert.equal(error?.code, Code.Unavailable, `${describeTransport(call.transport)}: ${error}`);
    }
    for (const { call } of outcomes.filter((o) => o.error === undefined)) {
      const expected = call.transport.httpVersion === "1.1" ? ["PostList OK"] : ["Hello !! before", "Hello !! after"];
      assert.deepEqual(call.answers, expected, describeTransport(call.transport));
    }

    // At once, before any health check has noticed: HAProxy retries on the others.
    const later = await Promise.allSettled(
      transports.map(async (transport, i) => {
        const client = createSimpleTestClient({ baseUrl: cluster.balancer.url, ...transport });
        try {
          return await mixedCalls(client, transport, `later${i}`);
        } finally {
          client.close();
        }
      }),
    );
    assert.deepEqual(
      later.filter((r) => r.status === "rejected").map((r) => String(r.reason)),
      [],
    );
    await cluster.balancer.waitForStates(["r1"], "DOWN");

    // Back on its port, it is put back in rotation and takes calls again.
    const back = await cluster.restartReplica("r1");
    await cluster.balancer.waitForStates(["r1"], "UP");
    const client = createSimpleTestClient({ baseUrl: cluster.balancer.url, ...h2Transports[0] });
    for (let i = 0; i < 9; i++) await client.getOne({ hello: "again" });
    client.close();
    assert.ok((await metricTotal(back.url, "grpc_server_handled_total", { grpc_method: "GetOne" })) > 0);
  });
  describe("every error reaches every client whole, through the balancer and straight from a replica", () => {
    const cases = errorCases(maxMessageBytes);
    const errorTransports = transports.filter((t) => t.codec === "proto");
    const targets = [
      { name: "through the balancer", url: () => cluster.balancer.url },
      { name: "straight from a replica", url: () => replica("r3").url },
    ];

    for (const target of targets) {
      it(`${target.name}: the Node client gets each code over gRPC, gRPC-Web and Connect, ${repeat} calls at once`, async () => {
        assert.deepEqual(await nodeMismatches(target.url(), cases, errorTransports, repeat), []);
      });

      it(`${target.name}: Debian's grpcio gets each code, ${repeat} calls at once, and lives`, async () => {
        const host = new URL(target.url()).host;
        assert.deepEqual(await pythonMismatches(host, cases, repeat, maxMessageBytes), []);
      });
    }

    it("calls a replica still runs when its shutdown grace ends get unavailable, through the balancer and straight", async (t) => {
      const leaving = replica("r3");
      // Every new call through the balancer goes to r3, and stays there even if a health check
      // times out under this load, or one did under the tests before (HAProxy would then have no
      // replica left and answer 503).
      await cluster.balancer.setState("r1", "maint");
      await cluster.balancer.setState("r2", "maint");
      await cluster.balancer.setHealthChecks("r3", false);
      try {
        await cluster.balancer.waitForStates(["r3"], "no check");
        const urls = [cluster.balancer.url, leaving.url];
        const nodeCalls = urls.flatMap((url) =>
          errorTransports
            .filter((transport) => transport.httpVersion === "2")
            .flatMap((transport) =>
              Array.from({ length: repeat }, () => ({
                label: `${describeTransport(transport)} ${url}`,
                ...openBidi(url, transport),
              })),
            ),
        );
        const pythonCalls = urls.map((url) => {
          let opened = 0;
          let allOpen!: () => void;
          const open = new Promise<void>((resolve) => {
            allOpen = resolve;
          });
          const run = pythonCodes(new URL(url).host, "shutdown", repeat, maxMessageBytes, (line) => {
            if (line.startsWith('{"open"') && ++opened === repeat) allOpen();
          });
          return { label: `grpcio ${url}`, open: Promise.race([open, run]), run };
        });
        await Promise.all([...nodeCalls.map((c) => c.opened), ...pythonCalls.map((c) => c.open)]);
        // HTTP/1.1 has no bidi: client streams left open, counted in once the replica has them all.
        const http1Calls = urls.flatMap((url) =>
          errorTransports
            .filter((transport) => transport.httpVersion === "1.1")
            .flatMap((transport) =>
              Array.from({ length: repeat }, () => ({
                label: `${describeTransport(transport)} ${url}`,
                ...openClientStream(url, transport),
              })),
            ),
        );
        const early: string[] = [];
        for (const call of [...nodeCalls, ...http1Calls]) {
          call.ended.then((error) => early.push(`${call.label}: ${error === undefined ? "ok" : error.message}`));
        }
        const calls = nodeCalls.length + http1Calls.length + pythonCalls.length * repeat;
        for (let i = 0; ; i++) {
          const inFlight = await metricTotal(leaving.url, "grpc_server_in_flight", {});
          if (inFlight >= calls) break;
          assert.deepEqual(early, [], "calls ended before the replica stopped");
          assert.ok(i < 500, `r3 had ${inFlight} of ${calls} calls in flight`);
          await sleep(20);
        }

        assert.equal(await leaving.stop("SIGTERM"), 0, "r3's exit code");
        const wrong: string[] = [];
        for (const call of [...nodeCalls, ...http1Calls]) {
          const error = await call.ended;
          if (error?.code !== Code.Unavailable)
            wrong.push(`${call.label}: ${error === undefined ? "ok" : error.message}`);
        }
        for (const call of pythonCalls) {
          const { codes, exit } = await call.run;
          if (exit !== "0" || codes.length !== repeat || codes.some((code) => code !== Code.Unavailable)) {
            wrong.push(`${call.label}: exit ${exit}, codes ${codes}`);
          }
        }
        t.diagnostic(`${calls} calls open on r3 when it stopped`);
        assert.deepEqual(wrong, []);
      } finally {
        await cluster.balancer.setState("r1", "ready");
        await cluster.balancer.setState("r2", "ready");
        await cluster.balancer.setHealthChecks("r3", true);
        if (leaving.child.exitCode === null) await leaving.stop("SIGKILL");
        await cluster.restartReplica("r3");
        await cluster.balancer.waitForStates(["r1", "r2", "r3"], "UP");
      }
    });
  });
});
