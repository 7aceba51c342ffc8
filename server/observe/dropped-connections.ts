import type { EventEmitter } from "node:events";

/** The least of a logger this needs; pino's (Fastify's) fits. */
export interface WarnLogger {
  warn(fields: object, message: string): void;
}

/**
 * Logs the connections a server closes on accepting them because it has
 * `maxConnections` open (net.Server's "drop" event): the first at once, then
 * at most one line per `everyMs` with how many were closed since the last
 * line. A flood of connections must not become a flood of log lines.
 */
export function logDroppedConnections(
  server: EventEmitter,
  log: WarnLogger,
  options: { readonly maxConnections: number; readonly everyMs: number },
): void {
  let dropped = 0;
  let quiet: NodeJS.Timeout | undefined;
  const report = () => {
    if (dropped === 0) {
      quiet = undefined;
      return;
    }
    log.warn(
      { dropped, maxConnections: options.maxConnections },
      "at the connection limit (MAX_CONNECTIONS): new connections are closed at once",
    );
    dropped = 0;
    quiet = setTimeout(report, options.everyMs).unref();
  };
  server.on("drop", () => {
    dropped++;
    if (quiet === undefined) report();
  });
}
