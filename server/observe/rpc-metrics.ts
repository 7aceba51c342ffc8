import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The labels every RPC series carries, named as go-grpc-prometheus names them. */
export interface RpcLabels {
  readonly grpc_type: "unary" | "client_stream" | "server_stream" | "bidi_stream";
  readonly grpc_service: string;
  readonly grpc_method: string;
  readonly protocol: "connect" | "grpc" | "grpc_web";
}

/** One call's instruments, bound to its labels once so each event is a cheap increment. */
export interface CallMetrics {
  received(): void;
  sent(): void;
  /** Records the outcome; `code` is a gRPC code name such as OK or InvalidArgument. */
  handled(code: string, seconds: number): void;
}

export type RpcMetrics = (labels: RpcLabels) => CallMetrics;

/** Registers the RPC series in `registry` and returns what starts a call's instruments. */
export function createRpcMetrics(registry: Registry): RpcMetrics {
  const labelNames = ["grpc_type", "grpc_service", "grpc_method", "protocol"] as const;
  const registers = [registry];
  const started = new Counter({
    name: "grpc_server_started_total",
    help: "RPCs started on the server.",
    labelNames,
    registers,
  });
  const handled = new Counter({
    name: "grpc_server_handled_total",
    help: "RPCs completed on the server, whatever their status.",
    labelNames: [...labelNames, "grpc_code"],
    registers,
  });
  const received = new Counter({
    name: "grpc_server_msg_received_total",
    help: "Messages received from clients.",
    labelNames,
    registers,
  });
  const sent = new Counter({
    name: "grpc_server_msg_sent_total",
    help: "Messages sent to clients.",
    labelNames,
    registers,
  });
  const seconds = new Histogram({
    name: "grpc_server_handling_seconds",
    help: "Time from the start of an RPC to its status, in seconds.",
    labelNames,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers,
  });
  const inFlight = new Gauge({
    name: "grpc_server_in_flight",
    help: "RPCs started and not yet completed.",
    labelNames,
    registers,
  });

  return (labels) => {
    started.inc(labels);
    inFlight.inc(labels);
    const receivedOne = received.labels(labels);
    const sentOne = sent.labels(labels);
    return {
      received: () => receivedOne.inc(),
      sent: () => sentOne.inc(),
      handled(code, elapsed) {
        inFlight.dec(labels);
        handled.inc({ ...labels, grpc_code: code });
        seconds.observe(labels, elapsed);
      },
    };
  };
}
