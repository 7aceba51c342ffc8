import cluster from "node:cluster";
import { setTimeout as sleep } from "node:timers/promises";
import { buildAdminApp, listenAdmin } from "./admin-app.js";
import { buildApp } from "./app.js";
import { closeApp } from "./close-app.js";
import { ConfigError, loadConfig } from "./config.js";
import { trimMemoryAtRest, trimMemoryAtStart } from "./memory-at-rest.js";
import { holdNextTickShape } from "./next-tick-shape.js";
import { writeStderrLine } from "./stderr-line.js";
import { runWorkers, type Workers } from "./workers.js";

holdNextTickShape();

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env, process.argv.slice(2));
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  writeStderrLine(`simpletest: bad configuration: ${e.message}`);
  process.exit(2);
}

if (config.workers > 1 && cluster.isPrimary) {
  // The workers run this same file and serve; this process starts and stops
  // them, sums their metrics (METRICS on), and serves the admin port if there is one.
  let workers: Workers | undefined;
  const metrics = config.metrics ? (await import("./observe/cluster-metrics.js")).aggregateWorkerMetrics() : undefined;
  const admin =
    config.admin &&
    (await buildAdminApp({
      logLevel: config.logLevel,
      metrics,
      isServing: () => workers?.serving ?? false,
    }));
  // Before any worker starts, so that a port in use stops the server at once.
  if (admin && config.admin) await listenAdmin(admin, config.admin);
  workers = runWorkers(config.workers);
  const code = await workers.stopped;
  await admin?.close();
  process.exit(code);
}

const { fastify, front, health, admin, tracing } = await buildApp(config);
const heapAfterStart = config.idleTrimMs > 0 ? trimMemoryAtStart(fastify.log) : undefined;
// The signal handlers go on in the turn that starts this listen (below): the
// primary of WORKERS passes its signal on to every worker it has seen listen,
// and one without its handler would die of it.
const started = (async () => {
  await fastify.listen({ host: config.host, port: config.port });
  if (admin && config.admin) await listenAdmin(admin, config.admin);
  return config.idleTrimMs > 0 ? trimMemoryAtRest(config.idleTrimMs, fastify.log, heapAfterStart) : undefined;
})();

let stopping = false;
const stop = async (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  // A signal that comes while the ports open stops the server once they are open.
  const trim = await started;
  trim?.stop();
  fastify.log.info({ signal, delayMs: config.shutdownDelayMs, graceMs: config.shutdownGraceMs }, "shutting down");
  // A load balancer polls health: keep taking calls until it has seen
  // NOT_SERVING, rather than refuse the ones it sends meanwhile.
  health.shutdown();
  await sleep(config.shutdownDelayMs);
  await closeApp({ fastify, front }, config.shutdownGraceMs);
  // Once every call has ended, so that the last spans go out too.
  await tracing?.shutdown();
  // Last, so that scrapes and probes see the drain to its end.
  await admin?.close();
  fastify.log.info("stopped");
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
await started;
