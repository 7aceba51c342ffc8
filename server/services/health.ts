import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { type Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";

/**
 * The serving status of the server (the service name "") and of the services
 * it names. They share one status: they start and stop together.
 */
export interface HealthStatus {
  /** The status of `service`, or undefined for a service this server does not have. */
  get(service: string): ServingStatus | undefined;
  /** Sets the status of the server and its services; ignored once shut down. */
  set(status: ServingStatus): void;
  /** NOT_SERVING for good: every Watch ends once it has told its caller. */
  shutdown(): void;
  /** True once shut down: the status will not change again. */
  readonly isShutDown: boolean;
  /** Resolves at the next change, or rejects with the signal's reason when it aborts. */
  nextChange(signal: AbortSignal): Promise<void>;
}

/** A HealthStatus that starts NOT_SERVING. */
export function createHealthStatus(services: readonly string[]): HealthStatus {
  const known = new Set(["", ...services]);
  const waiting = new Set<() => void>();
  let current = ServingStatus.NOT_SERVING;
  let isShutDown = false;
  const changed = () => {
    for (const wake of [...waiting]) wake();
  };
  return {
    get: (service) => (known.has(service) ? current : undefined),
    set(status) {
      if (isShutDown || status === current) return;
      current = status;
      changed();
    },
    shutdown() {
      if (isShutDown) return;
      isShutDown = true;
      current = ServingStatus.NOT_SERVING;
      changed();
    },
    get isShutDown() {
      return isShutDown;
    },
    nextChange: (signal) =>
      new Promise((resolve, reject) => {
        if (signal.aborted) {
          reject(signal.reason);
          return;
        }
        const settle = (outcome: () => void) => {
          waiting.delete(onChange);
          signal.removeEventListener("abort", onAbort);
          outcome();
        };
        const onChange = () => settle(resolve);
        const onAbort = () => settle(() => reject(signal.reason));
        waiting.add(onChange);
        signal.addEventListener("abort", onAbort, { once: true });
      }),
  };
}

export interface HealthServiceOptions {
  /**
   * Watch streams open at once. Each stays open until its client goes (it has
   * no deadline) and holds ~45 KB: without a bound, a client opening
   * thousands holds the server's memory (5,000 held 225 MB).
   */
  readonly maxWatchStreams: number;
}

/** grpc.health.v1.Health over a HealthStatus. */
export function createHealthService(status: HealthStatus, options: HealthServiceOptions): ServiceImpl<typeof Health> {
  let watching = 0;
  return {
    check(request) {
      const serving = status.get(request.service);
      if (serving === undefined) {
        throw new ConnectError(`unknown service "${request.service}"`, Code.NotFound);
      }
      return { status: serving };
    },

    // The current status, then each change. An unknown service is
    // SERVICE_UNKNOWN but keeps the call open, as the protocol asks.
    async *watch(request, context) {
      if (watching >= options.maxWatchStreams) {
        throw new ConnectError(
          `too many Watch streams open (${options.maxWatchStreams}); use Check, or try again later`,
          Code.ResourceExhausted,
        );
      }
      watching++;
      try {
        let sent: ServingStatus | undefined;
        for (;;) {
          const now = status.get(request.service) ?? ServingStatus.SERVICE_UNKNOWN;
          if (now !== sent) {
            sent = now;
            yield { status: now };
          } else if (status.isShutDown) {
            return;
          } else {
            await status.nextChange(context.signal);
          }
        }
      } finally {
        watching--;
      }
    },
  };
}
