import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { createHealthClient } from "../client/health-client.js";
import { createSimpleTestClient } from "../client/simple-test-client.js";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { canTrimMemory } from "../server/memory-at-rest.js";
import { builtServerMain } from "../testkit/built-server.js";
import { eventually } from "../testkit/eventually.js";
import { getOnNewConnection } from "./support/new-connection.js";
import { total } from "./support/prometheus.js";
import { runCommand } from "./support/run-command.js";
import { type ServerProcess, spawnServer } from "./support/server.js";

/** Waits until `count` workers have logged that they listen. */
async function workersListening(server: ServerProcess, count: number): Promise<void> {
  await eventually(() => server.lines.filter((l) => l.includes("listening at")).length >= count, {
    timeoutMs: 20_000,
    what: `${count} workers to listen`,
  });
}

/** `calls` GetOne calls, each on a connection of its own: gRPC clients and curl (Connect JSON) in turn. */
async function getOnes(url: string, calls: number): Promise<void> {
  for (let i = 0; i < calls; i++) {
    if (i % 2 === 0) {
      const client = createSimpleTestClient({ baseUrl: url, protocol: "grpc" });
      assert.equal((await client.getOne({ hello: `${i}` })).result, `Hello !! ${i}`);
      client.close();
    } else {
      const curl = await runCommand("curl", [
        "-sS",
        "--fail",
        "-H",
        "content-type: application/json",
        "-d",
        `{"hello":"${i}"}`,
        `${url}/simpletest.SimpleTest/GetOne`,
      ]);
      assert.equal(curl.stdout, `{"result":"Hello !! ${i}"}`, curl.stderr);
    }
  }
}

const getOneHandled = { grpc_method: "GetOne", grpc_code: "OK" };

/** Scrapes `times` times, each over a new connection, and checks that every scrape counts `calls`. */
async function assertEveryScrapeCounts(metricsUrl: string, calls: number, times: number): Promise<string> {
  let text = "";
  for (let i = 0; i < times; i++) {
    const scrape = await getOnNewConnection(metricsUrl);
    assert.equal(scrape.status, 200);
    text = scrape.body;
    assert.equal(total(text, "grpc_server_handled_total", getOneHandled), calls, `scrape ${i}`);
    assert.equal(total(text, "grpc_server_started_total", { grpc_method: "GetOne" }), calls, `scrape ${i}`);
    assert.equal(total(text, "grpc_server_handling_seconds_count", { grpc_method: "GetOne" }), calls, `scrape ${i}`);
  }
  return text;
}

/** The worker ids that label the process metrics of a scrape. */
function workerLabels(text: string): string[] {
  const ids = [...text.matchAll(/^process_resident_memory_bytes\{worker="([^"]+)"\}/gm)].map((m) => m[1]);
  return ids.sort();
}

for (const workers of [2, 3]) {
  describe(`WORKERS=${workers}: ${workers} server processes on the one port`, { timeout: 120_000 }, () => {
    let server: ServerProcess;
    before(async () => {
      server = await spawnServer({ WORKERS: String(workers), LOG_LEVEL: "info", SHUTDOWN_DELAY_MS: "3000" });
      // spawnServer returns once the first worker listens; the others may still be starting.
      await workersListening(server, workers);
    });
    after(() => server?.close());

    it("answers over gRPC and Connect, from every worker", async () => {
      const clients = [
        createSimpleTestClient({ baseUrl: server.url, protocol: "grpc" }),
        createSimpleTestClient({ baseUrl: server.url, protocol: "connect", httpVersion: "1.1", codec: "json" }),
      ];
      try {
        for (const client of clients) assert.equal((await client.getOne({ hello: "w" })).result, "Hello !! w");
        // Each new connection goes to the next worker in turn.
        for (let i = 0; i < 3 * workers; i++) {
          const client = createSimpleTestClient({ baseUrl: server.url, protocol: "grpc" });
          await client.getOne({ hello: String(i) });
          client.close();
        }
      } finally {
        for (const client of clients) client.close();
      }
      const pids = new Set(server.lines.filter((l) => l.includes('"msg":"rpc"')).map((l) => JSON.parse(l).pid));
      assert.equal(pids.size, workers, `calls were served by ${[...pids].join(", ")}`);
    });

    it("trims each worker's start-up memory once, before that worker listens; the primary none", {
      skip: canTrimMemory ? false : "V8 11 (Node 20) has no collection of last resort for JavaScript",
    }, () => {
      const linesOf = (pid: number, text: string) =>
        server.lines.flatMap((line, i) => (line.includes(text) && JSON.parse(line).pid === pid ? [i] : []));
      const trimmed = server.lines.filter((l) => l.includes('"memory trimmed at start"')).map((l) => JSON.parse(l).pid);
      assert.equal(new Set(trimmed).size, workers, `trimmed in ${trimmed.join(", ")}`);
      assert.equal(trimmed.length, workers, "once per worker");
      assert.ok(!trimmed.includes(server.child.pid), "none in the primary");
      for (const pid of trimmed) {
        const [listening] = linesOf(pid, '"Server listening at');
        assert.ok(listening !== undefined, `worker ${pid} trimmed, and listens`);
        assert.ok(linesOf(pid, '"memory trimmed at start"')[0] < listening, `worker ${pid} trimmed before it listened`);
      }
    });

    it("counts every worker's calls in every scrape, whichever worker answers it", async () => {
      const before = total((await getOnNewConnection(`${server.url}/metrics`)).body, "grpc_server_handled_total", {
        grpc_method: "GetOne",
      });
      const calls = 8 * workers;
      await getOnes(server.url, calls);
      const text = await assertEveryScrapeCounts(`${server.url}/metrics`, before + calls, 3 * workers);
      assert.equal(total(text, "grpc_server_in_flight", {}), 0);
      // Process metrics mean nothing summed: one series per process.
      assert.equal(workerLabels(text).length, workers + 1, text);
      assert.ok(workerLabels(text).includes("primary"), text);
    });

    it("answers health alike from every worker, and NOT_SERVING from all of them once shutdown begins", async () => {
      const checks = 3 * workers;
      const healthz = async () => {
        const answers = [];
        for (let i = 0; i < checks; i++) answers.push((await getOnNewConnection(`${server.url}/healthz`)).status);
        return answers;
      };
      const grpcHealth = async () => {
        const answers = [];
        for (let i = 0; i < checks; i++) {
          const client = createHealthClient({ baseUrl: server.url, protocol: "grpc" });
          answers.push(ServingStatus[(await client.check({ service: "" })).status]);
          client.close();
        }
        return answers;
      };
      assert.deepEqual(await healthz(), new Array(checks).fill(200));
      assert.deepEqual(await grpcHealth(), new Array(checks).fill("SERVING"));

      server.child.kill("SIGTERM");
      // Every worker has been told; SHUTDOWN_DELAY_MS keeps the port open for a balancer to notice.
      await eventually(() => server.lines.filter((l) => l.includes('"msg":"shutting down"')).length >= workers, {
        intervalMs: 20,
        what: "every worker to begin shutting down",
      });
      assert.deepEqual(await healthz(), new Array(checks).fill(503));
      assert.deepEqual(await grpcHealth(), new Array(checks).fill("NOT_SERVING"));
    });

    it("stops every worker and exits 0", async () => {
      assert.equal(await server.exited, 0);
      const stopped = server.lines.filter((l) => l.includes('"msg":"stopped"'));
      assert.equal(stopped.length, workers);
    });
  });
}

describe("WORKERS=2: a worker that dies is replaced, and the server's counters do not fall", {
  timeout: 60_000,
}, () => {
  let server: ServerProcess;
  before(async () => {
    server = await spawnServer({ WORKERS: "2", LOG_LEVEL: "info" });
    await workersListening(server, 2);
  });
  after(() => server?.close());

  it("keeps the calls the dead worker counted in every later scrape", async () => {
    const calls = 12;
    await getOnes(server.url, calls);
    await assertEveryScrapeCounts(`${server.url}/metrics`, calls, 4);

    const pids = new Set(server.lines.filter((l) => l.includes('"msg":"rpc"')).map((l) => JSON.parse(l).pid));
    const [victim] = pids;
    process.kill(victim, "SIGKILL");
    await workersListening(server, 3);

    await assertEveryScrapeCounts(`${server.url}/metrics`, calls, 4);
    await getOnes(server.url, calls);
    const text = await assertEveryScrapeCounts(`${server.url}/metrics`, 2 * calls, 4);
    // The dead worker's process series went with it; the replacement has its own.
    assert.equal(workerLabels(text).length, 3, text);
  });
});

describe("WORKERS=2: stopped while its workers are still starting", () => {
  it("exits 0: a worker that never listened dies of the signal, and nothing was lost", async () => {
    const child = spawn(process.execPath, [builtServerMain(), "--host", "127.0.0.1", "--port", "0"], {
      env: { ...process.env, WORKERS: "2", LOG_LEVEL: "warn" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const exited = once(child, "exit");
    // The primary forks once it has its signal handlers; the workers take far longer to listen.
    const forked = () => readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim() !== "";
    await eventually(forked, { intervalMs: 10, what: "a worker to be forked" });
    child.kill("SIGTERM");
    const [code, signal] = await exited;
    assert.deepEqual({ code, signal }, { code: 0, signal: null });
  });
});

describe("WORKERS=2: stopped the moment a worker listens", () => {
  it("exits 0: the worker has its handlers before the primary can see it listen and pass the signal on", async () => {
    // In each worker, once its port is open and the primary told (the tick
    // after "listening", before the worker's code after its listen goes on): a
    // pause for the primary to take that in, SIGTERM to the primary, and a
    // pause for it to pass the signal on. A worker descheduled there is in the same place.
    // Without its handlers a worker dies in the second pause, and the primary exits 1. A primary
    // slower than a pause would let the worker go on: the test could then pass wrongly, never fail.
    const hook = `import cluster from "node:cluster";
      import net from "node:net";
      const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      if (cluster.isWorker) {
        const listen = net.Server.prototype.listen;
        net.Server.prototype.listen = function (...args) {
          const server = listen.apply(this, args);
          server.once("listening", () =>
            process.nextTick(() => {
              pause(1000);
              process.kill(process.ppid, "SIGTERM");
              pause(1000);
            }),
          );
          return server;
        };
      }`;
    const child = spawn(process.execPath, [builtServerMain(), "--host", "127.0.0.1", "--port", "0"], {
      env: {
        ...process.env,
        WORKERS: "2",
        LOG_LEVEL: "warn",
        NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(hook)}`,
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const stderr: string[] = [];
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
    const [code, signal] = await once(child, "exit");
    assert.deepEqual({ code, signal, stderr: stderr.join("") }, { code: 0, signal: null, stderr: "" });
  });
});
