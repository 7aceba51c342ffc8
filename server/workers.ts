import cluster, { type Worker } from "node:cluster";

/**
 * Runs `count` copies of this program as cluster workers sharing its port
 * (the primary accepts connections and hands them out in turn), and never
 * returns: on SIGTERM or SIGINT it passes the signal to every worker, which
 * shuts down gracefully on its own, and exits once all have, with 0 if all
 * did. A worker that dies while serving is replaced; one that dies before it
 * ever listened is not (it would only die again), and the primary stops.
 */
export function runWorkers(count: number): Promise<never> {
  let stopping = false;
  let failed = false;
  const listened = new WeakSet<Worker>();
  const fork = () =>
    cluster.fork().once("listening", function (this: Worker) {
      listened.add(this);
    });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  cluster.on("exit", (worker, code, signal) => {
    if (code !== 0) failed = true;
    if (!stopping) {
      process.stderr.write(`simpletest: worker ${worker.process.pid} exited (${signal ?? code})\n`);
      if (listened.has(worker)) {
        fork();
        return;
      }
      stop("SIGTERM");
    }
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failed ? 1 : 0);
  });
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  for (let i = 0; i < count; i++) fork();
  return new Promise<never>(() => {});
}
