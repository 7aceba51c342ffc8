import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { eventually } from "../testkit/eventually.js";
import { freePort } from "./support/server.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const markName = "SIMPLETEST_CLUSTER_TEST";

interface Started {
  readonly child: ChildProcess;
  /** Set in the environment of everything the command starts, to find each process. */
  readonly mark: string;
  /** The balancer's and each replica's port. */
  readonly ports: number[];
  /** HAProxy's directory (its configuration and admin socket). */
  readonly haproxyDir: string;
  readonly output: string[];
}

/** Runs `command` (npm run cluster, or the script under tsx) in its own process group, until the cluster serves. */
async function startCluster(command: string, args: string[]): Promise<Started> {
  const mark = randomUUID();
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, [markName]: mark },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const output: string[] = [];
  createInterface({ input: child.stderr }).on("line", (line) => output.push(line));
  const ports: number[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      output.push(line);
      const url = /^(balancer|r\d+): http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (url) ports.push(Number(url[2]));
      if (line.startsWith("Ctrl-C stops them all")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`${command} exited with ${code}:\n${output.join("\n")}`)));
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the cluster did not start within 60 s:\n${output.join("\n")}`)), 60_000);
  });
  try {
    await Promise.race([ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
  const haproxy = marked(mark).find((p) => p.command.includes("haproxy"));
  const haproxyDir = /-f (\S+)\/haproxy\.cfg/.exec(haproxy?.command ?? "")?.[1];
  assert.ok(haproxyDir, `no HAProxy among ${JSON.stringify(marked(mark))}`);
  return { child, mark, ports, haproxyDir, output };
}

interface Running {
  readonly pid: number;
  readonly ppid: number;
  readonly command: string;
}

/** Every process alive whose environment holds the mark. */
function marked(mark: string): Running[] {
  const found: Running[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").includes(`${markName}=${mark}`)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, "latin1");
      // pid (comm) state ppid …; comm may hold spaces and parentheses.
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (state === "Z") continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, "latin1").replaceAll("\0", " ").trim();
      found.push({ pid: Number(entry), ppid: Number(ppid), command });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/** The node process running scripts/cluster.ts: the child of tsx's own process. */
function scriptProcess(mark: string): number {
  const processes = marked(mark);
  const tsx = processes.filter((p) => p.command.includes("scripts/cluster.ts"));
  const script = tsx.find((p) => tsx.some((parent) => parent.pid === p.ppid));
  assert.ok(script, `no script process among ${JSON.stringify(processes)}`);
  return script.pid;
}

const refuses = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });

/** Waits until nothing the command started is left, no port answers and HAProxy's directory is gone; fails after 40 s. */
async function assertAllGone(started: Started): Promise<void> {
  const gone = async () => {
    const left = marked(started.mark);
    const open = [];
    for (const port of started.ports) if (!(await refuses(port))) open.push(port);
    if (left.length === 0 && open.length === 0 && !existsSync(started.haproxyDir)) return true;
    throw new Error(
      `still running: ${JSON.stringify(left)}; ports still open: ${open}; ${started.haproxyDir} there: ${existsSync(started.haproxyDir)}\n${started.output.join("\n")}`,
    );
  };
  try {
    await eventually(gone, { timeoutMs: 40_000, intervalMs: 200 });
  } catch (e) {
    for (const p of marked(started.mark)) process.kill(p.pid, "SIGKILL");
    throw e;
  }
}

const npmCluster = async () =>
  startCluster("npm", ["run", "cluster", "--", "--replicas", "2", "--port", String(await freePort())]);
/** The script without `npm run build` first (dist/ is built by then), so that cases may run side by side. */
const tsxCluster = async () =>
  startCluster(`${root}node_modules/.bin/tsx`, [
    "scripts/cluster.ts",
    "--replicas",
    "2",
    "--port",
    String(await freePort()),
  ]);

describe("npm run cluster stops HAProxy and every replica, whichever process is told to stop", {
  timeout: 180_000,
}, () => {
  it("SIGTERM to npm's own process (what a process manager sends): npm exits 0", async () => {
    const started = await npmCluster();
    assert.equal(started.ports.length, 3, started.output.join("\n"));
    started.child.kill("SIGTERM");
    const [code] = await once(started.child, "exit");
    assert.equal(code, 0, started.output.join("\n"));
    await assertAllGone(started);
  });

  it("SIGINT to npm's process group (Ctrl-C in a terminal)", async () => {
    const started = await npmCluster();
    process.kill(-(started.child.pid as number), "SIGINT");
    await once(started.child, "exit");
    await assertAllGone(started);
  });

  it("SIGTERM to the script's process, and SIGKILL to it (no handler runs: the reaper stops the rest)", async () => {
    await Promise.all(
      (["SIGTERM", "SIGKILL"] as const).map(async (signal) => {
        const started = await tsxCluster();
        process.kill(scriptProcess(started.mark), signal);
        await once(started.child, "exit");
        await assertAllGone(started);
      }),
    );
  });
});
