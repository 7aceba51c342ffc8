import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { type Replica, renderHaproxyConfig } from "./haproxy-config.js";

/** Debian's haproxy package puts it here; HAPROXY names another binary. */
const haproxyBinary = process.env.HAPROXY ?? "/usr/sbin/haproxy";

export interface Balancer {
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly child: ChildProcess;
  /** Holds the configuration and the admin socket; removed when HAProxy exits. */
  readonly dir: string;
  /** Each replica's state as HAProxy sees it: UP, DOWN, `no check`, or a transition such as `UP 1/2`. */
  serverStates(): Promise<Map<string, string>>;
  /** Resolves once every named replica is in `state`; fails after `timeoutMs`. */
  waitForStates(names: readonly string[], state: "UP" | "DOWN" | "no check", timeoutMs?: number): Promise<void>;
  /** Takes a replica out of rotation (`maint`: no new calls, nor health checks) or puts it back (`ready`). */
  setState(name: string, state: "maint" | "ready"): Promise<void>;
  /**
   * Turns a replica's health checks off, holding it in rotation (`no check`) whatever the last
   * check said, or on again. Off alone would leave a replica caught DOWN by a slow check there.
   */
  setHealthChecks(name: string, on: boolean): Promise<void>;
  /** Soft stop: HAProxy stops listening and lets calls in flight finish, then exits. */
  stop(): Promise<void>;
}

export interface BalancerOptions {
  readonly port: number;
  readonly replicas: readonly Replica[];
  readonly checkIntervalMs: number;
  readonly onLine?: (line: string) => void;
}

/** Starts HAProxy in the foreground with the configuration rendered from deploy/'s template. */
export async function startBalancer(options: BalancerOptions): Promise<Balancer> {
  const dir = await mkdtemp(join(tmpdir(), "simpletest-haproxy-"));
  const configPath = join(dir, "haproxy.cfg");
  const statsSocket = join(dir, "admin.sock");
  await writeFile(
    configPath,
    renderHaproxyConfig({
      bind: `127.0.0.1:${options.port}`,
      replicas: options.replicas,
      checkIntervalMs: options.checkIntervalMs,
      statsSocket,
    }),
  );
  // -db: foreground, logs on stdout; its own process group, for the same reason as the replicas'.
  const child = spawn(haproxyBinary, ["-db", "-f", configPath], { stdio: ["ignore", "pipe", "pipe"], detached: true });
  try {
    await once(child, "spawn");
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`cannot start ${haproxyBinary} (on Debian: apt install haproxy): ${e}`);
  }
  const exited = once(child, "exit").then(() => rm(dir, { recursive: true, force: true }));
  const onLine = options.onLine ?? (() => {});
  createInterface({ input: child.stdout }).on("line", onLine);
  createInterface({ input: child.stderr }).on("line", onLine);

  const command = async (line: string) => {
    const answer = (await askStatsSocket(statsSocket, line)).trim();
    if (answer !== "") throw new Error(`haproxy refused "${line}": ${answer}`);
  };
  const serverStates = async () => parseStates(await askStatsSocket(statsSocket, "show stat"));
  const balancer: Balancer = {
    url: `http://127.0.0.1:${options.port}`,
    child,
    dir,
    serverStates,
    async waitForStates(names, state, timeoutMs = 20_000) {
      for (const started = Date.now(); ; await sleep(50)) {
        const states = await serverStates().catch(() => new Map<string, string>());
        if (names.every((name) => states.get(name) === state)) return;
        if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}`);
        if (Date.now() - started > timeoutMs) {
          throw new Error(`replicas not all ${state} after ${timeoutMs} ms: ${JSON.stringify([...states])}`);
        }
      }
    },
    setState: (name, state) => command(`set server replicas/${checkName(name)} state ${state}`),
    async setHealthChecks(name, on) {
      await command(`${on ? "enable" : "disable"} health replicas/${checkName(name)}`);
      if (!on) await command(`set server replicas/${checkName(name)} health up`);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGUSR1");
      await exited;
    },
  };
  return balancer;
}

const checkName = (name: string) => {
  if (!/^[\w-]+$/.test(name)) throw new Error(`not a replica name: ${name}`);
  return name;
};

/** Sends one command to HAProxy's admin socket and returns the whole answer. */
async function askStatsSocket(path: string, command: string): Promise<string> {
  const socket = net.connect(path);
  socket.end(`${command}\n`);
  let answer = "";
  socket.setEncoding("utf8").on("data", (chunk: string) => {
    answer += chunk;
  });
  await once(socket, "close");
  return answer;
}

/** The `status` column of each server line of `show stat`'s CSV. */
function parseStates(csv: string): Map<string, string> {
  const [header, ...rows] = csv.trim().split("\n");
  const columns = header.replace(/^# /, "").split(",");
  const [proxy, server, status] = ["pxname", "svname", "status"].map((name) => columns.indexOf(name));
  const states = new Map<string, string>();
  for (const fields of rows.map((row) => row.split(","))) {
    if (fields[proxy] === "replicas" && fields[server] !== "BACKEND") states.set(fields[server], fields[status]);
  }
  return states;
}
