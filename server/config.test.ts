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
    assert.deepEqual(config.requestBodies, {
      perConnectionBytes: 16 * 1024 * 1024,
      perServerBytes: 128 * 1024 * 1024,
      timeoutMs: 30_000,
    });
    assert.equal(config.maxWatchStreams, 1_000);
  });

  it("reads HOST and PORT, and the --host and --port flags win over them", () => {
    assert.equal(loadConfig({ HOST: "::1", PORT: "9000" }).port, 9000);
    const config = loadConfig({ HOST: "::1", PORT: "9000" }, ["--host", "0.0.0.0", "--port", "9001"]);
    assert.equal(config.host, "0.0.0.0");
    assert.equal(config.port, 9001);
  });

  it("is frozen, nested parts too", () => {
    const config = loadConfig({});
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.http1));
    assert.ok(Object.isFrozen(config.http2));
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
