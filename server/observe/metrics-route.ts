import type { FastifyPluginAsync } from "fastify";
import type { MetricsSource } from "./cluster-metrics.js";

/** `GET /metrics` in the Prometheus text format. */
export const metricsRoute: FastifyPluginAsync<{ registry: MetricsSource }> = async (app, { registry }) => {
  app.get("/metrics", async (_request, reply) => {
    reply.header("cache-control", "no-store").type(registry.contentType);
    return registry.metrics();
  });
};
