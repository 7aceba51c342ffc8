import { Buffer } from "node:buffer";

/** A load shape, the servers it runs against, and how to tell a right answer. */
export interface Workload {
  readonly id: string;
  readonly title: string;
  /** h2load requests, or the Node bidi client's messages. */
  readonly driver: "h2load" | "bidi";
  readonly path: string;
  readonly http1: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  /** Peer names this workload runs against besides our server. */
  readonly peers: readonly string[];
  /** True when a probe's answer body is the right one. */
  readonly expect: (body: Buffer) => boolean;
}

const grpcHeaders = { "content-type": "application/grpc", te: "trailers" };
// RequestOne{hello:"world"}, protobuf binary.
const requestOne = Buffer.from([0x0a, 5, ...Buffer.from("world")]);
const enveloped = (message: Uint8Array) => Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);
const holds = (text: string) => (body: Buffer) => body.includes(text);

export const workloads: readonly Workload[] = [
  {
    id: "grpc-unary",
    title: "gRPC unary GetOne (h2c)",
    driver: "h2load",
    path: "/simpletest.SimpleTest/GetOne",
    http1: false,
    headers: grpcHeaders,
    body: enveloped(requestOne),
    peers: ["grpc-js", "bare-http2"],
    expect: holds("Hello !! world"),
  },
  {
    id: "grpc-getlist",
    title: "gRPC GetList, 5 messages (h2c)",
    driver: "h2load",
    path: "/simpletest.SimpleTest/GetList",
    http1: false,
    headers: grpcHeaders,
    body: enveloped(requestOne),
    peers: ["grpc-js", "bare-http2"],
    expect: holds("test4"),
  },
  {
    id: "connect-json-h1",
    title: "Connect JSON unary GetOne (HTTP/1.1)",
    driver: "h2load",
    path: "/simpletest.SimpleTest/GetOne",
    http1: true,
    headers: { "content-type": "application/json" },
    body: Buffer.from('{"hello":"world"}'),
    peers: ["bare-fastify"],
    expect: (body) => body.toString() === '{"result":"Hello !! world"}',
  },
  {
    id: "connect-proto-h2",
    title: "Connect proto unary GetOne (h2c)",
    driver: "h2load",
    path: "/simpletest.SimpleTest/GetOne",
    http1: false,
    headers: { "content-type": "application/proto" },
    body: requestOne,
    peers: ["bare-http2"],
    expect: holds("Hello !! world"),
  },
  {
    id: "grpc-bidi",
    title: "gRPC bidi PostAndPost, messages/s (h2c)",
    driver: "bidi",
    path: "/simpletest.SimpleTest/PostAndPost",
    http1: false,
    headers: grpcHeaders,
    body: enveloped(Buffer.from([0x0a, 5, ...Buffer.from("world")])),
    peers: ["grpc-js", "bare-http2"],
    expect: holds("Hello !! world"),
  },
];
