import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { createSimpleTestClient } from "../client/simple-test-client.js";
import { built, startNodeFlags } from "../testkit/built-server.js";
import { eventually } from "../testkit/eventually.js";
import { type PipedStdout, spawnWithPipedStdout } from "../testkit/piped-stdout.js";
import { freePort } from "./support/server.js";

/** A Connect JSON client over HTTP/1.1, as curl or a browser calls. */
const connectJson = (port: number) =>
  createSimpleTestClient({
    baseUrl: `http://127.0.0.1:${port}`,
    protocol: "connect",
    httpVersion: "1.1",
    codec: "json",
  });

/** The built server as npm start runs it, on `port`, its stdout (and with `stderrToo` its stderr) a pipe read as `pauseMs` says. */
async function serverOnPipe(
  port: number,
  env: Record<string, string>,
  pauseMs: number,
  stderrToo = false,
): Promise<PipedStdout> {
  const server = spawnWithPipedStdout(process.execPath, [...startNodeFlags(), built("server/main.ts")], {
    env: { HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "info", ...env },
    pauseMs,
    stderrToo,
  });
  const workers = Number(env.WORKERS ?? "1");
  try {
    await eventually(() => server.stdout().split("listening at").length - 1 >= workers, {
      timeoutMs: 20_000,
      what: `${workers} server process(es) to listen`,
    });
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

describe("the log on stdout", () => {
  it("WORKERS=2 with a reader that lags: every line whole, and a stop loses none", async () => {
    const port = await freePort();
    // 64 KB every 200 ms at most, ~1,100 lines a second: slower than two workers log under this
    // load (~1,800 calls a second here through the Connect client), so they wait for it.
    const server = await serverOnPipe(port, { WORKERS: "2" }, 200);
    const calls = 8000;
    let code: number | null;
    try {
      const client = connectJson(port);
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let i = next++; i < calls; i = next++) {
            assert.equal((await client.getOne({ hello: String(i) })).result, `Hello !! ${i}`);
          }
        }),
      );
    } finally {
      code = await server.stop();
    }

    assert.equal(code, 0);
    const lines = server.stdout().trimEnd().split("\n");
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `a line split: ${line.slice(0, 200)}`);
    const getOnes = lines.map((line) => JSON.parse(line)).filter((entry) => entry.procedure?.endsWith("/GetOne"));
    assert.equal(getOnes.length, calls);
  });

  it("serves on when its reader goes away, and says once on stderr that the log is lost", async () => {
    const port = await freePort();
    const server = await serverOnPipe(port, {}, 0);
    const lost = "simpletest: writing the log to stdout failed (EPIPE); log lines are dropped from now on\n";
    let code: number | null;
    try {
      // The pipe's reader (cat) dies on its next write here, and the server's next write fails.
      server.child.stdout?.destroy();
      const client = connectJson(port);
      let i = 0;
      for (; !server.stderr().includes(lost); i++) {
        assert.ok(i < 1000, "no report after 1,000 calls");
        assert.equal((await client.getOne({ hello: String(i) })).result, `Hello !! ${i}`);
      }
      for (const end = i + 3; i < end; i++) {
        assert.equal((await client.getOne({ hello: String(i) })).result, `Hello !! ${i}`);
      }
    } finally {
      code = await server.stop();
    }
    assert.equal(code, 0);
    assert.equal(server.stderr(), lost);
  });

  it("WORKERS=2 with stdout and stderr to a reader that goes away: a worker that dies is still replaced", async () => {
    const port = await freePort();
    const server = await serverOnPipe(port, { WORKERS: "2" }, 0, true);
    const primary = server.child.pid as number;
    // The primary's children: its workers, and the pipe's cat (which `exec` made its child too).
    const children = (runs: (argv: string[]) => boolean) => {
      assert.ok(existsSync(`/proc/${primary}`), "the primary has exited");
      return readFileSync(`/proc/${primary}/task/${primary}/children`, "utf8")
        .trim()
        .split(" ")
        .filter((pid) => existsSync(`/proc/${pid}`) && runs(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")))
        .map(Number);
    };
    const workers = () => children((argv) => argv.some((arg) => arg.endsWith("server/main.js")));
    const reader = () => children((argv) => argv[0] === "cat");
    let code: number | null;
    try {
      const [first] = workers();
      // The pipe's reader (cat) dies on its next write here; every write after that fails.
      server.child.stdout?.destroy();
      const client = connectJson(port);
      for (let i = 0; i < 20; i++) {
        assert.equal((await client.getOne({ hello: String(i) })).result, `Hello !! ${i}`);
      }
      await eventually(() => reader().length === 0, { what: "the pipe's reader to be gone" });
      // The primary says on stderr that the worker exited, and forks another.
      process.kill(first, "SIGKILL");
      await eventually(
        () => {
          const now = workers();
          return now.length === 2 && !now.includes(first);
        },
        { what: "a worker in the dead one's place" },
      );
      // Over a connection of its own (HTTP/2), never one kept alive to the dead worker.
      const fresh = createSimpleTestClient({ baseUrl: `http://127.0.0.1:${port}`, protocol: "connect", codec: "json" });
      for (let i = 0; i < 4; i++) {
        assert.equal((await fresh.getOne({ hello: String(i) })).result, `Hello !! ${i}`);
      }
      fresh.close();
    } finally {
      code = await server.stop();
    }
    // A worker died of a signal: the primary reports it in its exit code.
    assert.equal(code, 1);
  });
});
