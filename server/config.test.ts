import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "./config.js";

/** The message a bad configuration stops start-up with. */
function refusal(env: Record<string, string>, argv: string[] = []): string {
  try {
    loadConfig(env, argv);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`);
    return e.message;
  }
  assert.fail("the configuration was accepted");
}

describe("loadConfig", () => {
  it("has the documented defaults", () => {
    const config = loadConfig({});
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.port, 8080);
    assert.equal(config.tls, undefined);
    assert.equal(config.maxMessageBytes, 4 * 1024 * 1024);
    assert.equal(config.shutdownGraceMs, 10_000);
    assert.equal(config.logLevel, "info");
    assert.deepEqual(config.corsOrigins, []);
    assert.deepEqual(config.http2.resets, { burst: 200, perSecond: 50 });
    assert.equal(config.http2.streamTable, true);
    assert.deepEqual(config.requestBodies, {
      perConnectionBytes: 16 * 1024 * 1024,
      perServerBytes: 128 * 1024 * 1024,
      timeoutMs: 30_000,
    });
    assert.equal(config.maxWatchStreams, 1_000);
    assert.equal(config.idleTrimMs, 60_000);
  });

  it("reads HOST and PORT, and the --host and --port flags win over them", () => {
    assert.equal(loadConfig({ HOST: "::1", PORT: "9000" }).port, 9000);
    const config = loadConfig({ HOST: "::1", PORT: "9000" }, ["--host", "0.0.0.0", "--port", "9001"]);
    assert.equal(config.host, "0.0.0.0");
    assert.equal(config.port, 9001);
  });

  it("serves /metrics and /healthz on the public port unless ADMIN_PORT names another, on loopback by default", () => {
    assert.equal(loadConfig({}).admin, undefined);
    assert.deepEqual(loadConfig({ ADMIN_PORT: "9090" }).admin, { host: "127.0.0.1", port: 9090 });
    assert.deepEqual(loadConfig({ ADMIN_PORT: "9090", ADMIN_HOST: "::" }).admin, { host: "::", port: 9090 });
    assert.deepEqual(loadConfig({ ADMIN_PORT: "0", PORT: "0" }).admin, { host: "127.0.0.1", port: 0 });
  });

  it("is frozen, nested parts too", () => {
    const config = loadConfig({});
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.http1));
    assert.ok(Object.isFrozen(config.http2));
  });

  it("keeps node:http2's own table of streams with HTTP2_STREAM_TABLE=off", () => {
    assert.equal(loadConfig({ HTTP2_STREAM_TABLE: "off" }).http2.streamTable, false);
  });

  it("refuses a bad value with one line naming it", () => {
    const cases: [Record<string, string>, string[], RegExp][] = [
      [{ PORT: "http" }, [], /^PORT must be an integer from 0 to 65535, got "http"$/],
      [{ PORT: "70000" }, [], /^PORT must be an integer/],
      [{}, ["--port", "-1"], /^Option '--port' argument is ambiguous\. \(the flags are --host, --port and --workers/],
      [{ MAX_MESSAGE_BYTES: "4MB" }, [], /^MAX_MESSAGE_BYTES must be an integer/],
      [{ SHUTDOWN_GRACE_MS: "1.5" }, [], /^SHUTDOWN_GRACE_MS must be an integer/],
      [
        { LOG_LEVEL: "loud" },
        [],
        /^LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"$/,
      ],
      [{ TLS_CERT: "cert.pem" }, [], /^TLS_CERT and TLS_KEY must be set together/],
      [
        { TLS_CERT: "/nonexistent/cert.pem", TLS_KEY: "/nonexistent/key.pem" },
        [],
        /^TLS_CERT: cannot read "\/nonexistent\/cert.pem" \(ENOENT\)$/,
      ],
      [{ METRICS: "no" }, [], /^METRICS must be on or off, got "no"$/],
      [{ HTTP2_STREAM_TABLE: "map" }, [], /^HTTP2_STREAM_TABLE must be on or off, got "map"$/],
      [{ ADMIN_PORT: "metrics" }, [], /^ADMIN_PORT must be an integer from 0 to 65535, got "metrics"$/],
      [{ ADMIN_PORT: "9090", PORT: "9090" }, [], /^ADMIN_PORT must differ from the public port, got 9090 for both$/],
      [{ ADMIN_PORT: "9091" }, ["--port", "9091"], /^ADMIN_PORT must differ from the public port/],
      [{ ADMIN_HOST: "0.0.0.0" }, [], /^ADMIN_HOST needs ADMIN_PORT, got ADMIN_HOST "0.0.0.0" alone$/],
      [{ HTTP2_RESET_BURST: "0" }, [], /^HTTP2_RESET_BURST must be an integer from 1 to 1000000, got "0"$/],
      [{ HTTP2_RESET_RATE: "fast" }, [], /^HTTP2_RESET_RATE must be an integer from 1 to 1000000, got "fast"$/],
      [
        { REQUEST_BUFFER_BYTES: "1k" },
        [],
        /^REQUEST_BUFFER_BYTES must be an integer from 65536 to 1099511627776, got "1k"$/,
      ],
      [
        { REQUEST_BUFFER_BYTES: "1048576", REQUEST_BUFFER_PER_CONNECTION_BYTES: "2097152" },
        [],
        /^REQUEST_BUFFER_PER_CONNECTION_BYTES \(2097152\) must not exceed REQUEST_BUFFER_BYTES \(1048576\)$/,
      ],
      [
        { REQUEST_BODY_TIMEOUT_MS: "0" },
        [],
        /^REQUEST_BODY_TIMEOUT_MS must be an integer from 1 to 2147483647, got "0"$/,
      ],
      [{ IDLE_TRIM_MS: "30s" }, [], /^IDLE_TRIM_MS must be an integer from 0 to 2147483647, got "30s"$/],
      [{ IDLE_TRIM_MS: "500" }, [], /^IDLE_TRIM_MS must be 0 \(never\) or at least 1000, got "500"$/],
      [{ MAX_WATCH_STREAMS: "-1" }, [], /^MAX_WATCH_STREAMS must be an integer from 0 to 1000000, got "-1"$/],
      [{}, ["--prot", "1"], /^Unknown option '--prot' \(the flags are/],
    ];
    for (const [env, argv, expected] of cases) {
      const message = refusal(env, argv);
      assert.match(message, expected);
      assert.ok(!message.includes("\n"), `one line: ${message}`);
    }
  });
});

describe("tracing, from the standard OTEL_* variables", () => {
  it("is off by default, unlike the SDK's default exporter (otlp): no SDK is loaded", () => {
    assert.equal(loadConfig({}).tracing, undefined);
  });

  it("is off with OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true", () => {
    assert.equal(loadConfig({ OTEL_TRACES_EXPORTER: "none" }).tracing, undefined);
    assert.equal(loadConfig({ OTEL_TRACES_EXPORTER: "otlp", OTEL_SDK_DISABLED: "TRUE" }).tracing, undefined);
  });

  it("is on with the exporters OTEL_TRACES_EXPORTER lists, sampling every trace its caller samples", () => {
    assert.deepEqual(loadConfig({ OTEL_TRACES_EXPORTER: "otlp, console", OTEL_SDK_DISABLED: "false" }).tracing, {
      exporters: ["otlp", "console"],
      otlpProtocol: "http/protobuf",
      sampler: { name: "parentbased_always_on", ratio: 1 },
    });
  });

  it("takes the OTLP protocol, the traces-only variable first, and a ratio sampler's argument", () => {
    const tracing = loadConfig({
      OTEL_TRACES_EXPORTER: "otlp",
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.25",
    }).tracing;
    assert.equal(tracing?.otlpProtocol, "http/json");
    assert.deepEqual(tracing?.sampler, { name: "parentbased_traceidratio", ratio: 0.25 });
  });

  it("refuses what it cannot do, in one line naming the variable", () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ OTEL_TRACES_EXPORTER: "zipkin" }, /^OTEL_TRACES_EXPORTER must list otlp, console or none, got "zipkin"$/],
      [{ OTEL_TRACES_EXPORTER: "none,console" }, /^OTEL_TRACES_EXPORTER lists none with other exporters/],
      [{ OTEL_SDK_DISABLED: "yes" }, /^OTEL_SDK_DISABLED must be true or false, got "yes"$/],
      [
        { OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
        /^OTEL_EXPORTER_OTLP_PROTOCOL must be http\/protobuf or http\/json, got "grpc"$/,
      ],
      [
        { OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_ENDPOINT: "localhost:4318" },
        /^OTEL_EXPORTER_OTLP_ENDPOINT must be an http:\/\/ or https:\/\/ URL, got "localhost:4318"$/,
      ],
      [
        { OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "collector" },
        /^OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http:\/\/ or https:\/\/ URL/,
      ],
      [
        { OTEL_TRACES_EXPORTER: "console", OTEL_TRACES_SAMPLER: "jaeger_remote" },
        /^OTEL_TRACES_SAMPLER must be one of/,
      ],
      [
        { OTEL_TRACES_EXPORTER: "console", OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "1.5" },
        /^OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got "1.5"$/,
      ],
    ];
    for (const [env, expected] of cases) {
      const message = refusal(env);
      assert.match(message, expected);
      assert.ok(!message.includes("\n"), `one line: ${message}`);
    }
  });
});
