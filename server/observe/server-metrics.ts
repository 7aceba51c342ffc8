import cluster from "node:cluster";
import { Gauge, Registry } from "prom-client";
import { collectProcessMetrics, type MetricsSource, workerMetrics } from "./cluster-metrics.js";
import { createRpcMetrics, type RpcMetrics } from "./rpc-metrics.js";

export interface ServerMetrics {
  /** What `/metrics` serves. */
  readonly source: MetricsSource;
  /** What the RPC observer counts each call with. */
  readonly rpcs: RpcMetrics;
}

/**
 * Everything `/metrics` shows: Node's process metrics, the RPC series and the
 * request bytes held. app.ts imports this module only when METRICS is on, so
 * that off, prom-client is never loaded and no call is counted.
 */
export function createServerMetrics(requestBytesHeld: () => number): ServerMetrics {
  // One registry per app, so that tests may build several side by side.
  const registry = new Registry();
  collectProcessMetrics(registry);
  const rpcs = createRpcMetrics(registry);
  new Gauge({
    name: "simpletest_request_bytes_held",
    help: "Request body bytes read and not yet handed to a handler (bounded by REQUEST_BUFFER_BYTES).",
    registers: [registry],
    collect() {
      this.set(requestBytesHeld());
    },
  });
  // A cluster worker's scrape asks the primary, which sums every worker's figures.
  return { source: cluster.isWorker ? workerMetrics(registry) : registry, rpcs };
}
