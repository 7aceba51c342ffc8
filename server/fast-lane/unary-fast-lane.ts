import type http from "node:http";
import type http2 from "node:http2";
import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues, type MethodImplSpec, type ServiceImplSpec } from "@connectrpc/connect";
import {
  type Compression,
  compressionNegotiate,
  createMethodSerializationLookup,
  encodeEnvelope,
  envelopeCompress,
  invokeUnaryImplementation,
  type MethodSerializationLookup,
  mergeNonProtocolHeaders,
  type UniversalHandlerOptions,
  validateUniversalHandlerOptions,
} from "@connectrpc/connect/protocol";
import * as connect from "@connectrpc/connect/protocol-connect";
import * as grpc from "@connectrpc/connect/protocol-grpc";
import { type CallContext, createCallContext } from "./call-context.js";
import { type NodeRequest, readBody, unread } from "./request-body.js";
import { writeResponse } from "./write-response.js";

type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;
export type Listener = (req: NodeRequest, res: NodeResponse) => void;
type Options = ReturnType<typeof validateUniversalHandlerOptions>;

export interface UnaryFastLaneOptions extends Partial<UniversalHandlerOptions> {
  /** Implementations the router also serves; only their unary methods take the fast lane. */
  readonly services: readonly ServiceImplSpec[];
  /** The context values connect-fastify's `contextValues` would give the call. */
  readonly contextValues: (req: NodeRequest) => ContextValues;
  /** Headers Fastify's hooks put on every response (connect-fastify passes them on), e.g. CORS's `vary`. */
  readonly fastifyHeaders?: Readonly<Record<string, string>>;
  /** Where a failure of the lane itself is told (one the call's own error handling did not catch). */
  readonly log: { error(fields: object, message: string): void };
}

export interface UnaryFastLane {
  /** A request listener that serves what it can and hands the rest to `next` untouched. */
  wrap(next: Listener): Listener;
  /** Starts serving; until then, and without it, every request goes to `next`. */
  serve(options: UnaryFastLaneOptions): void;
  /** From now on every request goes to `next` (the server is shutting down, as Fastify then answers 503). */
  stop(): void;
}

interface Route {
  readonly spec: MethodImplSpec & { kind: "unary" };
  readonly serialization: MethodSerializationLookup<DescMessage, DescMessage>;
}

/** The shapes the lane serves, by content type; any other request is not touched. */
type Shape = "grpc" | "connect-proto" | "connect-json";
const shapes: Readonly<Record<string, Shape>> = {
  "application/grpc": "grpc",
  "application/grpc+proto": "grpc",
  "application/proto": "connect-proto",
  "application/json": "connect-json",
};

/**
 * Serves the hottest calls without connect-es's per-call stream machinery:
 * unary RPCs over gRPC (binary, HTTP/2) and Connect (binary or JSON, POST)
 * with uncompressed requests and no CORS. It is built from connect-es's own
 * exported pieces (handler context, request gate, interceptor chain,
 * serialization with its size limits, timeout parsing, compression
 * negotiation, error encoding), so a call gets the same answer, headers and
 * trailers as through connect-es, and the same interceptors see it.
 *
 * Anything else goes to connect-es unchanged, before any interceptor runs: a
 * request with other headers at once; a body over the limit, malformed or
 * undecodable with the bytes read so far put back, so that connect-es answers
 * it with its own error.
 */
export function createUnaryFastLane(): UnaryFastLane {
  let routes = new Map<string, Route>();
  let opt: Options | undefined;
  let fastifyHeaders: Readonly<Record<string, string>> = {};
  let log: UnaryFastLaneOptions["log"] | undefined;
  // A rejection here would be unhandled and end the process: cut this one call instead.
  const failed = (error: unknown, res: NodeResponse) => {
    log?.error({ err: error, url: res.req?.url }, "the fast lane failed a call");
    res.destroy();
  };
  let contextValues: UnaryFastLaneOptions["contextValues"] = () => {
    throw new Error("the fast lane is not serving");
  };

  const wrap =
    (next: Listener): Listener =>
    (req, res) => {
      const route = opt === undefined || req.method !== "POST" ? undefined : routes.get(req.url ?? "");
      const headers = req.headers;
      const shape = route && shapes[headers["content-type"] ?? ""];
      const authority = "authority" in req ? req.authority : headers.host;
      if (
        opt === undefined ||
        route === undefined ||
        shape === undefined ||
        headers.origin !== undefined ||
        !authority
      ) {
        return next(req, res);
      }
      // As connect-node spells it. A client's authority that makes no URL (an
      // unbracketed IPv6 address) is connect-es's to answer, not a crash here.
      const base = `${"encrypted" in req.socket && req.socket.encrypted ? "https" : "http"}://${authority}`;
      if (!URL.canParse(req.url ?? "", base)) return next(req, res);
      const url = new URL(req.url ?? "", base).toString();
      if (shape === "grpc") {
        const encoding = headers["grpc-encoding"];
        if (req.httpVersion !== "2.0" || (encoding !== undefined && encoding !== "identity")) return next(req, res);
        const timeout = grpc.parseTimeout(headerValue(headers["grpc-timeout"]), opt.maxTimeoutMs);
        if (timeout.error) return next(req, res);
        return void serve(opt, route, "grpc", url, timeout.timeoutMs, req, res, next).catch((e) => failed(e, res));
      }
      const encoding = headers["content-encoding"];
      if (encoding !== undefined && encoding !== "identity") return next(req, res);
      if (opt.requireConnectProtocolHeader && headers["connect-protocol-version"] !== connect.protocolVersion) {
        return next(req, res);
      }
      const timeout = connect.parseTimeout(headerValue(headers["connect-timeout-ms"]), opt.maxTimeoutMs);
      if (timeout.error) return next(req, res);
      void serve(opt, route, shape, url, timeout.timeoutMs, req, res, next).catch((e) => failed(e, res));
    };

  async function serve(
    opt: Options,
    route: Route,
    shape: Shape,
    url: string,
    timeoutMs: number | undefined,
    req: NodeRequest,
    res: NodeResponse,
    next: Listener,
  ): Promise<void> {
    const isGrpc = shape === "grpc";
    const binary = shape !== "connect-json";
    const acceptHeader = isGrpc ? grpc.headerAcceptEncoding : connect.headerUnaryAcceptEncoding;
    const compression = compressionNegotiate(
      opt.acceptCompression,
      null,
      headerValue(req.headers[acceptHeader.toLowerCase()]),
      acceptHeader,
    ).response;
    const context = createCallContext({
      spec: route.spec,
      protocolName: isGrpc ? "grpc" : "connect",
      req,
      res,
      url,
      timeoutMs,
      shutdownSignal: opt.shutdownSignal,
      responseHeader: isGrpc
        ? { [grpc.headerContentType]: grpc.contentTypeProto }
        : { [connect.headerContentType]: binary ? connect.contentTypeUnaryProto : connect.contentTypeUnaryJson },
      responseTrailer: isGrpc ? { [grpc.headerGrpcStatus]: grpc.grpcStatusOk } : undefined,
      contextValues: contextValues(req),
    });
    if (isGrpc && compression) context.responseHeader.set(grpc.headerEncoding, compression.name);
    for (const [name, value] of Object.entries(fastifyHeaders)) res.setHeader(name, value);

    let answer: Uint8Array;
    try {
      // As connect-es: the gate runs before the body is read.
      if (opt.requestGate !== undefined) await opt.requestGate(context);
      const body = await readWithin(req, isGrpc ? opt.readMaxBytes + 5 : opt.readMaxBytes, context.signal);
      const input = body && parse(route, isGrpc, binary, body);
      if (input === undefined) {
        if (body !== undefined) unread(req, [body]);
        // Not ours to judge: no interceptor has seen the call, connect-es starts it afresh.
        context.abort();
        return next(req, res);
      }
      const output = await invokeUnaryImplementation(route.spec, context, input as never, opt.interceptors);
      answer = route.serialization.getO(binary).serialize(output);
    } catch (e) {
      context.abort(e);
      const error = asConnectError(e);
      if (isGrpc) {
        grpc.setTrailerStatus(context.responseTrailer, error);
        return writeResponse(res, 200, context.responseHeader, undefined, context.responseTrailer);
      }
      context.responseHeader.set(connect.headerContentType, connect.contentTypeUnaryJson);
      if (!error.isWireError) mergeNonProtocolHeaders(context.responseHeader, error.metadata);
      const json = connect.errorToJsonBytes(error, opt.jsonOptions);
      return writeConnect(opt, context, connect.codeToHttpStatus(error.code), json, compression, res);
    }
    context.abort();
    if (isGrpc) {
      const envelope = await envelopeCompress({ flags: 0, data: answer }, compression, opt.compressMinBytes);
      writeResponse(
        res,
        200,
        context.responseHeader,
        encodeEnvelope(envelope.flags, envelope.data),
        context.responseTrailer,
      );
    } else {
      await writeConnect(opt, context, 200, answer, compression, res);
    }
  }

  /**
   * The whole body, or undefined when it is longer than `limit` (then it is
   * put back, partly read). Rejects with the signal's reason if the call ends
   * first: its deadline, the client going away, the shutdown.
   */
  function readWithin(req: NodeRequest, limit: number, signal: AbortSignal): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => {
        req.pause();
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      readBody(
        req,
        limit,
        (body) => {
          signal.removeEventListener("abort", onAbort);
          resolve(body);
        },
        (consumed) => {
          signal.removeEventListener("abort", onAbort);
          unread(req, consumed);
          resolve(undefined);
        },
      );
    });
  }

  /** The request message, or undefined when connect-es should say what is wrong with it. */
  function parse(route: Route, isGrpc: boolean, binary: boolean, body: Buffer): unknown {
    // gRPC: exactly one uncompressed envelope around the message.
    const wellFramed = !isGrpc || (body.length >= 5 && body[0] === 0 && body.readUInt32BE(1) === body.length - 5);
    try {
      if (wellFramed) return route.serialization.getI(binary).parse(isGrpc ? body.subarray(5) : body);
    } catch {
      // connect-es decodes it again and reports the failure its own way.
    }
    return undefined;
  }

  return {
    wrap,
    serve(options) {
      opt = validateUniversalHandlerOptions(options);
      contextValues = options.contextValues;
      fastifyHeaders = options.fastifyHeaders ?? {};
      log = options.log;
      routes = new Map();
      for (const service of options.services) {
        for (const spec of Object.values(service.methods)) {
          if (spec.kind !== "unary") continue;
          routes.set(`/${spec.method.parent.typeName}/${spec.method.name}`, {
            spec,
            serialization: createMethodSerializationLookup(spec.method, opt.binaryOptions, opt.jsonOptions, opt),
          });
        }
      }
    },
    stop() {
      opt = undefined;
    },
  };
}

/** The rest of connect-es's unary Connect answer: compression, trailers as headers, length. */
async function writeConnect(
  opt: Options,
  context: CallContext,
  status: number,
  body: Uint8Array,
  compression: Compression | null,
  res: NodeResponse,
): Promise<void> {
  let bytes = body;
  if (compression && bytes.byteLength >= opt.compressMinBytes) {
    bytes = await compression.compress(bytes);
    context.responseHeader.set(connect.headerUnaryEncoding, compression.name);
  }
  const header = connect.trailerMux(context.responseHeader, context.responseTrailer);
  header.set(connect.headerUnaryContentLength, bytes.byteLength.toString(10));
  writeResponse(res, status, header, bytes, undefined);
}

/** As connect-es does: an unexpected exception becomes internal, with the cause kept. */
function asConnectError(e: unknown): ConnectError {
  return e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
}

function headerValue(value: string | string[] | undefined): string | null {
  return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
}
