import type { ChildProcess } from "node:child_process";
import { spawnServer } from "../../testkit/server-process.js";

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
 * Starts the built server (as `npm start` runs it) on 127.0.0.1:`port` and
 * resolves once it listens. The replica is its own process group, so that a
 * Ctrl-C in the terminal reaches the cluster script alone, which then stops
 * each replica gracefully.
 */
export async function startReplica(options: ReplicaOptions): Promise<ReplicaProcess> {
  const server = await spawnServer({
    port: options.port,
    env: options.env,
    logs: "pass",
    onLine: options.onLine,
    onSpawn: options.onSpawn,
    detached: true,
  }).catch((e: unknown) => {
    throw new Error(`replica ${options.name} did not serve: ${e instanceof Error ? e.message : e}`);
  });
  const { child } = server;
  const exited = server.exited.then((code) => code ?? (child.signalCode as NodeJS.Signals));
  return {
    name: options.name,
    port: server.port,
    url: server.url,
    child,
    exited,
    stop: (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
