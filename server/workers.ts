import cluster, { type Worker } from "node:cluster";
import { writeStderrLine } from "./stderr-line.js";

export interface Workers {
  /** True while a worker listens and shutdown has not begun: what the primary's /healthz answers. */
  readonly serving: boolean;
  /** Resolves once every worker has exited after a stop: 0 if all exited with 0, else 1. */
  readonly stopped: Promise<number>;
}

/**
 * Runs `count` copies of this program as cluster workers sharing its port
 * (the primary accepts connections and hands them out in turn). On SIGTERM or
 * SIGINT it passes the signal to every worker, which turns NOT_SERVING at once
 * and shuts down gracefully on its own, as a single process does. A worker
 * that dies while serving is replaced; one that dies before it ever listened
 * is not (it would only die again), and the primary stops.
 */
export function runWorkers(count: number): Workers {
  let stopping = false;
  let failed = false;
  const listened = new WeakSet<Worker>();
  const listening = new Set<Worker>();
  // Counted here rather than read from cluster.workers: Node leaves a worker
  // there until its IPC channel closes too, which may come after "exit", and
  // then the last exit would find it still listed and the stop never end.
  const alive = new Set<Worker>();
  let stopped: (code: number) => void = () => {};
  const fork = () => {
    const worker = cluster.fork();
    alive.add(worker);
    worker.once("listening", () => {
      listened.add(worker);
      listening.add(worker);
    });
  };

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const worker of alive) worker.process.kill(signal);
  };
  cluster.on("exit", (worker, code, signal) => {
    alive.delete(worker);
    listening.delete(worker);
    // One still starting when the stop began may have no handlers yet (main.ts
    // registers them in the turn its listen starts) and die of the signal
    // passed on: it served nothing, so nothing was lost.
    const stoppedWhileStarting = stopping && signal !== null && !listened.has(worker);
    if (code !== 0 && !stoppedWhileStarting) failed = true;
    if (!stopping) {
      // The replacement first: the message may wait for a stderr reader that lags.
      const replaced = listened.has(worker);
      if (replaced) fork();
      else stop("SIGTERM");
      writeStderrLine(`simpletest: worker ${worker.process.pid} exited (${signal ?? code})`);
      if (replaced) return;
    }
    if (alive.size === 0) stopped(failed ? 1 : 0);
  });
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  for (let i = 0; i < count; i++) fork();
  return {
    get serving() {
      return !stopping && listening.size > 0;
    },
    stopped: new Promise((resolve) => {
      stopped = resolve;
    }),
  };
}
