import type { FastifyPluginAsync } from "fastify";
import type { Registry } from "prom-client";

/** `GET /metrics` in the Prometheus text format. */
export const metricsRoute: FastifyPluginAsync<{ registry: Registry }> = async (app, { registry }) => {
  app.get("/metrics", async (_request, reply) => {
    reply.header("cache-control", "no-store").type(registry.contentType);
    return registry.metrics();
  });
};
