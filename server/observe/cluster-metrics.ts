import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry, collectDefaultMetrics, Registry } from "prom-client";

/** What `/metrics` serves: a prom-client Registry is one. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

type MetricsJson = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

/** The IPC messages between the primary and its workers, told apart from Node's and prom-client's by `simpletest`. */
type Message =
  | { simpletest: "collect"; id: number }
  | { simpletest: "collected"; id: number; metrics: MetricsJson }
  | { simpletest: "scrape"; id: number }
  | { simpletest: "scraped"; id: number; text?: string; error?: string };

const isMessage = (message: unknown): message is Message =>
  typeof message === "object" && message !== null && "simpletest" in message;

/** How long the primary waits for a worker's figures before it uses the last ones that worker sent. */
const collectTimeoutMs = 2_000;

/**
 * Node's process metrics into `registry`. In a cluster each series is
 * labelled `worker` (the cluster's worker id, or "primary"): memory, CPU or
 * event-loop lag mean nothing summed over processes. Each labelled series has
 * one source, so every one of them aggregates as "first": prom-client would
 * otherwise omit `process_start_time_seconds`, and average or take the
 * extremes of the others.
 */
export function collectProcessMetrics(registry: Registry, worker = cluster.worker?.id.toString()): void {
  if (worker === undefined) {
    collectDefaultMetrics({ register: registry });
    return;
  }
  const own = new Set(registry.getMetricsAsArray());
  collectDefaultMetrics({ register: registry, labels: { worker } });
  for (const metric of registry.getMetricsAsArray()) if (!own.has(metric)) metric.aggregator = "first";
}

/**
 * In a cluster worker: answers the primary's requests for this worker's
 * figures, and returns a source of the whole server's metrics, which asks the
 * primary for them, so that a scrape counts every worker's calls whichever
 * worker accepts it.
 */
export function workerMetrics(registry: Registry): MetricsSource {
  const scrapes = new Map<number, (answer: Extract<Message, { simpletest: "scraped" }>) => void>();
  let nextId = 0;
  const send = (message: Message) => {
    if (process.connected) process.send?.(message);
  };
  process.on("message", (message) => {
    if (!isMessage(message)) return;
    if (message.simpletest === "collect") {
      // Unanswered, the primary uses the figures this worker sent last.
      registry.getMetricsAsJSON().then(
        (metrics) => send({ simpletest: "collected", id: message.id, metrics }),
        () => {},
      );
    } else if (message.simpletest === "scraped") {
      scrapes.get(message.id)?.(message);
    }
  });
  return {
    contentType: registry.contentType,
    metrics: () =>
      new Promise((resolve, reject) => {
        if (!process.connected) {
          reject(new Error("the primary process is gone"));
          return;
        }
        const id = nextId++;
        const timer = setTimeout(() => settle({ error: "the primary did not answer" }), 2 * collectTimeoutMs);
        const settle = (answer: { text?: string; error?: string }) => {
          clearTimeout(timer);
          scrapes.delete(id);
          if (answer.text === undefined) reject(new Error(answer.error));
          else resolve(answer.text);
        };
        scrapes.set(id, settle);
        send({ simpletest: "scrape", id });
      }),
  };
}

/**
 * In the primary: the whole server's metrics, from every worker's figures
 * summed (or not) as each metric's `aggregator` says, with prom-client's own
 * cluster aggregation (AggregatorRegistry.aggregate), and the primary's own
 * process metrics. Workers' scrapes are answered with it too.
 *
 * prom-client's `clusterMetrics()` does the asking and summing in one go and
 * returns text; this keeps each worker's last figures instead, so that the
 * counters and histograms of a worker that dies stay in the sum (its
 * replacement starts from zero): the server's counters never fall, which
 * Prometheus's `rate()` would read as a reset and count the whole sum again.
 * Calls the dead worker served after the last collection are lost, as they
 * would be when a single process dies.
 */
export function aggregateWorkerMetrics(): MetricsSource {
  const listening = new Set<Worker>();
  const latest = new Map<Worker, MetricsJson>();
  let retired: MetricsJson = [];
  const waiting = new Map<Worker, Map<number, () => void>>();
  let nextId = 0;
  const primary = new Registry();
  collectProcessMetrics(primary, "primary");

  // A worker whose channel just closed would make send() emit an error that nobody handles.
  const send = (worker: Worker, message: Message) => {
    if (worker.isConnected()) worker.send(message);
  };
  cluster.on("listening", (worker) => listening.add(worker));
  cluster.on("message", (worker, message: unknown) => {
    if (!isMessage(message) || !listening.has(worker)) return;
    if (message.simpletest === "collected") {
      latest.set(worker, message.metrics);
      waiting.get(worker)?.get(message.id)?.();
    } else if (message.simpletest === "scrape") {
      source.metrics().then(
        (text) => send(worker, { simpletest: "scraped", id: message.id, text }),
        (e: unknown) => send(worker, { simpletest: "scraped", id: message.id, error: String(e) }),
      );
    }
  });
  cluster.on("exit", (worker) => {
    listening.delete(worker);
    const last = latest.get(worker);
    latest.delete(worker);
    if (last !== undefined) retired = sum([retired, cumulative(last)]);
    for (const answered of waiting.get(worker)?.values() ?? []) answered();
  });

  /** Resolves when `worker` has sent fresh figures, has exited, or has taken too long. */
  const collect = (worker: Worker) =>
    new Promise<void>((resolve) => {
      const id = nextId++;
      let forWorker = waiting.get(worker);
      if (forWorker === undefined) {
        forWorker = new Map();
        waiting.set(worker, forWorker);
      }
      const timer = setTimeout(() => answered(), collectTimeoutMs);
      const answered = () => {
        clearTimeout(timer);
        forWorker.delete(id);
        if (forWorker.size === 0) waiting.delete(worker);
        resolve();
      };
      forWorker.set(id, answered);
      send(worker, { simpletest: "collect", id });
    });

  const source: MetricsSource = {
    contentType: AggregatorRegistry.PROMETHEUS_CONTENT_TYPE,
    async metrics() {
      await Promise.all([...listening].filter((worker) => worker.isConnected()).map(collect));
      const own = await primary.getMetricsAsJSON();
      return AggregatorRegistry.aggregate([own, ...latest.values(), retired]).metrics();
    },
  };
  return source;
}

/** The series that only grow (counters, histograms), without any worker's own ones. */
function cumulative(metrics: MetricsJson): MetricsJson {
  return metrics
    .filter((metric) => String(metric.type) === "counter" || String(metric.type) === "histogram")
    .map((metric) => ({ ...metric, values: metric.values.filter((value) => !("worker" in value.labels)) }))
    .filter((metric) => metric.values.length > 0);
}

/** The sum of several workers' figures, in the shape a worker sends. */
function sum(parts: MetricsJson[]): MetricsJson {
  return AggregatorRegistry.aggregate(parts).getMetricsAsArray() as unknown as MetricsJson;
}
