import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  createSimpleTestClient,
  type HttpVersion,
  type Protocol,
  type SimpleTestClient,
} from "../client/simple-test-client.js";
import { SimpleTest } from "../gen/simpletest/simple_test_pb.js";
import { envelope } from "./support/raw-http.js";

interface Listening {
  readonly url: string;
  close(): Promise<void>;
}

/** A server on 127.0.0.1, port 0; closing it also drops the connections it has. */
async function listen(server: http.Server | http2.Http2Server): Promise<Listening> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Field 1 (every SimpleTest response's one field) holding `text`. */
const message = (text: string) => Uint8Array.of(0x0a, text.length, ...Buffer.from(text));

/** The start of an answer of the request's kind: one message, enveloped unless a Connect unary body. */
const firstMessage = (contentType: string) =>
  contentType.startsWith("application/connect+") || contentType.startsWith("application/grpc")
    ? envelope(message("test0"))
    : message("test0");

/** How a response is cut short: what a dying replica, or a balancer in front of one, does. */
interface Cut {
  readonly name: string;
  readonly httpVersion: HttpVersion;
  /** The stream ends as a complete one would, so only an end marker the protocol has can tell. */
  readonly endsCleanly?: boolean;
  start(): Promise<Listening>;
}

/** An h2c server that answers every stream with `answer`, mirroring the request's content type. */
function h2Server(answer: (stream: http2.ServerHttp2Stream, contentType: string, socket: Socket) => void) {
  const server = http2.createServer();
  const sockets = new Map<number, Socket>();
  server.on("connection", (socket: Socket) => {
    if (socket.remotePort !== undefined) sockets.set(socket.remotePort, socket);
  });
  // The client resets the streams (and closes the connections) it gives up on.
  server.on("session", (session) => session.on("error", () => {}));
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    stream.resume();
    const socket = sockets.get(stream.session?.socket.remotePort ?? 0);
    assert.ok(socket, "the stream's connection");
    answer(stream, String(headers["content-type"]), socket);
  });
  return listen(server);
}

/** An HTTP/1.1 server that answers every request with `answer`. */
function h1Server(answer: (res: http.ServerResponse, contentType: string, socket: Socket) => void) {
  return listen(
    http.createServer((req, res) => {
      req.resume();
      answer(res, String(req.headers["content-type"]), req.socket);
    }),
  );
}

/** Long enough for the client to have read what came before. */
const later = (f: () => void) => setTimeout(f, 20);

const cuts: readonly Cut[] = [
  {
    name: "ends the HTTP/2 stream cleanly after the response headers, without a status (HAProxy 2.6)",
    httpVersion: "2",
    endsCleanly: true,
    start: () =>
      h2Server((stream, contentType) => {
        stream.respond({ ":status": 200, "content-type": contentType });
        later(() => stream.end());
      }),
  },
  {
    name: "ends the HTTP/2 stream cleanly after one message, without a status",
    httpVersion: "2",
    endsCleanly: true,
    start: () =>
      h2Server((stream, contentType) => {
        stream.respond({ ":status": 200, "content-type": contentType });
        stream.write(firstMessage(contentType));
        later(() => stream.end());
      }),
  },
  {
    name: "resets the HTTP/2 connection (TCP RST) after one message",
    httpVersion: "2",
    start: () =>
      h2Server((stream, contentType, socket) => {
        stream.respond({ ":status": 200, "content-type": contentType });
        stream.write(firstMessage(contentType));
        later(() => socket.resetAndDestroy());
      }),
  },
  {
    name: "closes the HTTP/1.1 connection before answering",
    httpVersion: "1.1",
    start: () => h1Server((_res, _contentType, socket) => socket.destroy()),
  },
  {
    name: "closes the HTTP/1.1 connection after one message",
    httpVersion: "1.1",
    start: () =>
      h1Server((res, contentType, socket) => {
        // A Connect unary answer announces its length; the others are chunked.
        const length = contentType === "application/proto" ? { "content-length": 99 } : {};
        res.writeHead(200, { "content-type": contentType, ...length });
        res.write(firstMessage(contentType));
        later(() => socket.destroy());
      }),
  },
  {
    name: "resets the HTTP/1.1 connection (TCP RST) after one message",
    httpVersion: "1.1",
    start: () =>
      h1Server((res, contentType, socket) => {
        res.writeHead(200, { "content-type": contentType });
        res.write(firstMessage(contentType));
        later(() => socket.resetAndDestroy());
      }),
  },
];

const protocolsOver = (httpVersion: HttpVersion): Protocol[] =>
  httpVersion === "2" ? ["connect", "grpc", "grpc-web"] : ["connect", "grpc-web"];

interface CallOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** One call of each kind the HTTP version allows, each run to its end. */
function callsOver(httpVersion: HttpVersion) {
  const names = () => createAsyncIterable([{ namelist: "a" }]);
  const calls = {
    unary: (client: SimpleTestClient, options?: CallOptions) => client.getOne({ hello: "x" }, options),
    "server streaming": async (client: SimpleTestClient, options?: CallOptions) => {
      for await (const _ of client.getList({ hello: "x" }, options));
    },
    "client streaming": (client: SimpleTestClient, options?: CallOptions) => client.postList(names(), options),
    "bidi streaming": async (client: SimpleTestClient, options?: CallOptions) => {
      for await (const _ of client.postAndPost(names(), options));
    },
  };
  const kinds = Object.entries(calls);
  return httpVersion === "2" ? kinds : kinds.filter(([kind]) => kind !== "bidi streaming");
}

/** The error `call` ends with; fails the test if it succeeds. */
async function failureOf(call: () => Promise<unknown>): Promise<ConnectError> {
  try {
    await call();
  } catch (e) {
    assert.ok(e instanceof ConnectError, `not a ConnectError: ${e}`);
    return e;
  }
  assert.fail("the call succeeded");
}

describe("a call whose response is cut short fails with unavailable, keeping the original error as cause", {
  timeout: 30_000,
}, () => {
  for (const cut of cuts) {
    describe(`a server that ${cut.name}`, () => {
      let server: Listening;
      before(async () => {
        server = await cut.start();
      });
      after(() => server.close());

      for (const protocol of protocolsOver(cut.httpVersion)) {
        for (const [kind, call] of callsOver(cut.httpVersion)) {
          // A Connect unary body ends where the stream ends: a clean end is a complete (if empty) answer.
          if (cut.endsCleanly && protocol === "connect" && kind === "unary") continue;
          it(`${protocol}, ${kind}`, async () => {
            const client = createSimpleTestClient({ baseUrl: server.url, protocol, httpVersion: cut.httpVersion });
            try {
              const error = await failureOf(() => call(client));
              assert.equal(Code[error.code], Code[Code.Unavailable], error.message);
              assert.ok(error.cause instanceof ConnectError, "the original error is the cause");
              assert.equal(
                error.rawMessage,
                `the connection to the server was lost before the call completed (${error.cause.rawMessage})`,
              );
            } finally {
              client.close();
            }
          });
        }
      }
    });
  }
});

/** Errors a server really sends, worded like the client's own cut-short errors. */
const sentByServer = [
  { code: Code.Internal, message: "protocol error: missing status" },
  { code: Code.InvalidArgument, message: "protocol error: missing EndStreamResponse" },
] as const;

/** A real connect-es server whose every method fails with `sentByServer[i]` for the name `"i"`. */
function failingRoutes(router: ConnectRouter) {
  const fail = (name: string) => {
    const { code, message } = sentByServer[Number(name)];
    return new ConnectError(message, code);
  };
  router.service(SimpleTest, {
    getOne: (req) => {
      throw fail(req.hello);
    },
    async *getList(req) {
      yield { resultlist: "test0" };
      throw fail(req.hello);
    },
    async postList(reqs) {
      for await (const req of reqs) throw fail(req.namelist);
      return {};
    },
    async *postAndPost(reqs) {
      for await (const req of reqs) {
        yield { resultlist: "first" };
        throw fail(req.namelist);
      }
    },
  });
}

describe("errors that are not a response cut short pass through unchanged", { timeout: 30_000 }, () => {
  for (const httpVersion of ["2", "1.1"] as const) {
    describe(`a server's own errors, over HTTP/${httpVersion}`, () => {
      let server: Listening;
      before(async () => {
        const handler = connectNodeAdapter({ routes: failingRoutes });
        server = await listen(httpVersion === "2" ? http2.createServer(handler) : http.createServer(handler));
      });
      after(() => server.close());

      for (const protocol of protocolsOver(httpVersion)) {
        for (const [i, sent] of sentByServer.entries()) {
          it(`${protocol}: ${Code[sent.code]} "${sent.message}", every kind of call`, async () => {
            const client = createSimpleTestClient({ baseUrl: server.url, protocol, httpVersion });
            try {
              const calls = {
                unary: () => client.getOne({ hello: `${i}` }),
                "server streaming": async () => {
                  for await (const _ of client.getList({ hello: `${i}` }));
                },
                "client streaming": () => client.postList(createAsyncIterable([{ namelist: `${i}` }])),
                "bidi streaming": async () => {
                  for await (const _ of client.postAndPost(createAsyncIterable([{ namelist: `${i}` }])));
                },
              };
              for (const [kind, call] of Object.entries(calls)) {
                if (kind === "bidi streaming" && httpVersion === "1.1") continue;
                const error = await failureOf(call);
                assert.equal(Code[error.code], Code[sent.code], `${kind}: ${error.message}`);
                assert.equal(error.rawMessage, sent.message, kind);
                assert.equal(error.cause, undefined, kind);
              }
            } finally {
              client.close();
            }
          });
        }
      }
    });

    describe(`the caller's deadline and cancel, over HTTP/${httpVersion}, with a server that answers headers and then nothing`, () => {
      let server: Listening;
      before(async () => {
        server =
          httpVersion === "2"
            ? await h2Server((stream, contentType) => stream.respond({ ":status": 200, "content-type": contentType }))
            : await h1Server((res, contentType) => res.writeHead(200, { "content-type": contentType }).flushHeaders());
      });
      after(() => server.close());

      for (const protocol of protocolsOver(httpVersion)) {
        it(`${protocol}: deadline_exceeded on every kind of call`, async () => {
          const client = createSimpleTestClient({ baseUrl: server.url, protocol, httpVersion });
          try {
            for (const [kind, call] of callsOver(httpVersion)) {
              const error = await failureOf(() => call(client, { timeoutMs: 100 }));
              assert.equal(Code[error.code], Code[Code.DeadlineExceeded], `${kind}: ${error.message}`);
            }
          } finally {
            client.close();
          }
        });

        it(`${protocol}: canceled on every kind of call`, async () => {
          const client = createSimpleTestClient({ baseUrl: server.url, protocol, httpVersion });
          try {
            for (const [kind, call] of callsOver(httpVersion)) {
              const abort = new AbortController();
              setTimeout(() => abort.abort(), 100);
              const error = await failureOf(() => call(client, { signal: abort.signal }));
              assert.equal(Code[error.code], Code[Code.Canceled], `${kind}: ${error.message}`);
            }
          } finally {
            client.close();
          }
        });
      }
    });
  }
});
