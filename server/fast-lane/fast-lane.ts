import type http2 from "node:http2";
import { create, type DescMessage } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  type MethodImplSpec,
  type ServiceImplSpec,
  type StreamRequest,
  type StreamResponse,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import {
  type Compression,
  compressionNegotiate,
  createAsyncIterable,
  createMethodSerializationLookup,
  encodeEnvelope,
  envelopeCompress,
  type MethodSerializationLookup,
  mergeNonProtocolHeaders,
  type UniversalHandlerOptions,
  validateUniversalHandlerOptions,
} from "@connectrpc/connect/protocol";
import * as connect from "@connectrpc/connect/protocol-connect";
import * as grpc from "@connectrpc/connect/protocol-grpc";
import type { CallDeadline } from "../call-deadline.js";
import { type CallGate, gatesOffTheLane } from "../call-gates.js";
import { connectionOf, type RequestBodyBudget } from "../request-body-budget.js";
import { declaresTooLong, envelopeRefused } from "./declared-length.js";
import {
  CompatExchange,
  type Exchange,
  type NodeHeaders,
  type NodeResponse,
  type RequestInfo,
  StreamExchange,
  takeHandedOver,
} from "./exchange.js";
import { LaneCall, LiveCalls, nodeHeaders } from "./lane-call.js";
import { type NodeRequest, readBody } from "./request-body.js";

export type Listener = (req: NodeRequest, res: NodeResponse) => void;
type Options = ReturnType<typeof validateUniversalHandlerOptions>;

export interface FastLaneOptions extends Partial<Omit<UniversalHandlerOptions, "requestGate">> {
  /** Implementations the router also serves; their unary and server-streaming methods take the lane. */
  readonly services: readonly ServiceImplSpec[];
  /** The context values connect-fastify's `contextValues` would give the call. */
  readonly contextValues: (req: RequestInfo) => ContextValues;
  /**
   * The router's request gates: the lane serves only if each says how a lane
   * call meets its rule (none is run here; the deadline's is `deadline`).
   */
  readonly gates: readonly CallGate[];
  /** The deadline rule the router's request gate applies, and what resets HTTP/2 streams left open. */
  readonly deadline: Pick<CallDeadline, "limit" | "callEnded">;
  /**
   * The headers CORS puts on the answer to a request without an Origin (the
   * lane declines any with one): connect-fastify passes Fastify's on.
   */
  readonly corsHeaders: Readonly<Record<string, string>>;
  /** What bounds the request bytes held and the time they take to arrive, as on the router. */
  readonly bodyBudget: Pick<RequestBodyBudget, "admit" | "meter">;
  /** Where a failure of the lane itself is told (one the call's own error handling did not catch). */
  readonly log: { error(fields: object, message: string): void };
}

export interface FastLane {
  /** A request listener that serves what it can and hands the rest to `next` untouched. */
  wrap(next: Listener): Listener;
  /**
   * For the one-port front's HTTP/2 streams, before Node makes compatibility
   * objects for them: serves the stream and returns true, or returns false
   * and leaves it alone. A stream it takes and then lets go is served by
   * `compat` (the compatibility API, which ends at `wrap`'s `next`).
   */
  takeStream(
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    rawHeaders: string[],
    compat: () => void,
  ): boolean;
  /** How many calls the lane answered itself (not those it declined or handed to connect-es): for tests. */
  answered(): number;
  /** Starts serving; until then, and without it, every request goes to `next`. */
  serve(options: FastLaneOptions): void;
  /** From now on every request goes to `next` (the server is shutting down, as Fastify then answers 503). */
  stop(): void;
}

interface Route {
  readonly spec: MethodImplSpec & { kind: "unary" | "server_streaming" };
  readonly procedure: string;
  readonly serialization: MethodSerializationLookup<DescMessage, DescMessage>;
}

/** What `serve` set up. */
interface Serving {
  readonly opt: Options;
  readonly options: FastLaneOptions;
  readonly routes: ReadonlyMap<string, Route>;
  readonly extraHeaders: Readonly<Record<string, string>>;
  /** For a gRPC body read so far: whether its envelope header says the lane should not read on. */
  readonly envelopeRefused: (consumed: readonly Buffer[], size: number) => boolean;
}

/** A call the lane takes, as its headers tell it. */
interface Plan {
  readonly serving: Serving;
  readonly route: Route;
  readonly shape: Shape;
  readonly timeoutMs: number | undefined;
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
 * unary RPCs over gRPC (binary, HTTP/2) and Connect (binary or JSON, POST),
 * and server-streaming RPCs over gRPC, with uncompressed requests and no CORS.
 * It is built from connect-es's own exported pieces (interceptor types,
 * serialization with its size limits, timeout parsing, compression
 * negotiation, envelopes, error encoding), so a call gets the same answer,
 * headers and trailers as through connect-es, and the same interceptors and
 * the same implementation see it. What connect-es builds eagerly for every
 * call (signal, `Headers`, URL) is built here only when read (lane-call.ts).
 *
 * Anything else goes to connect-es unchanged, before any interceptor runs: a
 * request with other headers (a Content-Length over the limit among them) at
 * once; a body over the limit, malformed or undecodable with the bytes read
 * so far put back, so that connect-es answers it with its own error. A gRPC
 * body goes as soon as its envelope header claims more than the limit or
 * carries a flag, without waiting for bytes that may never come. The
 * one-port front has already refused requests whose authority makes no URL.
 */
export function createFastLane(): FastLane {
  // Set by serve(), dropped by stop(); a call keeps the one it started with.
  let serving: Serving | undefined;
  const live = new LiveCalls();
  const forget = (ended: LaneCall) => live.delete(ended);
  let answered = 0;

  /** How the lane would serve a request with these headers, or undefined if it would not. */
  function plan(
    method: string | undefined,
    path: string | undefined,
    authority: string | undefined,
    headers: http2.IncomingHttpHeaders,
    overHttp2: boolean,
  ): Plan | undefined {
    if (serving === undefined || method !== "POST" || !authority) return undefined;
    const { opt } = serving;
    const route = serving.routes.get(path ?? "");
    const shape = route && shapes[headers["content-type"] ?? ""];
    if (route === undefined || shape === undefined || headers.origin !== undefined) return undefined;
    if (route.spec.kind === "server_streaming" && shape !== "grpc") return undefined;
    let timeout: ReturnType<typeof grpc.parseTimeout>;
    if (shape === "grpc") {
      const encoding = headers["grpc-encoding"];
      if (!overHttp2 || (encoding !== undefined && encoding !== "identity")) return undefined;
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

  const wrap =
    (next: Listener): Listener =>
    (req, res) => {
      // A stream the lane let go of: connect-es reads what the lane already read first.
      if (takeHandedOver(req)) return next(req, res);
      const authority = "authority" in req ? req.authority : req.headers.host;
      const planned = plan(req.method, req.url, authority, req.headers, req.httpVersion === "2.0");
      if (planned === undefined) return next(req, res);
      serve(planned, new CompatExchange(req, res, planned.serving.extraHeaders, next));
    };

  function takeStream(
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    rawHeaders: string[],
    compat: () => void,
  ): boolean {
    const planned = plan(headers[":method"], headers[":path"], headers[":authority"], headers, true);
    if (planned === undefined) return false;
    serve(planned, new StreamExchange(stream, headers, rawHeaders, planned.serving.extraHeaders, compat));
    return true;
  }

  function serve(planned: Plan, exchange: Exchange): void {
    const compression = negotiate(planned.serving.opt, exchange.headers, planned.shape === "grpc");
    const call = startCall(planned, exchange, compression);
    const kind = planned.route.spec.kind === "unary" ? unary : serverStreaming;
    // A rejection here would be unhandled and end the process: cut this one call instead.
    const failed = (error: unknown) => {
      planned.serving.options.log.error({ err: error, url: exchange.path }, "the fast lane failed a call");
      exchange.destroy();
    };
    readMessage(
      planned,
      call,
      exchange,
      (input) => {
        answered++;
        kind.serve(planned, call, compression, exchange, input).catch(failed);
      },
      (reason) => {
        answered++;
        kind.fail(planned, call, compression, exchange, reason).catch(failed);
      },
      failed,
    );
  }

  function startCall({ serving, route, shape, timeoutMs }: Plan, exchange: Exchange, compression: Compression | null) {
    const isGrpc = shape === "grpc";
    const responseHeader: NodeHeaders = isGrpc
      ? { [grpc.headerContentType]: grpc.contentTypeProto }
      : {
          [connect.headerContentType]:
            shape === "connect-proto" ? connect.contentTypeUnaryProto : connect.contentTypeUnaryJson,
        };
    if (isGrpc && compression) responseHeader[grpc.headerEncoding] = compression.name;
    const call = new LaneCall({
      protocolName: isGrpc ? "grpc" : "connect",
      exchange,
      clientTimeoutMs: timeoutMs,
      deadline: serving.options.deadline.limit(route.procedure, timeoutMs),
      responseHeader,
      responseTrailer: isGrpc ? { [grpc.headerGrpcStatus]: grpc.grpcStatusOk } : undefined,
      onEnd: forget,
    });
    const shutdown = serving.opt.shutdownSignal;
    if (shutdown?.aborted) call.end(shutdown.reason);
    else if (!call.ended) live.add(call);
    return call;
  }

  return {
    wrap,
    takeStream,
    answered: () => answered,
    serve(options) {
      const skipped = gatesOffTheLane(options.gates);
      if (skipped.length > 0) throw new Error(`the fast lane would skip the request gates ${skipped.join(", ")}`);
      const opt = validateUniversalHandlerOptions(options);
      const routes = new Map<string, Route>();
      for (const service of options.services) {
        for (const spec of Object.values(service.methods)) {
          if (spec.kind !== "unary" && spec.kind !== "server_streaming") continue;
          const procedure = `/${spec.method.parent.typeName}/${spec.method.name}`;
          routes.set(procedure, {
            spec,
            procedure,
            serialization: createMethodSerializationLookup(spec.method, opt.binaryOptions, opt.jsonOptions, opt),
          });
        }
      }
      serving = {
        opt,
        options,
        routes,
        extraHeaders: options.corsHeaders,
        envelopeRefused: (consumed, size) => envelopeRefused(consumed, size, opt.readMaxBytes),
      };
      const shutdown = opt.shutdownSignal;
      shutdown?.addEventListener("abort", () => {
        live.endAll(shutdown.reason);
      });
    },
    stop() {
      serving = undefined;
    },
  };
}

/** How the lane answers a call of one kind: with the request message read, or with why the call ended first. */
interface Kind {
  serve(
    planned: Plan,
    call: LaneCall,
    compression: Compression | null,
    exchange: Exchange,
    input: unknown,
  ): Promise<void>;
  fail(
    planned: Plan,
    call: LaneCall,
    compression: Compression | null,
    exchange: Exchange,
    error: unknown,
  ): Promise<void>;
}

const unary: Kind = {
  async serve(planned, call, compression, exchange, input) {
    const { serving, route, shape } = planned;
    const { opt } = serving;
    const binary = shape !== "connect-json";
    let answer: Uint8Array;
    try {
      const values = serving.options.contextValues(exchange.info);
      const result = await invokeUnary(call, route.spec, input, opt.interceptors, values);
      // Reading the headers of the lane's own answer would make them; they are the call's anyway.
      if (!(result instanceof LaneResponse)) {
        adoptHeaders(result.header, call, "responseHeader");
        adoptHeaders(result.trailer, call, "responseTrailer");
      }
      answer = route.serialization.getO(binary).serialize(result.message);
    } catch (e) {
      return unary.fail(planned, call, compression, exchange, e);
    }
    call.end();
    if (shape === "grpc") {
      const body =
        compression === null
          ? encodeEnvelope(0, answer)
          : await envelopeCompress({ flags: 0, data: answer }, compression, opt.compressMinBytes).then((envelope) =>
              encodeEnvelope(envelope.flags, envelope.data),
            );
      exchange.answer(200, call.nodeResponseHeader(), body, call.nodeResponseTrailer());
      cutIfStuck(serving, exchange);
    } else {
      await writeConnect(planned, call, 200, answer, compression, exchange);
    }
  },

  async fail(planned, call, compression, exchange, e) {
    call.end(e);
    const error = asConnectError(e);
    if (planned.shape === "grpc") {
      grpc.setTrailerStatus(call.responseTrailer, error);
      exchange.answer(200, call.nodeResponseHeader(), undefined, call.nodeResponseTrailer());
      return cutIfStuck(planned.serving, exchange);
    }
    const header = call.responseHeader;
    header.set(connect.headerContentType, connect.contentTypeUnaryJson);
    if (!error.isWireError) mergeNonProtocolHeaders(header, error.metadata);
    const json = connect.errorToJsonBytes(error, planned.serving.opt.jsonOptions);
    return writeConnect(planned, call, connect.codeToHttpStatus(error.code), json, compression, exchange);
  },
};

const serverStreaming: Kind = {
  serve: (planned, call, compression, exchange, input) =>
    streamAnswers(planned, call, compression, exchange, createAsyncIterable([input])),
  // As in connect-es, the interceptors see the call, its request failing with why it ended.
  fail: (planned, call, compression, exchange, e) => streamAnswers(planned, call, compression, exchange, failing(e)),
};

async function streamAnswers(
  planned: Plan,
  call: LaneCall,
  compression: Compression | null,
  exchange: Exchange,
  requests: AsyncIterable<unknown>,
): Promise<void> {
  const { serving, route } = planned;
  const { opt } = serving;
  const serialize = route.serialization.getO(true).serialize;
  let headSent = false;
  try {
    const values = serving.options.contextValues(exchange.info);
    const response = await invokeServerStream(call, route.spec, requests, opt.interceptors, values);
    // As for unary calls: an answer an interceptor made may bring headers of its own.
    const replaced = !(response instanceof LaneResponse);
    if (replaced) adoptHeaders(response.header, call, "responseHeader");
    for await (const message of response.message) {
      const data = serialize(message);
      const envelope = await envelopeCompress({ flags: 0, data }, compression, opt.compressMinBytes);
      if (!headSent) {
        exchange.head(call.nodeResponseHeader());
        headSent = true;
      }
      if (!exchange.send(encodeEnvelope(envelope.flags, envelope.data))) {
        await call.until((resolve) => exchange.onceDrained(() => resolve(undefined)));
      }
    }
    if (replaced) adoptHeaders(response.trailer, call, "responseTrailer");
  } catch (e) {
    call.end(e);
    grpc.setTrailerStatus(call.responseTrailer, asConnectError(e));
  }
  call.end();
  if (!headSent) exchange.head(call.nodeResponseHeader());
  exchange.finish(call.nodeResponseTrailer() ?? {});
  cutIfStuck(serving, exchange);
}

/** A request stream whose first read fails with `reason`. */
async function* failing(reason: unknown): AsyncIterable<unknown> {
  yield* [];
  throw reason;
}

/**
 * Reads the call's one request message and hands it to `serve`; or, if the
 * call ends first, tells `interrupted` why. A request that is not ours to
 * judge (over the size limit, malformed, undecodable) goes to connect-es
 * instead, with the bytes read so far, before any interceptor saw it.
 */
function readMessage(
  { serving, route, shape }: Plan,
  call: LaneCall,
  exchange: Exchange,
  serve: (input: unknown) => void,
  interrupted: (reason: unknown) => void,
  failed: (error: unknown) => void,
): void {
  const isGrpc = shape === "grpc";
  const limit = isGrpc ? serving.opt.readMaxBytes + 5 : serving.opt.readMaxBytes;
  const budget = serving.options.bodyBudget;
  try {
    budget.admit();
  } catch (e) {
    call.end(e);
  }
  call.wait<Buffer | readonly Buffer[]>(
    // The whole body; or, past the limit or at an envelope the lane does not serve, the part read so far.
    (resolve) => {
      const meter = budget.meter(connectionOf(exchange.body));
      meter.startClock((error) => call.end(error));
      return readBody(exchange.body, limit, resolve, resolve, meter, isGrpc ? serving.envelopeRefused : undefined);
    },
    (body) => {
      const input = Buffer.isBuffer(body) ? parse(route, isGrpc, shape !== "connect-json", body) : undefined;
      if (input !== undefined) {
        serve(input);
        return;
      }
      call.end();
      try {
        exchange.handOver(Buffer.isBuffer(body) ? [body] : body, Buffer.isBuffer(body));
      } catch (e) {
        failed(e);
      }
    },
    interrupted,
  );
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

/**
 * An answer a client does not read stays in the stream's buffer, and a body
 * the client never finishes keeps the stream open after its answer: the
 * stream is reset later, as connect-es's calls are (call-deadline.ts).
 */
function cutIfStuck(serving: Serving, exchange: Exchange): void {
  const stream = exchange.stuckStream();
  if (stream !== undefined) serving.options.deadline.callEnded(stream);
}

/** The rest of connect-es's unary Connect answer: compression, trailers as headers, length. */
async function writeConnect(
  { serving }: Plan,
  call: LaneCall,
  status: number,
  body: Uint8Array,
  compression: Compression | null,
  exchange: Exchange,
): Promise<void> {
  let bytes = body;
  let encoding: string | undefined;
  if (compression && bytes.byteLength >= serving.opt.compressMinBytes) {
    bytes = await compression.compress(bytes);
    encoding = compression.name;
  }
  let header: NodeHeaders;
  if (encoding === undefined && call.nodeResponseTrailer() === undefined) {
    header = call.nodeResponseHeader();
  } else {
    if (encoding !== undefined) call.responseHeader.set(connect.headerUnaryEncoding, encoding);
    header = nodeHeaders(connect.trailerMux(call.responseHeader, call.responseTrailer));
  }
  header[connect.headerUnaryContentLength] = bytes.byteLength.toString(10);
  exchange.answer(status, header, bytes, undefined);
  cutIfStuck(serving, exchange);
}

/** The response compression the client accepts, as connect-es negotiates it. */
function negotiate(opt: Options, headers: http2.IncomingHttpHeaders, isGrpc: boolean): Compression | null {
  const acceptHeader = isGrpc ? grpc.headerAcceptEncoding : connect.headerUnaryAcceptEncoding;
  return compressionNegotiate(
    opt.acceptCompression,
    null,
    headerValue(headers[acceptHeader.toLowerCase()]),
    acceptHeader,
  ).response;
}

/**
 * Runs a unary call through the interceptors to the implementation, as
 * connect-es's `invokeUnaryImplementation` does, without reading the call's
 * lazy parts unless someone asks for them.
 */
function invokeUnary(
  call: LaneCall,
  spec: MethodImplSpec,
  input: unknown,
  interceptors: readonly Interceptor[],
  contextValues: ContextValues,
): Promise<UnaryResponse> {
  const impl = spec.impl as (message: unknown, context: HandlerContext) => unknown;
  const output = spec.method.output;
  const respond = (message: unknown) =>
    new LaneResponse(call, spec, false, create(output, message as never)) as UnaryResponse;
  // As an async function would answer, without a turn of the microtask queue for a plain answer.
  const answer = (req: UnaryRequest): Promise<UnaryResponse> => {
    try {
      const answered = impl(req.message, new LaneHandlerContext(call, req));
      return isThenable(answered) ? Promise.resolve(answered).then(respond) : Promise.resolve(respond(answered));
    } catch (e) {
      return Promise.reject(e);
    }
  };
  return chained(
    call,
    interceptors,
    answer,
  )(new LaneRequest(call, spec.method, false, input, contextValues) as UnaryRequest);
}

/** As `invokeUnary`, for a server-streaming call: its one request message in, a stream of answers out. */
function invokeServerStream(
  call: LaneCall,
  spec: MethodImplSpec,
  requests: AsyncIterable<unknown>,
  interceptors: readonly Interceptor[],
  contextValues: ContextValues,
): Promise<StreamResponse> {
  const impl = spec.impl as (message: unknown, context: HandlerContext) => AsyncIterable<unknown>;
  const output = spec.method.output;
  const answer = async (req: StreamRequest) => {
    const messages = impl(await onlyMessage(req.message), new LaneHandlerContext(call, req));
    return new LaneResponse(call, spec, true, created(output, messages)) as StreamResponse;
  };
  return chained(
    call,
    interceptors,
    answer,
  )(new LaneRequest(call, spec.method, true, requests, contextValues) as StreamRequest);
}

/**
 * `last` behind the interceptors, the first outermost, as connect-es's
 * applyInterceptors chains them. Each one's `next` first makes whatever
 * request it is handed a complete one: an interceptor that copies the
 * request with `{ ...request }` gets no lazy parts with the copy (they sit on
 * `LaneRequest`'s prototype), and those after it see the call's.
 */
function chained<F>(call: LaneCall, interceptors: readonly Interceptor[], last: F): F {
  const complete = (next: Parameters<Interceptor>[0]): Parameters<Interceptor>[0] =>
    ((req: UnaryRequest | StreamRequest) => next(req instanceof LaneRequest ? req : completed(call, req))) as never;
  let next = last as unknown as Parameters<Interceptor>[0];
  for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i](complete(next));
  return next as unknown as F;
}

/**
 * The interceptors' view of the request, with the call's costly parts (URL,
 * signal, `Headers`) made when read. A class with the getters on its
 * prototype: an object literal with getters of its own costs ~0.6 µs to
 * make, and its getters' closures, holding the call, kept every call's
 * objects alive through two young-generation collections (bench/README.md,
 * step 20).
 */
class LaneRequest {
  readonly #call: LaneCall;
  readonly method: MethodImplSpec["method"];
  readonly service: MethodImplSpec["method"]["parent"];
  readonly requestMethod = "POST";

  constructor(
    call: LaneCall,
    method: MethodImplSpec["method"],
    readonly stream: boolean,
    readonly message: unknown,
    readonly contextValues: ContextValues,
  ) {
    this.#call = call;
    this.method = method;
    this.service = method.parent;
  }

  get url(): string {
    return this.#call.url;
  }
  get signal(): AbortSignal {
    return this.#call.signal;
  }
  get header(): Headers {
    return this.#call.requestHeader;
  }
}

/**
 * A copy an interceptor made of a request, completed from the call. A plain
 * copy (`{ ...request, message }`, as the observer makes of every stream's)
 * becomes a `LaneRequest` again, its parts still lazy (a request has no
 * others); one that sets a lazy part of its own keeps it, and gets the
 * others from the call at once.
 */
function completed<R extends UnaryRequest | StreamRequest>(call: LaneCall, req: R): R {
  if (!Object.hasOwn(req, "url") && !Object.hasOwn(req, "signal") && !Object.hasOwn(req, "header")) {
    return new LaneRequest(call, req.method, req.stream, req.message, req.contextValues) as unknown as R;
  }
  return Object.assign({ url: call.url, signal: call.signal, header: call.requestHeader }, req);
}

/**
 * The implementation's answer as the interceptors see it, its headers the
 * call's, made when read. A class, because an object literal with getters
 * costs ~0.5 µs to make; its getters sit on the prototype, so the copy an
 * interceptor makes with `{ ...response }` has no headers of its own, which
 * the lane reads as the call's (`adoptHeaders`), as they would be.
 */
class LaneResponse<M> {
  readonly #call: LaneCall;
  readonly method: MethodImplSpec["method"];
  readonly service: MethodImplSpec["method"]["parent"];

  constructor(
    call: LaneCall,
    spec: MethodImplSpec,
    readonly stream: boolean,
    readonly message: M,
  ) {
    this.#call = call;
    this.method = spec.method;
    this.service = spec.method.parent;
  }

  get header(): Headers {
    return this.#call.responseHeader;
  }
  get trailer(): Headers {
    return this.#call.responseTrailer;
  }
}

/**
 * The handler's context, as connect-es merges it from the call and the
 * request the interceptors pass on. Handlers do not copy it, so plain
 * getters on a class do (an object with getters of its own costs ~1 µs).
 */
class LaneHandlerContext implements HandlerContext {
  readonly #call: LaneCall;
  readonly #req: UnaryRequest | StreamRequest;
  readonly method: HandlerContext["method"];
  readonly service: HandlerContext["service"];
  readonly requestMethod: string;
  readonly protocolName: string;
  readonly values: ContextValues;

  constructor(call: LaneCall, req: UnaryRequest | StreamRequest) {
    this.#call = call;
    this.#req = req;
    this.method = req.method;
    this.service = req.service;
    this.requestMethod = req.requestMethod;
    this.protocolName = call.protocolName;
    this.values = req.contextValues;
  }

  get url() {
    return this.#req.url;
  }
  get signal() {
    return this.#req.signal;
  }
  get requestHeader() {
    return this.#req.header;
  }
  get responseHeader() {
    return this.#call.responseHeader;
  }
  get responseTrailer() {
    return this.#call.responseTrailer;
  }
  readonly timeoutMs = () => this.#call.timeoutMs();
}

/**
 * An interceptor may answer with headers of its own: they replace the call's,
 * as in connect-es. None (a copy of a `LaneResponse`) means the call's own.
 */
function adoptHeaders(from: Headers | undefined, call: LaneCall, which: "responseHeader" | "responseTrailer"): void {
  if (from === undefined) return;
  const to = call[which];
  if (from === to) return;
  for (const key of [...to.keys()]) to.delete(key);
  for (const [key, value] of from) to.set(key, value);
}

/** The one request message of a server-streaming call, as connect-es insists on it. */
async function onlyMessage(messages: AsyncIterable<unknown>): Promise<unknown> {
  const it = messages[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done === true) {
    throw new ConnectError("protocol error: missing input message for server-streaming method", Code.Unimplemented);
  }
  const second = await it.next();
  if (second.done !== true) {
    throw new ConnectError(
      "protocol error: received extra input message for server-streaming method",
      Code.Unimplemented,
    );
  }
  return first.value;
}

async function* created(schema: DescMessage, messages: AsyncIterable<unknown>): AsyncIterable<unknown> {
  for await (const message of messages) yield create(schema, message as never);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/** As connect-es does: an unexpected exception becomes internal, with the cause kept. */
function asConnectError(e: unknown): ConnectError {
  return e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
}

function headerValue(value: string | string[] | undefined): string | null {
  return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
}
