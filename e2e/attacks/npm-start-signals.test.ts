import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { eventually } from "../../testkit/eventually.js";
import { assertStillServing, freePort } from "../support/server.js";

const repo = fileURLToPath(new URL("../..", import.meta.url));

/** Whether anything accepts connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `npm start` in a process group of its own, as a container runtime or a
 * process manager starts it: npm's pid, the server's (from its first log
 * line), and npm's exit code when it comes.
 */
async function npmStart(port: number) {
  const npm = spawn("npm", ["start"], {
    cwd: repo,
    env: { ...process.env, PORT: String(port), LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const exited = once(npm, "exit").then(([code, signal]) => ({ code, signal }));
  const output: string[] = [];
  createInterface({ input: npm.stderr }).on("line", (line) => output.push(line));
  const serverPid = await new Promise<number>((resolve, reject) => {
    createInterface({ input: npm.stdout }).on("line", (line) => {
      output.push(line);
      if (line.includes("Server listening at")) resolve((JSON.parse(line) as { pid: number }).pid);
    });
    exited.then(({ code }) => reject(new Error(`npm start exited with ${code}: ${output.join("\n")}`)));
  });
  return { npmPid: npm.pid as number, serverPid, exited, output };
}

describe("npm start stops cleanly on SIGTERM and SIGINT, however they are sent", { timeout: 180_000 }, () => {
  const targets = {
    "npm's own process": (started: { npmPid: number }) => started.npmPid,
    "npm's process group": (started: { npmPid: number }) => -started.npmPid,
    "the node process alone": (started: { serverPid: number }) => started.serverPid,
  };
  const cases: [NodeJS.Signals, keyof typeof targets][] = [
    ["SIGTERM", "npm's own process"],
    ["SIGTERM", "npm's process group"],
    ["SIGTERM", "the node process alone"],
    ["SIGINT", "npm's own process"],
    ["SIGINT", "npm's process group"],
  ];
  for (const [signal, target] of cases) {
    it(`${signal} to ${target}: the server drains, npm exits 0, nothing is left listening`, async () => {
      const port = await freePort();
      const started = await npmStart(port);
      try {
        await assertStillServing(`http://127.0.0.1:${port}`);
        process.kill(targets[target](started), signal);
        const ended = await Promise.race([started.exited, sleep(30_000).then(() => "npm still running after 30 s")]);
        assert.deepEqual(ended, { code: 0, signal: null }, started.output.join("\n"));
        // npm may exit as soon as its child does; the child's sockets close with it.
        await eventually(() => !alive(started.serverPid), { intervalMs: 100, what: "the server process to end" });
        assert.equal(await listening(port), false, "something still listens on the port");
        assert.ok(
          started.output.some((line) => line.includes('"msg":"stopped"')),
          `no drain was logged:\n${started.output.join("\n")}`,
        );
      } finally {
        if (alive(started.serverPid)) process.kill(started.serverPid, "SIGKILL");
        if (alive(started.npmPid)) process.kill(-started.npmPid, "SIGKILL");
      }
    });
  }
});
