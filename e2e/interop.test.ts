import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { compressionGzip, createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import {
  type PayloadType,
  SimpleRequestSchema,
  SimpleResponseSchema,
  StreamingInputCallRequestSchema,
  StreamingInputCallResponseSchema,
  StreamingOutputCallRequestSchema,
  StreamingOutputCallResponseSchema,
} from "../gen/grpc/testing/messages_pb.js";
import { TestService } from "../gen/grpc/testing/test_pb.js";
import { closeApp } from "../server/close-app.js";
import { loadConfig } from "../server/config.js";
import { buildInteropApp } from "../server/interop-app.js";
import { makePythonStubs, type PythonStubs, runPythonScript } from "./support/grpc-proto-python.js";
import { collect, type InteropTransports, nodeInteropCases } from "./support/interop-cases.js";
import { createGrpcJsClients, type GrpcJsClients, grpcJsInteropCases } from "./support/interop-cases-grpc-js.js";
import { envelope, h2cRequest } from "./support/raw-http.js";
import { runCommand } from "./support/run-command.js";
import { selfSigned } from "./support/self-signed.js";
import { freePort, type RunningServer } from "./support/server.js";

// gRPC's interop cases (grpc/grpc doc/interop-test-descriptions.md), run against
// `npm run interop`'s app: the product's stack serving grpc.testing.TestService.

const pythonCases = [
  "empty_unary",
  "large_unary",
  "client_compressed_unary",
  "server_compressed_unary",
  "client_streaming",
  "server_streaming",
  "server_compressed_streaming",
  "ping_pong",
  "empty_stream",
  "timeout_on_sleeping_server",
  "cancel_after_begin",
  "cancel_after_first_response",
  "custom_metadata",
  "status_code_and_message",
  "special_status_message",
  "unimplemented_method",
  "unimplemented_service",
];

async function startInteropServer(env: Record<string, string>): Promise<RunningServer> {
  const config = loadConfig({ LOG_LEVEL: "silent", PORT: "0", ...env, HOST: "127.0.0.1" });
  const app = await buildInteropApp(config);
  await app.fastify.listen({ host: config.host, port: config.port });
  const { port } = app.fastify.server.address() as net.AddressInfo;
  return {
    url: `${config.tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    close: () => closeApp(app, config.shutdownGraceMs),
  };
}

let stubs: PythonStubs;
/** A self-signed certificate for 127.0.0.1, which the clients are told to trust. */
const certificate = selfSigned();
before(() => {
  stubs = makePythonStubs(["grpc/testing/empty.proto", "grpc/testing/messages.proto", "grpc/testing/test.proto"]);
});
after(() => {
  stubs?.remove();
  certificate.remove();
});

const runPythonCase = (port: number, testCase: string, tls = false) => {
  const tlsFlags = tls ? ["--use_tls=true", `--ca_file=${certificate.certPath}`] : [];
  return runPythonScript(
    "interop_client.py",
    [`--server_port=${port}`, `--test_case=${testCase}`, ...tlsFlags],
    stubs,
    {
      timeoutMs: 60_000,
    },
  );
};

// Cleartext (h2c) with the fast lane on and off, and TLS with ALPN as gRPC's interop servers must offer.
const setups = [
  { name: "FAST_PATH=on", fastPath: "on", tls: false },
  { name: "FAST_PATH=off", fastPath: "off", tls: false },
  { name: "TLS, FAST_PATH=on", fastPath: "on", tls: true },
];

for (const { name, fastPath, tls } of setups) {
  describe(`interop cases, ${name}`, () => {
    let server: RunningServer;
    let transports: InteropTransports;
    let grpcJs: GrpcJsClients;
    before(async () => {
      const tlsEnv: Record<string, string> = tls
        ? { TLS_CERT: certificate.certPath, TLS_KEY: certificate.keyPath }
        : {};
      // grpc-js 1.14.7's cancel_after_begin, cancelled while its call still waits for a
      // connection, opens the stream anyway and never resets it: the server holds it
      // until shutdown's grace period ends, which is kept short here.
      server = await startInteropServer({ FAST_PATH: fastPath, SHUTDOWN_GRACE_MS: "500", ...tlsEnv });
      const options = {
        baseUrl: server.url,
        acceptCompression: [compressionGzip],
        nodeOptions: tls ? { ca: certificate.ca } : {},
      };
      transports = {
        plain: createGrpcTransport(options),
        gzip: createGrpcTransport({ ...options, sendCompression: compressionGzip }),
      };
      const credentials = tls ? grpc.credentials.createSsl(certificate.ca) : grpc.credentials.createInsecure();
      // grpc-js 1.14.7 names the host it dials as the TLS server name, which Node 26 refuses
      // for an IP address (DEP0123): over TLS it names the certificate's DNS name instead.
      const tlsNameOverride = tls ? { "grpc.ssl_target_name_override": certificate.dnsName } : {};
      grpcJs = createGrpcJsClients(`127.0.0.1:${server.port}`, credentials, tlsNameOverride);
    });
    after(async () => {
      grpcJs?.plain.close();
      grpcJs?.gzip.close();
      await server?.close();
    });

    describe("Python grpcio client", () => {
      for (const testCase of pythonCases) {
        it(testCase, async (t) => {
          const run = await runPythonCase(server.port, testCase, tls);
          // Where grpcio waited, should closing its channel have hung once the case was done.
          if (run.stderr !== "") t.diagnostic(run.stderr);
          assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
          assert.equal(run.stdout.trim(), `PASS ${testCase}`);
        });
      }
    });

    describe("connect-node gRPC client", () => {
      for (const [testCase, run] of Object.entries(nodeInteropCases)) {
        it(testCase, () => run(transports));
      }
    });

    describe("@grpc/grpc-js client", () => {
      for (const [testCase, run] of Object.entries(grpcJsInteropCases)) {
        it(testCase, () => run(grpcJs));
      }
    });

    // What no client here shows: a response message's compressed flag; and
    // client_compressed_streaming as the bytes on the wire.
    describe("raw HTTP/2 client", { skip: tls && "the raw client speaks h2c only" }, () => {
      const grpcHeaders = {
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-encoding": "gzip",
        "grpc-accept-encoding": "gzip",
      };
      const path = (method: string) => `/grpc.testing.TestService/${method}`;
      /** The envelopes of a gRPC response body, each with its flags and its message, decompressed. */
      const envelopes = (body: Buffer) => {
        const found: { compressed: boolean; message: Uint8Array }[] = [];
        for (let at = 0; at < body.length; ) {
          const length = body.readUInt32BE(at + 1);
          const data = body.subarray(at + 5, at + 5 + length);
          const compressed = (body[at] & 1) === 1;
          found.push({ compressed, message: compressed ? gunzipSync(data) : data });
          at += 5 + length;
        }
        return found;
      };

      it("client_compressed_streaming", async () => {
        const message = (size: number, expected: boolean) =>
          toBinary(
            StreamingInputCallRequestSchema,
            create(StreamingInputCallRequestSchema, {
              expectCompressed: { value: expected },
              payload: { body: new Uint8Array(size) },
            }),
          );
        const { "grpc-encoding": _, ...uncompressed } = grpcHeaders;
        const probe = await h2cRequest(
          server.url,
          path("StreamingInputCall"),
          uncompressed,
          envelope(message(27182, true)),
        );
        assert.equal(
          probe.trailers["grpc-status"] ?? probe.headers["grpc-status"],
          "3",
          "the probe is invalid_argument",
        );
        const body = Buffer.concat([envelope(gzipSync(message(27182, true)), 1), envelope(message(45904, false))]);
        const answer = await h2cRequest(server.url, path("StreamingInputCall"), grpcHeaders, body);
        assert.equal(answer.trailers["grpc-status"], "0", String(answer.trailers["grpc-message"]));
        const [response] = envelopes(answer.body);
        assert.equal(fromBinary(StreamingInputCallResponseSchema, response.message).aggregatedPayloadSize, 73086);
      });

      // connect-es 2.2.0 compresses every response message of 1 KiB or more
      // (compressMinBytes) for a client that accepts gzip, and has no per-call
      // or per-message switch: response_compressed false is not honoured.
      const notHonoured = "connect-es has no per-message compression switch (README, Interop)";
      for (const compressed of [true, false]) {
        it(`server_compressed_unary: response_compressed ${compressed} sends the message with the flag ${compressed ? "set" : "clear"}`, {
          todo: compressed ? false : notHonoured,
        }, async () => {
          const request = toBinary(
            SimpleRequestSchema,
            create(SimpleRequestSchema, {
              responseCompressed: { value: compressed },
              responseSize: 314159,
              payload: { body: new Uint8Array(271828) },
            }),
          );
          const answer = await h2cRequest(server.url, path("UnaryCall"), grpcHeaders, envelope(request));
          assert.equal(answer.trailers["grpc-status"], "0", String(answer.trailers["grpc-message"]));
          const [response] = envelopes(answer.body);
          assert.equal(fromBinary(SimpleResponseSchema, response.message).payload?.body.length, 314159);
          assert.equal(response.compressed, compressed);
        });
      }

      it("server_compressed_streaming: each message's flag as its compressed parameter says", {
        todo: notHonoured,
      }, async () => {
        const request = toBinary(
          StreamingOutputCallRequestSchema,
          create(StreamingOutputCallRequestSchema, {
            responseParameters: [
              { size: 31415, compressed: { value: true } },
              { size: 92653, compressed: { value: false } },
            ],
          }),
        );
        const answer = await h2cRequest(server.url, path("StreamingOutputCall"), grpcHeaders, envelope(request));
        assert.equal(answer.trailers["grpc-status"], "0", String(answer.trailers["grpc-message"]));
        const responses = envelopes(answer.body);
        const sizes = responses.map(
          ({ message }) => fromBinary(StreamingOutputCallResponseSchema, message).payload?.body.length,
        );
        assert.deepEqual(sizes, [31415, 92653]);
        assert.deepEqual(
          responses.map(({ compressed }) => compressed),
          [true, false],
        );
      });
    });

    describe("bad input and the parameters the cases do not use", () => {
      const client = () => createClient(TestService, transports.plain);
      const options = { timeoutMs: 20_000 };
      const code = async (call: () => Promise<unknown>) => {
        try {
          await call();
          return "ok";
        } catch (e) {
          return Code[ConnectError.from(e).code];
        }
      };

      it("a response_size over the message limit is resource_exhausted, before the bytes are made", async () => {
        assert.equal(await code(() => client().unaryCall({ responseSize: 2 ** 31 - 1 }, options)), "ResourceExhausted");
        const stream = { responseParameters: [{ size: 2 ** 31 - 1 }] };
        assert.equal(await code(() => collect(client().streamingOutputCall(stream, options))), "ResourceExhausted");
      });

      it("a negative response_size, an unknown response_type or a status code gRPC does not have is invalid_argument", async () => {
        assert.equal(await code(() => client().unaryCall({ responseSize: -1 }, options)), "InvalidArgument");
        assert.equal(
          await code(() => client().unaryCall({ responseType: 7 as PayloadType }, options)),
          "InvalidArgument",
        );
        const responseStatus = { code: 99, message: "no such code" };
        assert.equal(await code(() => client().unaryCall({ responseStatus }, options)), "InvalidArgument");
      });

      it("the server keeps serving everyone after them", async () => {
        const response = await client().unaryCall({ responseSize: 314159 }, options);
        assert.equal(response.payload?.body.length, 314159);
      });

      it("interval_us pauses before each response, counted from the one before", async () => {
        const started = performance.now();
        const parameters = [0, 1, 2].map(() => ({ size: 1, intervalUs: 150_000 }));
        const arrivals: number[] = [];
        for await (const _ of client().streamingOutputCall({ responseParameters: parameters }, options)) {
          arrivals.push(performance.now() - started);
        }
        // Wide windows: a busy machine is slow, never early.
        assert.equal(arrivals.length, 3);
        assert.ok(arrivals[0] >= 140, `first after ${arrivals[0]} ms`);
        assert.ok(arrivals[2] >= 440, `last after ${arrivals[2]} ms`);
      });

      it("a client that cancels during interval_us ends the call at once", async () => {
        const abort = new AbortController();
        const request = { responseParameters: [{ size: 1, intervalUs: 60_000_000 }] };
        setTimeout(() => abort.abort(), 100);
        const started = performance.now();
        const outcome = await code(() =>
          collect(client().streamingOutputCall(request, { ...options, signal: abort.signal })),
        );
        assert.equal(outcome, "Canceled");
        assert.ok(performance.now() - started < 10_000);
      });
    });
  });
}

describe("npm run interop -- --port=N --use_tls=false", () => {
  it("refuses --use_tls=true without TLS_CERT and TLS_KEY, in one line, with exit code 2", async () => {
    const run = await runCommand("npm", ["run", "--silent", "interop", "--", "--port=0", "--use_tls=true"]);
    assert.equal(run.code, 2);
    assert.equal(run.stderr, "simpletest interop: bad configuration: --use_tls=true needs TLS_CERT and TLS_KEY set\n");
  });

  it("serves TestService on that port to an interop client, and stops when npm is sent SIGTERM", async () => {
    const port = await freePort();
    // Its own process group, so that whatever a failed test leaves is stopped with it.
    // As gRPC's interop harnesses start a server.
    const child = spawn("npm", ["run", "interop", "--", `--port=${port}`, "--use_tls=false"], {
      env: { ...process.env, LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "inherit"],
      detached: true,
    });
    const exited = once(child, "exit").then(([code, signal]) => ({ code, signal }));
    try {
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stdout }).on("line", (line) => {
          if (line.includes(`listening at http://127.0.0.1:${port}`)) resolve();
        });
        exited.then(() => reject(new Error("npm run interop exited before listening")));
      });
      const run = await runPythonCase(port, "empty_unary,large_unary,unimplemented_service");
      assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);

      // What a process manager does: SIGTERM to npm's own process only.
      child.kill("SIGTERM");
      assert.deepEqual(await exited, { code: 0, signal: null });
      const connecting = await new Promise<string | undefined>((resolve) => {
        const probe = net.connect(port, "127.0.0.1");
        probe.once("connect", () => {
          probe.destroy();
          resolve("connected");
        });
        probe.once("error", (e: NodeJS.ErrnoException) => resolve(e.code));
      });
      assert.equal(connecting, "ECONNREFUSED", "the port is closed");
    } finally {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // The group has already exited.
        }
      }
    }
  });
});
