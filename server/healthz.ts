import type { FastifyPluginAsync } from "fastify";

export interface HealthzOptions {
  /** Whether the server takes calls; false from the moment shutdown begins. */
  readonly isServing: () => boolean;
}

/**
 * `GET /healthz` for load balancers that speak plain HTTP rather than
 * grpc.health.v1: 200 while serving, 503 otherwise.
 */
export const healthz: FastifyPluginAsync<HealthzOptions> = async (app, { isServing }) => {
  app.get("/healthz", (_request, reply) => {
    const serving = isServing();
    return reply
      .code(serving ? 200 : 503)
      .header("cache-control", "no-store")
      .type("text/plain; charset=utf-8")
      .send(serving ? "SERVING\n" : "NOT_SERVING\n");
  });
};
