import { type ChildProcess, spawn } from "node:child_process";
import type net from "node:net";
import { fileURLToPath } from "node:url";
import { freePort } from "../../testkit/server-process.js";
import { type Balancer, startBalancer } from "./haproxy.js";
import { shutdownDelayFor } from "./haproxy-config.js";
import { type ReplicaProcess, startReplica } from "./replica.js";

export interface ClusterOptions {
  readonly replicas: number;
  /** The balancer's port on 127.0.0.1. */
  readonly port: number;
  /** Time between HAProxy's health checks of each replica. */
  readonly checkIntervalMs: number;
  /** Each replica's environment, on top of this process's. */
  readonly env?: Readonly<Record<string, string>>;
  /** Each line a process writes, with its name: `haproxy`, `r1`, `r2`, … */
  readonly onLine?: (name: string, line: string) => void;
}

export interface Cluster {
  readonly balancer: Balancer;
  readonly replicas: ReplicaProcess[];
  /**
   * Starts (again) the replica called `name` on its old port, e.g. after a
   * test killed it; HAProxy puts it back once its health checks pass.
   */
  restartReplica(name: string): Promise<ReplicaProcess>;
  /** Stops the balancer and every replica gracefully, and waits for them. */
  stop(): Promise<void>;
}

/** Replicas on free loopback ports, and HAProxy in front of them once they all serve. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const onLine = options.onLine ?? (() => {});
  const reaper = startReaper();
  const env = {
    SHUTDOWN_DELAY_MS: String(shutdownDelayFor(options.checkIntervalMs)),
    ...options.env,
  };
  const start = async (name: string, port: number) =>
    startReplica({ name, port, env, onLine: (line) => onLine(name, line), onSpawn: reaper.watch });

  const names = Array.from({ length: options.replicas }, (_, i) => `r${i + 1}`);
  const ports = await Promise.all(names.map(() => freePort()));
  const started = await Promise.allSettled(names.map((name, i) => start(name, ports[i])));
  const replicas = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const stopReplicas = () => Promise.all(replicas.map((replica) => replica.stop()));
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    await stopReplicas();
    reaper.close();
    throw failed.reason;
  }
  let balancer: Balancer;
  try {
    balancer = await startBalancer({
      port: options.port,
      replicas: replicas.map((r) => ({ name: r.name, address: `127.0.0.1:${r.port}` })),
      checkIntervalMs: options.checkIntervalMs,
      onLine: (line) => onLine("haproxy", line),
    });
  } catch (e) {
    await stopReplicas();
    reaper.close();
    throw e;
  }
  reaper.watch(balancer.child);
  reaper.removeLater(balancer.dir);
  const stop = async () => {
    await Promise.all([balancer.stop(), stopReplicas()]);
    reaper.close();
  };
  try {
    await balancer.waitForStates(names, "UP");
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    balancer,
    replicas,
    async restartReplica(name) {
      const index = replicas.findIndex((r) => r.name === name);
      if (index < 0) throw new Error(`no replica called ${name}`);
      replicas[index] = await start(name, replicas[index].port);
      return replicas[index];
    },
    stop,
  };
}

/** How long the reaper waits for SIGTERM to end the processes before it sends SIGKILL. */
const reaperGraceMs = 30_000;

/**
 * Starts scripts/cluster/reaper.mjs, a process of its own that stops every
 * process it was told to `watch` (and removes what it was told to remove) once
 * this one is gone without closing it:
 * replicas and HAProxy run in their own process groups, so nothing else would
 * end them after a SIGKILL or a crash here.
 */
function startReaper() {
  const script = fileURLToPath(new URL("./reaper.mjs", import.meta.url));
  const reaper = spawn(process.execPath, [script, String(reaperGraceMs)], {
    stdio: ["pipe", "ignore", "ignore"],
    detached: true,
  });
  const input = reaper.stdin as net.Socket;
  // Neither keeps this process alive; a reaper that died makes writes fail, which is harmless.
  reaper.unref();
  input.unref();
  input.on("error", () => {});
  return {
    watch(child: ChildProcess) {
      const pid = child.pid;
      if (pid === undefined) return;
      input.write(`+${pid}\n`);
      child.once("exit", () => input.write(`-${pid}\n`));
    },
    /** A directory to remove if this process cannot. */
    removeLater(path: string) {
      input.write(`rm ${path}\n`);
    },
    close() {
      input.end();
    },
  };
}
