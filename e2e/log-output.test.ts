import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { Agent, request } from "node:http";
import { describe, it } from "node:test";
import { built, startNodeFlags } from "../testkit/built-server.js";
import { eventually } from "../testkit/eventually.js";
import { freePort, spawnServer } from "./support/server.js";

/** One Connect JSON GetOne over `agent`'s kept-alive connections; resolves with the answer's body. */
function getOne(port: number, agent: Agent, hello: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const call = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/simpletest.SimpleTest/GetOne",
        headers: { "content-type": "application/json" },
        agent,
      },
      (response) => {
        let body = "";
        response.setEncoding("utf8").on("data", (text: string) => (body += text));
        response.on("end", () => resolve(body)).on("error", reject);
      },
    );
    call.on("error", reject).end(JSON.stringify({ hello }));
  });
}

describe("the log on stdout", () => {
  it("WORKERS=2 with a reader that lags: every line whole, and a stop loses none", async () => {
    const port = await freePort();
    const server = spawn(process.execPath, [...startNodeFlags(), built("server/main.ts")], {
      env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), WORKERS: "2", LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const closed = once(server, "close");
    // 64 KB every 100 ms at most: slower than two workers log under this load, so they wait for it.
    const chunks: Buffer[] = [];
    server.stdout.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      server.stdout.pause();
      setTimeout(() => server.stdout.resume(), 100);
    });
    const output = () => Buffer.concat(chunks).toString();
    const calls = 8000;
    try {
      await eventually(() => output().split("listening at").length - 1 >= 2, {
        timeoutMs: 20_000,
        what: "2 workers to listen",
      });
      const agent = new Agent({ keepAlive: true, maxSockets: 16 });
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let i = next++; i < calls; i = next++) {
            assert.equal(await getOne(port, agent, String(i)), `{"result":"Hello !! ${i}"}`);
          }
        }),
      );
      agent.destroy();
    } finally {
      server.kill("SIGTERM");
      const killer = setTimeout(() => server.kill("SIGKILL"), 20_000);
      await closed;
      clearTimeout(killer);
    }

    assert.equal(server.exitCode, 0);
    const lines = output().trimEnd().split("\n");
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `a line split: ${line.slice(0, 200)}`);
    const getOnes = lines.map((line) => JSON.parse(line)).filter((entry) => entry.procedure?.endsWith("/GetOne"));
    assert.equal(getOnes.length, calls);
  });

  it("serves on when its reader goes away, and says once on stderr that the log is lost", async () => {
    const server = await spawnServer();
    try {
      server.child.stdout?.destroy();
      const agent = new Agent({ keepAlive: true });
      const lost = "simpletest: writing the log to stdout failed (EPIPE); log lines are dropped from now on";
      for (let i = 0; i < 3; i++)
        assert.equal(await getOne(server.port, agent, String(i)), `{"result":"Hello !! ${i}"}`);
      await eventually(() => server.lines.includes(lost), { what: "the lost log reported" });
      for (let i = 3; i < 6; i++)
        assert.equal(await getOne(server.port, agent, String(i)), `{"result":"Hello !! ${i}"}`);
      agent.destroy();
      assert.equal(server.lines.filter((line) => line === lost).length, 1);
    } finally {
      await server.close();
    }
    assert.equal(await server.exited, 0);
  });
});
