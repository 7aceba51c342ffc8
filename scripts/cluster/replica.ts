import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { builtServerMain } from "../built-server.js";

export interface ReplicaProcess {
  readonly name: string;
  readonly port: number;
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code, or the signal that ended the process. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** Sends `signal` (default SIGTERM, a graceful stop) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals>;
}

export interface ReplicaOptions {
  readonly name: string;
  readonly port: number;
  /** The replica's environment, on top of this process's. */
  readonly env?: Readonly<Record<string, string>>;
  /** Each line the replica writes, stdout and stderr alike. */
  readonly onLine?: (line: string) => void;
  /** Told of the process as soon as it exists, before it serves. */
  readonly onSpawn?: (child: ChildProcess) => void;
}

/**
 * Starts the built server (as `npm start` runs it) on 127.0.0.1:`port` and resolves once it answers
 * GET /healthz with 200. The replica is its own process group, so that a
 * Ctrl-C in the terminal reaches the cluster script alone, which then stops
 * each replica gracefully.
 */
export async function startReplica(options: ReplicaOptions): Promise<ReplicaProcess> {
  const args = [builtServerMain(), "--host", "127.0.0.1", "--port", String(options.port)];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  options.onSpawn?.(child);
  const exited = once(child, "exit").then(([code, signal]) => (code ?? signal) as number | NodeJS.Signals);
  const onLine = options.onLine ?? (() => {});
  createInterface({ input: child.stdout }).on("line", onLine);
  createInterface({ input: child.stderr }).on("line", onLine);
  const url = `http://127.0.0.1:${options.port}`;
  const replica: ReplicaProcess = {
    name: options.name,
    port: options.port,
    url,
    child,
    exited,
    stop: (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  let gone: number | NodeJS.Signals | undefined;
  exited.then((end) => {
    gone = end;
  });
  for (const started = Date.now(); !(await isServing(url)); await sleep(50)) {
    if (gone !== undefined) throw new Error(`replica ${options.name} exited (${gone}) before serving`);
    if (Date.now() - started > 30_000) {
      await replica.stop("SIGKILL");
      throw new Error(`replica ${options.name} did not serve within 30 s`);
    }
  }
  return replica;
}

async function isServing(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) })).ok;
  } catch {
    return false;
  }
}
