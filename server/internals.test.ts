import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import http from "node:http";
import http2 from "node:http2";
import { createRequire } from "node:module";
import net, { type AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import {
  Code,
  ConnectError,
  createClient,
  createRouterTransport,
  type HandlerContext,
  type Transport,
} from "@connectrpc/connect";
import {
  createAsyncIterable,
  createMethodSerializationLookup,
  pipe,
  readAllBytes,
  transformSplitEnvelope,
  type UniversalClientFn,
} from "@connectrpc/connect/protocol";
import * as connect from "@connectrpc/connect/protocol-connect";
import * as grpc from "@connectrpc/connect/protocol-grpc";
import * as grpcWeb from "@connectrpc/connect/protocol-grpc-web";
import { pino } from "pino";
import { AggregatorRegistry, Counter, Histogram, Registry } from "prom-client";
import { SimpleTest } from "../gen/simpletest/simple_test_pb.js";
import { sessionState } from "./listen/stream-table.js";

/*
 * The library and Node internals the server relies on (docs/internals.md),
 * each checked against the installed version: an upgrade that changes one
 * fails here, with a message naming it, rather than somewhere downstream.
 */

/** Fails with a message that names the internal and where the code relies on it. */
function relied<T>(internal: string, actual: T, expected: T): void {
  assert.deepEqual(actual, expected, `${internal} changed (see docs/internals.md)`);
}

async function errorOf(run: () => Promise<unknown>): Promise<ConnectError> {
  try {
    await run();
  } catch (e) {
    return ConnectError.from(e);
  }
  assert.fail("expected the call to fail");
}

describe("pino 10.4.0 (server/observe/rpc-log-line.ts)", () => {
  const used = [
    "chindingsSym",
    "endSym",
    "formattersSym",
    "hooksSym",
    "lsCacheSym",
    "messageKeySym",
    "mixinSym",
    "nestedKeySym",
    "serializersSym",
    "streamSym",
    "needsMetadataGsym",
    "stringifiersSym",
    "timeSym",
  ] as const;

  it("pino.symbols still has every symbol logRpc reads", () => {
    const symbols = pino.symbols as unknown as Record<string, unknown>;
    relied(
      "pino.symbols",
      used.filter((name) => typeof symbols[name] !== "symbol"),
      [],
    );
  });

  it("a logger still holds its line's pieces under them: level prefix, time, bindings, end, stream", () => {
    const s = pino.symbols;
    const lines: string[] = [];
    const log = pino({ base: null, timestamp: () => ',"time":1' }, { write: (line: string) => lines.push(line) }).child(
      {
        reqId: "r",
      },
    ) as unknown as Record<symbol, unknown>;
    relied("pino's level prefix cache (lsCacheSym)", (log[s.lsCacheSym] as Record<number, string>)[30], '{"level":30');
    relied("pino's time function (timeSym)", (log[s.timeSym] as () => string)(), ',"time":1');
    relied("pino's serialized bindings (chindingsSym)", log[s.chindingsSym], ',"reqId":"r"');
    relied("pino's line end (endSym)", log[s.endSym], "}\n");
    relied("pino's message key (messageKeySym)", log[s.messageKeySym], "msg");
    relied("pino's stream (streamSym) has write", typeof (log[s.streamSym] as { write?: unknown }).write, "function");
  });
});

describe("prom-client 15.1.3 (server/observe/rpc-metrics.ts, cluster-metrics.ts)", () => {
  it("the registry reads a histogram through get() or getForPromString(), which SeriesHistogram both answers", async () => {
    relied(
      "prom-client's Histogram.prototype.getForPromString",
      typeof (Histogram.prototype as { getForPromString?: unknown }).getForPromString,
      "function",
    );
    const registry = new Registry();
    const marked = () =>
      Promise.resolve({
        name: "marked",
        help: "h",
        type: "histogram",
        aggregator: "sum",
        values: [{ metricName: "marked_count", labels: {}, value: 7 }],
      } as unknown as ReturnType<Histogram["get"]>);
    class Marked extends Histogram<string> {
      override get() {
        return marked();
      }
      getForPromString() {
        return marked();
      }
    }
    new Marked({ name: "marked", help: "h", registers: [registry] });
    relied(
      "prom-client's Registry.metrics() reading a histogram through get() or getForPromString()",
      (await registry.metrics()).includes("marked_count 7"),
      true,
    );
  });

  it("a histogram's get() names its type and aggregator as strings", async () => {
    const { type, aggregator } = await new Histogram({ name: "h", help: "h", registers: [] }).get();
    relied(
      "prom-client's Histogram.get() type and aggregator",
      { type: String(type), aggregator },
      {
        type: "histogram",
        aggregator: "sum",
      },
    );
  });

  it("an aggregator set on a metric after it was made is the one cluster aggregation uses", async () => {
    const metrics = await Promise.all(
      [1, 2].map(async (value) => {
        const registry = new Registry();
        const counter = new Counter({ name: "c", help: "h", registers: [registry] });
        // As cluster-metrics.ts does, on the registry's metrics.
        for (const metric of registry.getMetricsAsArray()) metric.aggregator = "first";
        counter.inc(value);
        return registry.getMetricsAsJSON();
      }),
    );
    const sum = await AggregatorRegistry.aggregate(metrics).getSingleMetricAsString("c");
    relied(
      "prom-client's metric.aggregator, honoured by AggregatorRegistry.aggregate",
      sum.trim().split("\n").at(-1),
      "c 1",
    );
  });
});

/** A transport whose server answers every call with `answer`, for errors connect-es raises on its own. */
function transportAnswering(
  create: typeof grpcWeb.createTransport,
  answer: Awaited<ReturnType<UniversalClientFn>>,
): Transport {
  return create({
    httpClient: async () => answer,
    baseUrl: "http://127.0.0.1",
    useBinaryFormat: true,
    interceptors: [],
    acceptCompression: [],
    sendCompression: null,
    compressMinBytes: 0,
    readMaxBytes: 1 << 20,
    writeMaxBytes: 1 << 20,
  });
}

describe("@connectrpc/connect 2.2.0: messages the code matches (client/cut-short.ts and server/observe/)", () => {
  it('"protocol error: missing status" (internal), for a gRPC response with no grpc-status', async () => {
    const error = await errorOf(async () => grpc.validateTrailer(new Headers(), new Headers()));
    relied(
      "connect-es's missing status error",
      [error.rawMessage, error.code],
      ["protocol error: missing status", Code.Internal],
    );
  });

  it('"protocol error: missing trailer" (unknown for unary, internal for streams), for gRPC-Web with no trailer frame', async () => {
    const client = createClient(
      SimpleTest,
      transportAnswering(grpcWeb.createTransport, {
        status: 200,
        header: new Headers({ "content-type": "application/grpc-web+proto" }),
        body: createAsyncIterable([]),
        trailer: new Headers(),
      }),
    );
    const unary = await errorOf(() => client.getOne({ hello: "x" }));
    const stream = await errorOf(async () => {
      for await (const _ of client.getList({ hello: "x" }));
    });
    relied(
      "connect-es's missing trailer error",
      [unary.rawMessage, unary.code, stream.rawMessage, stream.code],
      ["protocol error: missing trailer", Code.Unknown, "protocol error: missing trailer", Code.Internal],
    );
  });

  it('"protocol error: missing EndStreamResponse" (invalid_argument), for a Connect stream with no end', async () => {
    const client = createClient(
      SimpleTest,
      transportAnswering(connect.createTransport, {
        status: 200,
        header: new Headers({ "content-type": "application/connect+proto" }),
        body: createAsyncIterable([]),
        trailer: new Headers(),
      }),
    );
    const error = await errorOf(async () => {
      for await (const _ of client.getList({ hello: "x" }));
    });
    relied(
      "connect-es's missing EndStreamResponse error",
      [error.rawMessage, error.code],
      ["protocol error: missing EndStreamResponse", Code.InvalidArgument],
    );
  });

  it('"protocol error: incomplete envelope" (invalid_argument), for a stream ending inside a message', async () => {
    const error = await errorOf(async () => {
      for await (const _ of pipe(createAsyncIterable([Uint8Array.of(0, 0, 0, 0, 9, 1)]), transformSplitEnvelope(99)));
    });
    relied(
      "connect-es's incomplete envelope error",
      [error.rawMessage, error.code],
      ["protocol error: incomplete envelope", Code.InvalidArgument],
    );
  });

  it('"protocol error: promised N bytes, received M" (invalid_argument), for a body short of its length', async () => {
    const error = await errorOf(() => readAllBytes(createAsyncIterable([Uint8Array.of(1, 2)]), 99, "5"));
    relied(
      "connect-es's promised-bytes error",
      [error.rawMessage, error.code],
      ["protocol error: promised 5 bytes, received 2", Code.InvalidArgument],
    );
  });

  it('"parse binary: " (internal) starts the error for an undecodable request (server/observe/undecodable-requests.ts)', async () => {
    const lookup = createMethodSerializationLookup(SimpleTest.method.getOne, undefined, undefined, {
      readMaxBytes: 1 << 20,
      writeMaxBytes: 1 << 20,
    });
    const error = await errorOf(async () => lookup.getI(true).parse(Uint8Array.of(0x0a, 0x05, 0x61)));
    relied(
      "connect-es's undecodable message error",
      [error.rawMessage.startsWith("parse binary: "), error.code],
      [true, Code.Internal],
    );
  });

  it("JSON requests are decoded with the textDecoder of jsonOptions (server/request-checks/strict-utf8-json.ts)", async () => {
    const refusal = new ConnectError("decoder used", Code.InvalidArgument);
    // Not in connect-es's option types, as in strict-utf8-json.ts: read from the options object all the same.
    const jsonOptions = {
      ignoreUnknownFields: true,
      textDecoder: {
        decode: () => {
          throw refusal;
        },
      },
    };
    const lookup = createMethodSerializationLookup(SimpleTest.method.getOne, undefined, jsonOptions, {
      readMaxBytes: 1 << 20,
      writeMaxBytes: 1 << 20,
    });
    const error = await errorOf(async () => lookup.getI(false).parse(new TextEncoder().encode("{}")));
    relied("connect-es's JSON serialization taking jsonOptions.textDecoder", error.rawMessage, "decoder used");
  });

  it("the timeouts connect-es accepts are the ones server/call-deadline.ts caps", () => {
    relied(
      "connect-es's grpc-timeout parsing",
      ["99999999H", "1m", "100000000m", "1x", "-1S"].map(
        (v) => grpc.parseTimeout(v, Number.MAX_SAFE_INTEGER).error === undefined,
      ),
      [true, true, false, false, false],
    );
    relied(
      "connect-es's connect-timeout-ms parsing",
      ["9999999999", "1", "10000000000", "1.5", "-1"].map(
        (v) => connect.parseTimeout(v, Number.MAX_SAFE_INTEGER).error === undefined,
      ),
      [true, true, false, false, false],
    );
  });
});

describe("@connectrpc/connect 2.2.0: the request gate's context (server/call-deadline.ts, metered-request-body.ts)", () => {
  it("is abortable, and aborted when the call ends, whatever its outcome", async () => {
    const contexts: HandlerContext[] = [];
    const transport = createRouterTransport(
      (router) =>
        router.service(SimpleTest, {
          getOne: (request) => {
            if (request.hello === "fail") throw new ConnectError("no", Code.NotFound);
            return { result: "ok" };
          },
        }),
      { router: { requestGate: (context) => void contexts.push(context) } },
    );
    const client = createClient(SimpleTest, transport);
    await client.getOne({ hello: "x" });
    await errorOf(() => client.getOne({ hello: "fail" }));
    relied(
      "connect-es's request gate context: abort() and its abort at the call's end",
      contexts.map((context) => [typeof (context as { abort?: unknown }).abort, context.signal.aborted]),
      [
        ["function", true],
        ["function", true],
      ],
    );
  });
});

describe("@connectrpc/connect-node 2.2.0: what the fast lane copies (server/fast-lane/)", () => {
  it("an HTTP/2 reset code becomes the same error as the lane's table says", async () => {
    // Not exported: connect-node's own module, loaded by its file.
    const index = createRequire(import.meta.url).resolve("@connectrpc/connect-node");
    const nodeError = (await import(pathToFileURL(index.replace(/cjs[/\\]index\.js$/, "esm/node-error.js")).href)) as {
      connectErrorFromH2ResetCode(code: number): ConnectError | undefined;
    };
    const table = Array.from({ length: 14 }, (_, code) => {
      const error = nodeError.connectErrorFromH2ResetCode(code);
      return error && [code, error.rawMessage, Code[error.code]];
    }).filter((row) => row !== undefined);
    relied("connect-node's connectErrorFromH2ResetCode", table, [
      [1, "http/2 stream closed with error code PROTOCOL_ERROR (0x1)", "Internal"],
      [2, "http/2 stream closed with error code INTERNAL_ERROR (0x2)", "Internal"],
      [3, "http/2 stream closed with error code FLOW_CONTROL_ERROR (0x3)", "Internal"],
      [4, "http/2 stream closed with error code SETTINGS_TIMEOUT (0x4)", "Internal"],
      [6, "http/2 stream closed with error code FRAME_SIZE_ERROR (0x6)", "Internal"],
      [7, "http/2 stream closed with error code REFUSED_STREAM (0x7)", "Unavailable"],
      [8, "http/2 stream closed with error code CANCEL (0x8)", "Canceled"],
      [9, "http/2 stream closed with error code COMPRESSION_ERROR (0x9)", "Internal"],
      [10, "http/2 stream closed with error code CONNECT_ERROR (0xa)", "Internal"],
      [11, "http/2 stream closed with error code ENHANCE_YOUR_CALM (0xb)", "ResourceExhausted"],
      [12, "http/2 stream closed with error code INADEQUATE_SECURITY (0xc)", "PermissionDenied"],
      [13, "http/2 stream closed with error code HTTP_1_1_REQUIRED (0xd)", "PermissionDenied"],
    ]);
  });

  it("an aborted call's default reason is the AbortError the lane gives an ended call", () => {
    const controller = new AbortController();
    controller.abort();
    const reason = controller.signal.reason as DOMException;
    relied(
      "AbortController's default reason",
      [reason.name, reason.message],
      ["AbortError", "This operation was aborted"],
    );
  });
});

/** Serves one request through `server` (which never listens itself) from a listening net.Server. */
async function handedOver(server: net.Server): Promise<{ port: number; close(): Promise<void> }> {
  const front = net.createServer((socket) => server.emit("connection", socket));
  await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
  return {
    port: (front.address() as AddressInfo).port,
    close: () => new Promise((resolve) => front.close(() => resolve())),
  };
}

describe(`Node ${process.version} (server/listen/)`, () => {
  it('http2 serves requests from exactly one "stream" listener, added with the first "request" listener, called with (stream, headers, flags, rawHeaders)', async () => {
    const h2 = http2.createServer();
    h2.on("request", (_req, res) => res.end("served"));
    const listeners = h2.listeners("stream");
    relied('node:http2 compatibility "stream" listeners', listeners.length, 1);
    const compat = listeners[0] as (...args: unknown[]) => void;
    h2.removeListener("stream", compat);
    h2.on(
      "stream",
      (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) =>
        compat.call(h2, stream, headers, flags, rawHeaders),
    );
    const front = await handedOver(h2);
    const session = http2.connect(`http://127.0.0.1:${front.port}`);
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = session.request({ ":path": "/" });
        let text = "";
        req.setEncoding("utf8");
        req.on("data", (chunk: string) => {
          text += chunk;
        });
        req.on("end", () => resolve(text));
        req.on("error", reject);
        req.end();
      });
      relied("node:http2's compatibility listener, called by another", body, "served");
    } finally {
      session.close();
      await front.close();
    }
  });

  it('an http2 session keeps its open streams in an empty Map under its one symbol named "state", and asks of it get, set, delete, size and forEach alone', async () => {
    const h2 = http2.createServer();
    const asked = new Set<string>();
    let found = false;
    h2.on("session", (session) => {
      const state = (sessionState(session) ?? {}) as { streams?: Map<number, unknown> };
      found = typeof state.streams === "object" && state.streams.size === 0;
      const streams = state.streams;
      if (streams === undefined) return;
      state.streams = new Proxy(streams, {
        get(target, name) {
          asked.add(String(name));
          const value = Reflect.get(target, name, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    });
    const held = new Promise<http2.ServerHttp2Stream>((resolve) => {
      h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
        if (headers[":path"] === "/hold") {
          resolve(stream);
          return;
        }
        stream.respond({ ":status": 200 });
        stream.end();
      });
    });
    await new Promise<void>((resolve) => h2.listen(0, "127.0.0.1", resolve));
    const session = http2.connect(`http://127.0.0.1:${(h2.address() as AddressInfo).port}`);
    session.on("error", () => {});
    try {
      for (let i = 0; i < 3; i++) await once(session.request({ ":path": "/" }).resume(), "end");
      session.request({ ":path": "/hold" }).on("error", () => {});
      const stream = await held;
      stream.session?.destroy();
      await once(stream, "close");
      relied("node:http2's table of a session's streams (server/listen/stream-table.ts)", found, true);
      relied("what node:http2 asks of its table of streams", [...asked].sort(), [
        "delete",
        "forEach",
        "get",
        "set",
        "size",
      ]);
    } finally {
      session.destroy();
      h2.close();
    }
  });

  it("a Map whose table has lived into the old generation keeps the entries it let go of through scavenges (why server/listen/stream-table.ts exists)", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      "--expose-gc",
      "--import",
      "tsx",
      "server/listen/stream-churn.fixture.ts",
      "map",
    ]);
    // Under 1 MB, V8 would have mended it, and the StreamTable could go.
    relied("V8 promoting what a Map let go of", Number(stdout) > 2_000_000, true);
  });

  it('an HTTP/2 stream\'s own "removeListener" listener counts only "priority" and "frameError" listeners', async () => {
    const h2 = http2.createServer();
    const counted = new Promise<string[][]>((resolve) => {
      h2.on("stream", (stream: http2.ServerHttp2Stream) => {
        resolve(
          stream
            .listeners("removeListener")
            .map((listener) => [...String(listener).matchAll(/case '(\w+)'/g)].map((m) => m[1])),
        );
        stream.respond({ ":status": 200 });
        stream.end();
      });
    });
    await new Promise<void>((resolve) => h2.listen(0, "127.0.0.1", resolve));
    const session = http2.connect(`http://127.0.0.1:${(h2.address() as AddressInfo).port}`);
    try {
      session.request({ ":path": "/" }).resume().end();
      relied("node:http2's stream listener counting", await counted, [["priority", "frameError"]]);
    } finally {
      session.close();
      h2.close();
    }
  });

  it("a Readable's removeAllListeners is EventEmitter's and a tick to work out whether it flows, nothing more", () => {
    const code = String(Readable.prototype.removeAllListeners)
      .replace(/\/\/.*$/gm, "")
      .replace(/\s+/g, "");
    const removes =
      /Stream\.prototype\.removeAllListeners\.apply\(this,arguments\)|ReflectApply\(Stream\.prototype\.removeAllListeners,this,arguments\)/;
    const rest = code.replace(removes, "REMOVE");
    relied(
      "Readable's removeAllListeners",
      rest,
      "function(ev){constres=REMOVE;if(ev==='readable'||ev===undefined){process.nextTick(updateReadableListening,this);}returnres;}",
    );
  });

  it('an http server that never listens runs its header timeout once it is sent "listening"', async () => {
    const h1 = http.createServer({ connectionsCheckingInterval: 100 }, (_req, res) => res.end());
    h1.headersTimeout = 300;
    h1.requestTimeout = 1_000;
    h1.emit("listening");
    const front = await handedOver(h1);
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(front.port, "127.0.0.1", () => socket.write("GET / HTTP/1.1\r\nHost: a\r\n"));
        let text = "";
        socket.setEncoding("utf8");
        socket.on("data", (chunk: string) => {
          text += chunk;
        });
        socket.on("close", () => resolve(text));
        socket.on("error", reject);
        // Far past the timeout: a busy machine may be slow, but never this slow.
        setTimeout(() => socket.destroy(), 10_000).unref();
      });
      relied(
        'http.Server\'s timeout checks started by emit("listening")',
        answer.split("\r\n")[0],
        "HTTP/1.1 408 Request Timeout",
      );
    } finally {
      h1.close();
      await front.close();
    }
  });

  it("res.shouldKeepAlive = false before the head closes the connection after the answer", async () => {
    const h1 = http.createServer((_req, res) => {
      res.shouldKeepAlive = false;
      res.end("bye");
    });
    await new Promise<void>((resolve) => h1.listen(0, "127.0.0.1", resolve));
    try {
      const header = await new Promise<string | undefined>((resolve, reject) => {
        http
          .get(
            { port: (h1.address() as AddressInfo).port, host: "127.0.0.1", agent: new http.Agent({ keepAlive: true }) },
            (res) => {
              res.resume();
              resolve(res.headers.connection);
            },
          )
          .on("error", reject);
      });
      relied("http.ServerResponse.shouldKeepAlive", header, "close");
    } finally {
      h1.closeAllConnections();
      h1.close();
    }
  });

  it("a readable's iterator({ destroyOnReturn: false }) leaves it open when the reader stops", async () => {
    const body = Readable.from(["a", "b"], { objectMode: true });
    for await (const _ of body.iterator({ destroyOnReturn: false })) break;
    relied("Readable.prototype.iterator's destroyOnReturn", body.destroyed, false);
  });
});
