import { readFileSync } from "node:fs";

/** deploy/haproxy.cfg.template: the configuration this project ships, with placeholders. */
export const haproxyTemplatePath = new URL("../../deploy/haproxy.cfg.template", import.meta.url);

/** Failed checks in a row before HAProxy takes a replica out (the template's `fall`). */
export const healthCheckFall = 2;

export interface Replica {
  /** The server's name in HAProxy's logs and stats, e.g. `r1`. */
  readonly name: string;
  /** host:port of the replica, e.g. `127.0.0.1:41234`. */
  readonly address: string;
}

export interface HaproxyConfigOptions {
  /** Where the balancer listens, host:port. */
  readonly bind: string;
  readonly replicas: readonly Replica[];
  /** Time between health checks of each replica. */
  readonly checkIntervalMs: number;
  /** Path of the admin socket, for `show stat` and the like. */
  readonly statsSocket: string;
}

/**
 * How long a replica should keep taking calls after it starts failing its
 * health check (its SHUTDOWN_DELAY_MS): HAProxy needs `fall` failed checks, one
 * interval apart, and a check may have just passed.
 */
export function shutdownDelayFor(checkIntervalMs: number): number {
  return checkIntervalMs * (healthCheckFall + 1);
}

/** Fills the template in; throws if a placeholder is left or a value could break the file. */
export function renderHaproxyConfig(
  options: HaproxyConfigOptions,
  template = readFileSync(haproxyTemplatePath, "utf8"),
) {
  for (const value of [options.bind, options.statsSocket, ...options.replicas.flatMap((r) => [r.name, r.address])]) {
    if (!/^[\w.:/[\]-]+$/.test(value)) throw new Error(`not a safe HAProxy config value: "${value}"`);
  }
  const values: Record<string, string> = {
    bind: options.bind,
    check_interval_ms: String(options.checkIntervalMs),
    check_fall: String(healthCheckFall),
    stats_socket: options.statsSocket,
    servers: options.replicas.map((r) => `  server ${r.name} ${r.address}`).join("\n"),
  };
  const rendered = template.replace(/\{\{(\w+)\}\}/g, (placeholder, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`unknown placeholder ${placeholder} in the HAProxy template`);
    return value;
  });
  return rendered;
}
