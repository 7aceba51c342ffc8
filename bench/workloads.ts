import { Buffer } from "node:buffer";
import { create, toBinary } from "@bufbuild/protobuf";
import { RequestListSchema, RequestOneSchema } from "../gen/simpletest/simple_test_pb.js";

/** A load shape, the servers it runs against, and how to tell a right answer. */
export interface Workload {
  readonly id: string;
  readonly title: string;
  /** h2load requests, or the Node bidi client's messages on long-lived streams. */
  readonly driver: "h2load" | "bidi";
  /** What the headline table groups it under. */
  readonly group: "kinds" | "size" | "concurrency";
  readonly path: string;
  readonly http1: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  /** h2load connections and streams per connection, when not the run's own. */
  readonly connections?: number;
  readonly streams?: number;
  /** Peer names this workload runs against besides our server. */
  readonly peers: readonly string[];
  /** Issue 13's target: ours ÷ this peer, in calls (or messages) a second, at least `ratio`. */
  readonly target?: Readonly<{ peer: string; ratio: number }>;
  /** True when a probe's answer body is the right one. */
  readonly expect: (body: Buffer) => boolean;
}

const service = "/simpletest.SimpleTest";
const grpcHeaders = { "content-type": "application/grpc", te: "trailers" };
const requestOne = (hello: string) => toBinary(RequestOneSchema, create(RequestOneSchema, { hello }));
const requestList = (namelist: string) => toBinary(RequestListSchema, create(RequestListSchema, { namelist }));
const enveloped = (message: Uint8Array, times = 1) => {
  const one = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), message]);
  one.writeUInt32BE(message.length, 1);
  return Buffer.concat(Array.from({ length: times }, () => one));
};
const holds =
  (text: string, times = 1) =>
  (body: Buffer) =>
    body.toString("latin1").split(text).length - 1 === times;
const kb64 = "x".repeat(64 * 1024);
const mb1 = "x".repeat(1024 * 1024);

/** gRPC over h2c against grpc-js (and the bare http2 ceiling when `ceiling`). */
function grpcLoad(
  fields: Pick<Workload, "id" | "title" | "group" | "path" | "body" | "expect" | "connections" | "streams" | "target">,
  ceiling = false,
): Workload {
  return {
    driver: "h2load",
    http1: false,
    headers: grpcHeaders,
    peers: ceiling ? ["grpc-js", "bare-http2"] : ["grpc-js"],
    ...fields,
  };
}

/** gRPC unary GetOne on `connections` × `streams`, how cost grows with concurrency: 1.2× grpc-js asked, bare http2 beside. */
function unaryAt(connections: number, streams: number): Workload {
  return grpcLoad(
    {
      id: `grpc-unary-c${connections}m${streams}`,
      title: `gRPC unary GetOne, ${connections} connections × ${streams} streams (h2c)`,
      target: { peer: "grpc-js", ratio: 1.2 },
      group: "concurrency",
      path: `${service}/GetOne`,
      body: enveloped(requestOne("world")),
      connections,
      streams,
      expect: holds("Hello !! world"),
    },
    true,
  );
}

/** The RSS a server may reach under any load (issue 13), in MB. */
export const rssBoundMb = 150;

export const workloads: readonly Workload[] = [
  grpcLoad(
    {
      id: "grpc-unary",
      title: "gRPC unary GetOne (h2c)",
      target: { peer: "grpc-js", ratio: 1.2 },
      group: "kinds",
      path: `${service}/GetOne`,
      body: enveloped(requestOne("world")),
      expect: holds("Hello !! world"),
    },
    true,
  ),
  grpcLoad(
    {
      id: "grpc-getlist",
      title: "gRPC GetList, 5 messages (h2c)",
      target: { peer: "grpc-js", ratio: 1 },
      group: "kinds",
      path: `${service}/GetList`,
      body: enveloped(requestOne("world")),
      expect: (body) => holds("test0")(body) && holds("test4")(body),
    },
    true,
  ),
  grpcLoad({
    id: "grpc-postlist",
    title: "gRPC PostList, 10 messages per call (h2c)",
    target: { peer: "grpc-js", ratio: 1 },
    group: "kinds",
    path: `${service}/PostList`,
    body: enveloped(requestList("world"), 10),
    expect: holds("PostList OK"),
  }),
  grpcLoad({
    id: "grpc-postandpost",
    title: "gRPC PostAndPost, 10 messages each way per call (h2c)",
    target: { peer: "grpc-js", ratio: 1 },
    group: "kinds",
    path: `${service}/PostAndPost`,
    body: enveloped(requestList("world"), 10),
    expect: holds("Hello !! world", 10),
  }),
  {
    id: "grpc-bidi",
    title: "gRPC PostAndPost on long-lived streams, messages/s (h2c)",
    target: { peer: "grpc-js", ratio: 1 },
    driver: "bidi",
    group: "kinds",
    path: `${service}/PostAndPost`,
    http1: false,
    headers: grpcHeaders,
    body: enveloped(requestList("world")),
    peers: ["grpc-js", "bare-http2"],
    expect: holds("Hello !! world"),
  },
  {
    id: "grpc-web-unary",
    title: "gRPC-Web unary GetOne (h2c)",
    driver: "h2load",
    group: "kinds",
    path: `${service}/GetOne`,
    http1: false,
    headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
    body: enveloped(requestOne("world")),
    peers: ["bare-http2"],
    expect: holds("Hello !! world"),
  },
  {
    id: "connect-json-h1",
    title: "Connect JSON unary GetOne (HTTP/1.1)",
    target: { peer: "bare-fastify", ratio: 0.8 },
    driver: "h2load",
    group: "kinds",
    path: `${service}/GetOne`,
    http1: true,
    headers: { "content-type": "application/json" },
    body: Buffer.from('{"hello":"world"}'),
    peers: ["bare-fastify"],
    expect: (body) => body.toString() === '{"result":"Hello !! world"}',
  },
  {
    id: "connect-proto-h2",
    title: "Connect proto unary GetOne (h2c)",
    target: { peer: "bare-http2", ratio: 0.8 },
    driver: "h2load",
    group: "kinds",
    path: `${service}/GetOne`,
    http1: false,
    headers: { "content-type": "application/proto" },
    body: requestOne("world"),
    peers: ["bare-http2"],
    expect: holds("Hello !! world"),
  },
  grpcLoad({
    id: "grpc-unary-64k",
    title: "gRPC unary GetOne, 64 KiB each way (h2c)",
    target: { peer: "grpc-js", ratio: 1 },
    group: "size",
    path: `${service}/GetOne`,
    body: enveloped(requestOne(kb64)),
    expect: holds(`Hello !! ${kb64}`),
  }),
  grpcLoad({
    id: "grpc-unary-1m",
    title: "gRPC unary GetOne, 1 MiB each way (h2c, 4 × 4)",
    target: { peer: "grpc-js", ratio: 1 },
    group: "size",
    path: `${service}/GetOne`,
    body: enveloped(requestOne(mb1)),
    connections: 4,
    streams: 4,
    expect: holds(`Hello !! ${mb1}`),
  }),
  grpcLoad({
    id: "grpc-postlist-64k",
    title: "gRPC PostList, 10 × 64 KiB up (h2c, 4 × 4)",
    target: { peer: "grpc-js", ratio: 1 },
    group: "size",
    path: `${service}/PostList`,
    body: enveloped(requestList(kb64), 10),
    connections: 4,
    streams: 4,
    expect: holds("PostList OK"),
  }),
  grpcLoad({
    id: "grpc-postandpost-64k",
    title: "gRPC PostAndPost, 10 × 64 KiB each way (h2c, 4 × 4)",
    target: { peer: "grpc-js", ratio: 1 },
    group: "size",
    path: `${service}/PostAndPost`,
    body: enveloped(requestList(kb64), 10),
    connections: 4,
    streams: 4,
    expect: holds(`Hello !! ${kb64}`, 10),
  }),
  grpcLoad({
    id: "grpc-postandpost-1m",
    title: "gRPC PostAndPost, 4 × 1 MiB each way (h2c, 2 × 2)",
    target: { peer: "grpc-js", ratio: 1 },
    group: "size",
    path: `${service}/PostAndPost`,
    body: enveloped(requestList(mb1), 4),
    connections: 2,
    streams: 2,
    expect: holds(`Hello !! ${mb1}`, 4),
  }),
  unaryAt(4, 100),
  unaryAt(64, 4),
];
