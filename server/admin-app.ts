import { type FastifyInstance, fastify, LogController } from "fastify";
import type { LogLevel } from "./config.js";
import { healthz } from "./healthz.js";
import { lazySchemaController } from "./lazy-schema-compilers.js";
import type { MetricsSource } from "./observe/cluster-metrics.js";
import { type LogDestination, stdoutLogDestination } from "./observe/log-destination.js";
import { metricsRoute } from "./observe/metrics-route.js";

export interface AdminAppOptions {
  readonly logLevel: LogLevel;
  /** The server's metrics; undefined when METRICS=off. */
  readonly metrics: MetricsSource | undefined;
  /** Whether the server takes calls; false from the moment shutdown begins. */
  readonly isServing: () => boolean;
  /** Where its log lines go instead of stdout (buildApp's `logStream`). */
  readonly logStream?: LogDestination;
}

/**
 * The operational endpoints on a port of their own (ADMIN_PORT): `/metrics`
 * and `/healthz`, plain HTTP/1.1, for scrapers and probes that should not
 * share the public port. Nothing listens yet.
 */
export async function buildAdminApp(options: AdminAppOptions): Promise<FastifyInstance> {
  const app = fastify({
    logger: { level: options.logLevel, stream: options.logStream ?? stdoutLogDestination() },
    logController: new LogController({ disableRequestLogging: true }),
    schemaController: lazySchemaController(),
  });
  await app.register(healthz, { isServing: options.isServing });
  if (options.metrics !== undefined) await app.register(metricsRoute, { registry: options.metrics });
  await app.ready();
  return app;
}

/** Listens on the admin address, logging it in words that tell it from the public port. */
export async function listenAdmin(app: FastifyInstance, address: { host: string; port: number }): Promise<void> {
  await app.listen({ ...address, listenTextResolver: (url) => `admin endpoints (/metrics, /healthz) at ${url}` });
}
