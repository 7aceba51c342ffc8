import { execFile } from "node:child_process";
import { type H2loadRun, type LoadResult, runH2load, warmUpSeconds } from "./h2load.js";
import type { Workload } from "./workloads.js";

export interface LoadShape {
  /** The server's base URL. */
  readonly url: string;
  /** Connections and streams per connection, where the workload does not set its own (h2load only). */
  readonly connections: number;
  readonly streams: number;
  readonly seconds: number;
  /** The core the load runs on. */
  readonly cpu: number;
  /** The server's process, whose CPU time over the measured window the result gives. */
  readonly serverPid: number;
  /** Send the server SIGUSR2 as the measured window opens and as it closes. */
  readonly signalWindow?: boolean;
  /** Calls per second each connection sends (h2load only); as fast as the server answers unless said. */
  readonly ratePerConnection?: number;
}

/** An h2load workload's run in a load shape: its own connections and streams where it sets them. */
export function h2loadRunOf(workload: Workload, shape: LoadShape): H2loadRun {
  return {
    url: shape.url + workload.path,
    body: workload.body,
    headers: workload.headers,
    http1: workload.http1,
    connections: workload.connections ?? shape.connections,
    streams: workload.streams ?? shape.streams,
    seconds: shape.seconds,
    cpu: shape.cpu,
    serverPid: shape.serverPid,
    signalWindow: shape.signalWindow,
    ratePerConnection: shape.ratePerConnection,
  };
}

/** Puts one workload's load on a server with its driver: h2load, or the long-lived bidi driver. */
export function runLoad(workload: Workload, shape: LoadShape): Promise<LoadResult> {
  if (workload.driver === "h2load") return runH2load(h2loadRunOf(workload, shape));
  return new Promise((resolve, reject) =>
    execFile(
      "taskset",
      [
        "-c",
        String(shape.cpu),
        process.execPath,
        "--import",
        "tsx",
        "bench/bidi-load.ts",
        "--url",
        shape.url,
        "--seconds",
        String(shape.seconds),
        "--server-pid",
        String(shape.serverPid),
        ...(shape.signalWindow ? ["--signal-window"] : []),
      ],
      { timeout: (shape.seconds + 30) * 1000 },
      (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout))),
    ),
  );
}

/** Whether a workload's driver can send at a set rate (h2load's `--rps`); the long-lived bidi driver sends as fast as it can. */
export function takesRate(workload: Workload): boolean {
  return workload.driver === "h2load";
}

/** The calls a second a paced load offers in all (each connection's rate × its connections); undefined when unpaced. */
export function offeredRate(workload: Workload, shape: LoadShape): number | undefined {
  const { ratePerConnection, connections } = h2loadRunOf(workload, shape);
  return ratePerConnection === undefined ? undefined : ratePerConnection * connections;
}

/** Whether a server answered a paced load well short of what it offered: it then ran at its saturation, not at that load. */
export function fellShort(result: LoadResult, offered: number | undefined): boolean {
  return offered !== undefined && result.rps < 0.95 * offered;
}

/** About the calls a whole load served, its warm-up too: the measured window's rate over its whole length. */
export function wholeLoadCalls(result: LoadResult, seconds: number): number {
  return result.rps * (seconds + warmUpSeconds);
}
