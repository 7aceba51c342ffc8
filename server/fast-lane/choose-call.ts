import type http2 from "node:http2";
import type { MethodImplSpec, ServiceImplSpec } from "@connectrpc/connect";
import {
  type Compression,
  compressionNegotiate,
  createMethodSerializationLookup,
  type validateUniversalHandlerOptions,
} from "@connectrpc/connect/protocol";
import * as connect from "@connectrpc/connect/protocol-connect";
import * as grpc from "@connectrpc/connect/protocol-grpc";
import { declaresTooLong } from "./declared-length.js";
import type { FastLaneOptions } from "./fast-lane.js";
import { type JsonAnswer, jsonAnswer } from "./json-answer.js";
import { type JsonRequest, jsonRequest } from "./json-request.js";
import { type PartsParser, partsParser } from "./message-parts.js";
import { plainBinary } from "./plain-binary.js";
import { sizedBinary, withRoom } from "./sized-binary.js";

/** connect-es's options, validated and completed as its handlers use them. */
export type Options = ReturnType<typeof validateUniversalHandlerOptions>;

/** A method the lane serves. */
export interface Route {
  readonly spec: MethodImplSpec;
  readonly procedure: string;
  /**
   * A request message in binary: plain-binary.ts where it reads the bytes,
   * else connect-es's parse (and its errors).
   */
  readonly binaryRequest: (bytes: Uint8Array) => unknown;
  /** The same, from the parts the message came in (message-parts.ts). */
  readonly binaryRequestFromParts: PartsParser;
  /**
   * An answer in binary, after `room` bytes left for an envelope's head:
   * sized-binary.ts where it takes the message, else connect-es's
   * serialization (and its errors).
   */
  readonly binaryAnswer: (message: unknown, room: number) => Uint8Array;
  /** A Connect unary request message in JSON (json-request.ts). */
  readonly jsonRequest: JsonRequest;
  /** A Connect unary answer in JSON (json-answer.ts). */
  readonly jsonAnswer: JsonAnswer;
}

/** What `FastLane.serve` set up. */
export interface Serving {
  readonly opt: Options;
  readonly options: FastLaneOptions;
  readonly routes: ReadonlyMap<string, Route>;
  /** For a gRPC body read so far: whether its envelope header says the lane should not read on. */
  readonly envelopeRefused: (consumed: readonly Buffer[], size: number) => boolean;
}

/** The shapes the lane serves, by content type; any other request is not touched. */
export type Shape = "grpc" | "grpc-web" | "connect-proto" | "connect-json";
const shapes: Readonly<Record<string, Shape>> = {
  "application/grpc": "grpc",
  "application/grpc+proto": "grpc",
  "application/grpc-web": "grpc-web",
  "application/grpc-web+proto": "grpc-web",
  "application/proto": "connect-proto",
  "application/json": "connect-json",
};

/** Whether the shape's messages come and go in envelopes, the status after them (gRPC and gRPC-Web). */
export const isEnveloped = (shape: Shape): boolean => shape === "grpc" || shape === "grpc-web";

/** A call the lane takes, as its headers tell it. */
export interface Plan {
  readonly serving: Serving;
  readonly route: Route;
  readonly shape: Shape;
  readonly timeoutMs: number | undefined;
}

/** The services' methods, by path, with connect-es's serialization (and its size limits). */
export function routesOf(services: readonly ServiceImplSpec[], opt: Options): Map<string, Route> {
  const routes = new Map<string, Route>();
  for (const service of services) {
    for (const spec of Object.values(service.methods)) {
      const procedure = `/${spec.method.parent.typeName}/${spec.method.name}`;
      const serialization = createMethodSerializationLookup(spec.method, opt.binaryOptions, opt.jsonOptions, opt);
      const serialize = serialization.getO(true).serialize;
      const serializeJson = serialization.getO(false).serialize;
      const sized = sizedBinary(spec.method.output);
      const parse = serialization.getI(true).parse;
      const plain = plainBinary(spec.method.input, opt.binaryOptions?.recursionLimit);
      // connect-es's parse also says when a message is over the size limit (the lane's reading
      // stops such a body before, but this stands for that parse wherever it is called).
      const binaryRequest = (bytes: Uint8Array) =>
        (bytes.byteLength <= opt.readMaxBytes ? plain(bytes) : undefined) ?? parse(bytes);
      routes.set(procedure, {
        spec,
        procedure,
        binaryRequest,
        binaryRequestFromParts: partsParser(spec.method.input, binaryRequest),
        binaryAnswer: (message, room) =>
          sized?.(message, room, opt.writeMaxBytes) ?? withRoom(serialize(message as never), room),
        jsonRequest: jsonRequest(spec.method.input, serialization.getI(false).parse, opt),
        jsonAnswer: jsonAnswer(spec.method.output, (message) => serializeJson(message as never), opt),
      });
    }
  }
  return routes;
}

/** The request's head, as either way in (compatibility request or raw HTTP/2 stream) gives it. */
export interface RequestHead {
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly authority: string | undefined;
  readonly headers: http2.IncomingHttpHeaders;
  readonly overHttp2: boolean;
}

/**
 * How the lane would serve a request with this head, or undefined if it
 * would not: a POST to a route, of a shape it serves, without an encoding, a
 * declared length over the limit or a deadline connect-es would refuse; gRPC
 * only over HTTP/2; streaming methods over gRPC, and server streaming over
 * gRPC-Web too (whose request, one message, is read as a unary call's).
 */
export function chooseCall(serving: Serving, head: RequestHead): Plan | undefined {
  const { method, path, authority, headers } = head;
  if (method !== "POST" || !authority) return undefined;
  const { opt } = serving;
  const route = serving.routes.get(path ?? "");
  const shape = route && shapes[headers["content-type"] ?? ""];
  if (route === undefined || shape === undefined) return undefined;
  const kind = route.spec.kind;
  if (kind !== "unary" && shape !== "grpc" && (kind !== "server_streaming" || shape !== "grpc-web")) return undefined;
  let timeout: ReturnType<typeof grpc.parseTimeout>;
  if (isEnveloped(shape)) {
    const encoding = headers["grpc-encoding"];
    if ((shape === "grpc" && !head.overHttp2) || (encoding !== undefined && encoding !== "identity")) return undefined;
    timeout = grpc.parseTimeout(headerValue(headers["grpc-timeout"]), opt.maxTimeoutMs);
  } else {
    const encoding = headers["content-encoding"];
    if (encoding !== undefined && encoding !== "identity") return undefined;
    if (opt.requireConnectProtocolHeader && headers["connect-protocol-version"] !== connect.protocolVersion) {
      return undefined;
    }
    if (declaresTooLong(headers, opt.readMaxBytes)) return undefined;
    timeout = connect.parseTimeout(headerValue(headers["connect-timeout-ms"]), opt.maxTimeoutMs);
  }
  if (timeout.error) return undefined;
  return { serving, route, shape, timeoutMs: timeout.timeoutMs };
}

/** The response compression the client accepts, as connect-es negotiates it. */
export function negotiateCompression(
  opt: Options,
  headers: http2.IncomingHttpHeaders,
  enveloped: boolean,
): Compression | null {
  const acceptHeader = enveloped ? grpc.headerAcceptEncoding : connect.headerUnaryAcceptEncoding;
  return compressionNegotiate(
    opt.acceptCompression,
    null,
    headerValue(headers[acceptHeader.toLowerCase()]),
    acceptHeader,
  ).response;
}

function headerValue(value: string | string[] | undefined): string | null {
  return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
}
