import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  readonly logLevel: LogLevel;
  /** Largest message accepted or sent, in bytes, after decompression. */
  readonly maxMessageBytes: number;
  /** Longest a call may run: a call with no deadline, or a longer one (however long), gets this one. */
  readonly maxTimeoutMs: number;
  /** How long in-flight calls may run on after shutdown begins before they are cancelled. */
  readonly shutdownGraceMs: number;
  /**
   * How long the server keeps taking new calls after it reports NOT_SERVING on
   * SIGTERM, so that load balancers see the health check fail before the port closes.
   */
  readonly shutdownDelayMs: number;
  /**
   * Connections open at once, in this process; past it new ones are closed as
   * soon as they are accepted, so that a flood of them cannot use up the
   * process's file descriptors and lock every client out.
   */
  readonly maxConnections: number;
  /**
   * How long the event loop must rest before the server gives memory back
   * (server/memory-at-rest.ts), which it also does once before it listens; 0: neither.
   */
  readonly idleTrimMs: number;
  readonly http1: {
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
    readonly maxHeaderBytes: number;
  };
  readonly http2: {
    readonly maxConcurrentStreams: number;
    readonly maxHeaderListBytes: number;
    readonly idleTimeoutMs: number;
    /** How often the server pings each HTTP/2 connection; 0 never. */
    readonly keepAliveIntervalMs: number;
    /** How long a ping may go unanswered before its connection is closed. */
    readonly keepAliveTimeoutMs: number;
    /** Streams a connection may reset at once, and per second after that, before it is closed (rapid reset). */
    readonly resets: { readonly burst: number; readonly perSecond: number };
    /** Keep each connection's streams in a `StreamTable` rather than node:http2's own `Map` (listen/stream-table.ts). */
    readonly streamTable: boolean;
  };
  /** Bounds on request bytes read and not yet handled, and on the time they take to arrive. */
  readonly requestBodies: {
    readonly perConnectionBytes: number;
    readonly perServerBytes: number;
    /** How long a unary request's body, or one message of a streaming request, may take to arrive. */
    readonly timeoutMs: number;
  };
  /** grpc.health.v1.Health/Watch streams open at once; past it, resource_exhausted. */
  readonly maxWatchStreams: number;
  /** Pause between GetList messages, to watch a stream arrive; 0 answers at once. */
  readonly getListIntervalMs: number;
  /** Serve gRPC server reflection (v1 and v1alpha), so grpcurl and buf curl need no proto files. */
  readonly reflection: boolean;
  /** Serve Prometheus metrics at GET /metrics. */
  readonly metrics: boolean;
  /** Where /metrics and /healthz are served apart from the public port (ADMIN_PORT); unset: on the public port. */
  readonly admin?: { readonly host: string; readonly port: number };
  /**
   * Serve the hot calls on the fast lane (server/fast-lane/): every kind of call over gRPC (binary,
   * HTTP/2), unary and server-streaming calls over gRPC-Web (binary), unary calls over Connect
   * (binary or JSON, POST), with uncompressed requests. It hands everything else to connect-es;
   * off, every call goes there.
   */
  readonly fastPath: boolean;
  /** Server processes sharing the port (node:cluster); 1 serves from this process. */
  readonly workers: number;
  /** Origins whose pages may call the service cross-origin, e.g. `http://localhost:5173`; none by default. */
  readonly corsOrigins: readonly string[];
  /** Origins the page at `/` may call besides its own (its `?api=` targets): its CSP's connect-src. */
  readonly pageApiOrigins: readonly string[];
  /**
   * OpenTelemetry tracing, from the standard `OTEL_*` variables; undefined (off) unless
   * OTEL_TRACES_EXPORTER names an exporter. Off, the SDK is not even loaded.
   */
  readonly tracing?: TracingConfig;
}

export interface TracingConfig {
  /** OTEL_TRACES_EXPORTER: where spans go. */
  readonly exporters: readonly ("otlp" | "console")[];
  /** OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL: how OTLP spans travel. */
  readonly otlpProtocol: "http/protobuf" | "http/json";
  /** OTEL_TRACES_SAMPLER and, for the ratio samplers, OTEL_TRACES_SAMPLER_ARG. */
  readonly sampler: { readonly name: SamplerName; readonly ratio: number };
}

export type SamplerName = (typeof samplerNames)[number];
const samplerNames = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Readonly<Record<string, string | undefined>>;

const logLevels: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/**
 * Reads the configuration from the environment and the command line (flags
 * win), validates every value, and returns it frozen. A bad value throws a
 * ConfigError whose message is one line naming the setting.
 */
export function loadConfig(env: Env, argv: readonly string[] = []): Config {
  const flags = parseFlags(argv);
  const read = (name: string) => env[name]?.trim() || undefined;
  const int = (name: string, fallback: number, min: number, max: number) =>
    parseInteger(name, read(name), fallback, min, max);

  const certPath = read("TLS_CERT");
  const keyPath = read("TLS_KEY");
  if ((certPath === undefined) !== (keyPath === undefined)) {
    throw new ConfigError("TLS_CERT and TLS_KEY must be set together (or neither)");
  }

  const logLevel = read("LOG_LEVEL") ?? "info";
  if (!(logLevels as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${logLevels.join(", ")}, got "${logLevel}"`);
  }

  const config: Config = {
    host: flags.host ?? read("HOST") ?? "127.0.0.1",
    port: parseInteger(flags.port === undefined ? "PORT" : "--port", flags.port ?? read("PORT"), 8080, 0, 65535),
    tls: certPath && keyPath ? { cert: readPem("TLS_CERT", certPath), key: readPem("TLS_KEY", keyPath) } : undefined,
    logLevel: logLevel as LogLevel,
    maxMessageBytes: int("MAX_MESSAGE_BYTES", 4 * 1024 * 1024, 1, 2 ** 31 - 1),
    maxTimeoutMs: int("MAX_TIMEOUT_MS", 300_000, 1, 2 ** 31 - 1),
    shutdownGraceMs: int("SHUTDOWN_GRACE_MS", 10_000, 0, 3_600_000),
    shutdownDelayMs: int("SHUTDOWN_DELAY_MS", 0, 0, 600_000),
    maxConnections: int("MAX_CONNECTIONS", 10_000, 1, 1_000_000),
    idleTrimMs: parseIdleTrim(int),
    http1: {
      headersTimeoutMs: int("HTTP1_HEADERS_TIMEOUT_MS", 10_000, 1, 600_000),
      requestTimeoutMs: int("HTTP1_REQUEST_TIMEOUT_MS", 300_000, 0, 2 ** 31 - 1),
      keepAliveTimeoutMs: int("HTTP1_KEEPALIVE_TIMEOUT_MS", 5_000, 1, 600_000),
      maxHeaderBytes: int("MAX_HEADER_BYTES", 16 * 1024, 1024, 1024 * 1024),
    },
    http2: {
      maxConcurrentStreams: int("HTTP2_MAX_CONCURRENT_STREAMS", 100, 1, 2 ** 31 - 1),
      maxHeaderListBytes: int("MAX_HEADER_BYTES", 16 * 1024, 1024, 1024 * 1024),
      idleTimeoutMs: int("HTTP2_IDLE_TIMEOUT_MS", 60_000, 1, 2 ** 31 - 1),
      keepAliveIntervalMs: int("HTTP2_KEEPALIVE_MS", 30_000, 0, 2 ** 31 - 1),
      keepAliveTimeoutMs: int("HTTP2_KEEPALIVE_TIMEOUT_MS", 20_000, 1, 2 ** 31 - 1),
      resets: {
        burst: int("HTTP2_RESET_BURST", 200, 1, 1_000_000),
        perSecond: int("HTTP2_RESET_RATE", 50, 1, 1_000_000),
      },
      streamTable: parseOnOff("HTTP2_STREAM_TABLE", read("HTTP2_STREAM_TABLE"), true),
    },
    requestBodies: parseRequestBodies(int),
    maxWatchStreams: int("MAX_WATCH_STREAMS", 1_000, 0, 1_000_000),
    getListIntervalMs: int("GETLIST_INTERVAL_MS", 0, 0, 60_000),
    reflection: parseOnOff("REFLECTION", read("REFLECTION"), true),
    metrics: parseOnOff("METRICS", read("METRICS"), true),
    admin: parseAdmin(read("ADMIN_HOST"), read("ADMIN_PORT")),
    fastPath: parseOnOff("FAST_PATH", read("FAST_PATH"), true),
    workers: parseWorkers(flags.workers === undefined ? "WORKERS" : "--workers", flags.workers ?? read("WORKERS")),
    corsOrigins: parseOrigins("CORS_ORIGINS", read("CORS_ORIGINS")),
    pageApiOrigins: parseOrigins("PAGE_API_ORIGINS", read("PAGE_API_ORIGINS")),
    tracing: parseTracing(read),
  };
  if (config.admin !== undefined && config.admin.port !== 0 && config.admin.port === config.port) {
    throw new ConfigError(`ADMIN_PORT must differ from the public port, got ${config.port} for both`);
  }
  return deepFreeze(config);
}

function parseFlags(argv: readonly string[]): { host?: string; port?: string; workers?: string } {
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: { host: { type: "string" }, port: { type: "string" }, workers: { type: "string" } },
      strict: true,
    });
    return values;
  } catch (e) {
    // parseArgs explains some mistakes over several lines; start-up errors are one.
    const first = (e instanceof Error ? e.message : String(e)).split("\n")[0];
    throw new ConfigError(`${first} (the flags are --host, --port and --workers, each with a value)`);
  }
}

function parseInteger(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** 0 (never), or a rest long enough that looking at the event loop four times per rest costs nothing. */
function parseIdleTrim(int: (name: string, fallback: number, min: number, max: number) => number): number {
  const restMs = int("IDLE_TRIM_MS", 60_000, 0, 2 ** 31 - 1);
  if (restMs > 0 && restMs < 1_000) {
    throw new ConfigError(`IDLE_TRIM_MS must be 0 (never) or at least 1000, got "${restMs}"`);
  }
  return restMs;
}

function parseRequestBodies(int: (name: string, fallback: number, min: number, max: number) => number) {
  const mib = 1024 * 1024;
  const perServerBytes = int("REQUEST_BUFFER_BYTES", 128 * mib, 64 * 1024, 2 ** 40);
  const perConnectionBytes = int("REQUEST_BUFFER_PER_CONNECTION_BYTES", 16 * mib, 64 * 1024, 2 ** 40);
  if (perConnectionBytes > perServerBytes) {
    throw new ConfigError(
      `REQUEST_BUFFER_PER_CONNECTION_BYTES (${perConnectionBytes}) must not exceed REQUEST_BUFFER_BYTES (${perServerBytes})`,
    );
  }
  return { perConnectionBytes, perServerBytes, timeoutMs: int("REQUEST_BODY_TIMEOUT_MS", 30_000, 1, 2 ** 31 - 1) };
}

function parseOrigins(name: string, raw: string | undefined): string[] {
  if (raw === undefined) return [];
  return raw.split(",").map((entry) => {
    const origin = entry.trim();
    if (origin.includes("*")) throw new ConfigError(`${name} must list origins, not a wildcard: got "${origin}"`);
    const url = URL.canParse(origin) ? new URL(origin) : undefined;
    const web = url !== undefined && (url.protocol === "http:" || url.protocol === "https:");
    // Browsers send an origin in exactly this form: no path, no default port, lower case.
    if (!web || url.origin !== origin) {
      const hint = web ? ` (did you mean "${url.origin}"?)` : "";
      throw new ConfigError(`${name} must be comma-separated origins like http://host:port, got "${origin}"${hint}`);
    }
    return origin;
  });
}

function parseWorkers(name: string, raw: string | undefined): number {
  if (raw === "auto") return availableParallelism();
  return parseInteger(name, raw, 1, 1, 256);
}

function parseAdmin(host: string | undefined, port: string | undefined): Config["admin"] {
  if (port === undefined) {
    if (host !== undefined) throw new ConfigError(`ADMIN_HOST needs ADMIN_PORT, got ADMIN_HOST "${host}" alone`);
    return undefined;
  }
  return { host: host ?? "127.0.0.1", port: parseInteger("ADMIN_PORT", port, 0, 0, 65535) };
}

function parseOnOff(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  if (raw !== "on" && raw !== "off") throw new ConfigError(`${name} must be on or off, got "${raw}"`);
  return raw === "on";
}

/**
 * The OTEL_* variables that decide whether and how the server traces, as the
 * OpenTelemetry specification defines them, except that an unset
 * OTEL_TRACES_EXPORTER means off (the SDK's own default is otlp): tracing
 * costs nothing until an operator asks for it. What the SDK reads by itself
 * (endpoints, headers, timeouts, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES)
 * is checked here only where a mistake would otherwise pass in silence.
 */
function parseTracing(read: (name: string) => string | undefined): TracingConfig | undefined {
  const disabled = read("OTEL_SDK_DISABLED")?.toLowerCase();
  if (disabled !== undefined && disabled !== "true" && disabled !== "false") {
    throw new ConfigError(`OTEL_SDK_DISABLED must be true or false, got "${disabled}"`);
  }
  const listed = read("OTEL_TRACES_EXPORTER");
  if (disabled === "true" || listed === undefined) return undefined;
  const names = [...new Set(listed.split(",").map((name) => name.trim()))];
  for (const name of names) {
    if (name !== "otlp" && name !== "console" && name !== "none") {
      throw new ConfigError(`OTEL_TRACES_EXPORTER must list otlp, console or none, got "${name}"`);
    }
  }
  if (names.includes("none")) {
    if (names.length > 1) throw new ConfigError(`OTEL_TRACES_EXPORTER lists none with other exporters: "${listed}"`);
    return undefined;
  }
  const exporters = names as ("otlp" | "console")[];

  const protocolName = read("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
    ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
    : "OTEL_EXPORTER_OTLP_PROTOCOL";
  const otlpProtocol = read(protocolName) ?? "http/protobuf";
  if (exporters.includes("otlp")) {
    if (otlpProtocol !== "http/protobuf" && otlpProtocol !== "http/json") {
      throw new ConfigError(`${protocolName} must be http/protobuf or http/json, got "${otlpProtocol}"`);
    }
    for (const name of ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"]) {
      const endpoint = read(name);
      const url = endpoint !== undefined && URL.canParse(endpoint) ? new URL(endpoint) : undefined;
      if (endpoint !== undefined && url?.protocol !== "http:" && url?.protocol !== "https:") {
        throw new ConfigError(`${name} must be an http:// or https:// URL, got "${endpoint}"`);
      }
    }
  }

  const sampler = read("OTEL_TRACES_SAMPLER") ?? "parentbased_always_on";
  if (!(samplerNames as readonly string[]).includes(sampler)) {
    throw new ConfigError(`OTEL_TRACES_SAMPLER must be one of ${samplerNames.join(", ")}, got "${sampler}"`);
  }
  let ratio = 1;
  const arg = read("OTEL_TRACES_SAMPLER_ARG");
  if (sampler.endsWith("traceidratio") && arg !== undefined) {
    ratio = /^[\d.]+$/.test(arg) ? Number(arg) : Number.NaN;
    if (!(ratio >= 0 && ratio <= 1)) {
      throw new ConfigError(`OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got "${arg}"`);
    }
  }
  return {
    exporters,
    otlpProtocol: otlpProtocol as TracingConfig["otlpProtocol"],
    sampler: { name: sampler as SamplerName, ratio },
  };
}

function readPem(name: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const reason = e instanceof Error && "code" in e ? String(e.code) : String(e);
    throw new ConfigError(`${name}: cannot read "${path}" (${reason})`);
  }
}

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) {
    if (inner !== null && typeof inner === "object" && !Buffer.isBuffer(inner)) deepFreeze(inner);
  }
  return Object.freeze(value);
}
