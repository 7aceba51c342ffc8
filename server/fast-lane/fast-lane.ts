import type http2 from "node:http2";
import type { ContextValues, ServiceImplSpec } from "@connectrpc/connect";
import { type UniversalHandlerOptions, validateUniversalHandlerOptions } from "@connectrpc/connect/protocol";
import * as connect from "@connectrpc/connect/protocol-connect";
import * as grpc from "@connectrpc/connect/protocol-grpc";
import * as grpcWeb from "@connectrpc/connect/protocol-grpc-web";
import type { CallDeadline } from "../call-deadline.js";
import { type CallGate, gatesOffTheLane } from "../call-gates.js";
import type { RequestBodyBudget } from "../request-body-budget.js";
import type { Answering } from "./answering.js";
import { streaming, unary } from "./call-kinds.js";
import {
  chooseCall,
  isEnveloped,
  negotiateCompression,
  type Plan,
  type RequestHead,
  routesOf,
  type Serving,
  type Shape,
} from "./choose-call.js";
import { envelopeRefused } from "./declared-length.js";
import {
  CompatExchange,
  type Exchange,
  type NodeHeaders,
  type NodeResponse,
  type RequestInfo,
  StreamExchange,
  takeHandedOver,
} from "./exchange.js";
import { LaneCall, LiveCalls } from "./lane-call.js";
import { readRequest } from "./read-request.js";
import type { NodeRequest } from "./request-body.js";

/** The content type of an answer, by the shape of its call, as connect-es's handlers set it. */
const contentTypes: Readonly<Record<Shape, string>> = {
  grpc: grpc.contentTypeProto,
  "grpc-web": grpcWeb.contentTypeProto,
  "connect-proto": connect.contentTypeUnaryProto,
  "connect-json": connect.contentTypeUnaryJson,
};

export type Listener = (req: NodeRequest, res: NodeResponse) => void;

export interface FastLaneOptions extends Partial<Omit<UniversalHandlerOptions, "requestGate">> {
  /** Implementations the router also serves; their methods take the lane. */
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
  /** The headers CORS puts on the answer to a call with this Origin, or none: connect-fastify passes Fastify's on. */
  readonly corsHeaders: (origin: string | undefined) => Readonly<Record<string, string>>;
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

/**
 * Serves the hottest calls without connect-es's per-call stream machinery:
 * unary RPCs over gRPC (binary, HTTP/2) and Connect (binary or JSON, POST),
 * and streaming RPCs over gRPC (client and bidi streams read whole when they
 * come at once, else as they come), with uncompressed requests and no CORS.
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

  /** How the lane would serve a request with this head, or undefined if it would not (or does not serve now). */
  const plan = (head: RequestHead): Plan | undefined => (serving === undefined ? undefined : chooseCall(serving, head));

  const wrap =
    (next: Listener): Listener =>
    (req, res) => {
      // A stream the lane let go of: connect-es reads what the lane already read first.
      if (takeHandedOver(req)) return next(req, res);
      const authority = "authority" in req ? req.authority : req.headers.host;
      const planned = plan({
        method: req.method,
        path: req.url,
        authority,
        headers: req.headers,
        overHttp2: req.httpVersion === "2.0",
      });
      if (planned === undefined) return next(req, res);
      serve(planned, new CompatExchange(req, res, planned.serving.options.corsHeaders(req.headers.origin), next));
    };

  function takeStream(
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    rawHeaders: string[],
    compat: () => void,
  ): boolean {
    const planned = plan({
      method: headers[":method"],
      path: headers[":path"],
      authority: headers[":authority"],
      headers,
      overHttp2: true,
    });
    if (planned === undefined) return false;
    const cors = planned.serving.options.corsHeaders(headers.origin);
    serve(planned, new StreamExchange(stream, headers, rawHeaders, cors, compat));
    return true;
  }

  function serve(planned: Plan, exchange: Exchange): void {
    const compression = negotiateCompression(planned.serving.opt, exchange.headers, isEnveloped(planned.shape));
    const call = startCall(planned, exchange, compression !== null ? compression.name : undefined);
    const answering: Answering = { plan: planned, call, compression, exchange };
    const kind = planned.route.spec.kind === "unary" ? unary : streaming;
    // A rejection here would be unhandled and end the process: cut this one call instead.
    const failed = (error: unknown) => {
      planned.serving.options.log.error({ err: error, url: exchange.path }, "the fast lane failed a call");
      exchange.destroy();
    };
    readRequest(planned, call, exchange, {
      read(inputs) {
        answered++;
        kind.serve(answering, inputs).catch(failed);
      },
      streaming(requests) {
        answered++;
        streaming.serveLive(answering, requests).catch(failed);
      },
      interrupted(reason) {
        answered++;
        kind.fail(answering, reason).catch(failed);
      },
      failed,
    });
  }

  /** The call's state, its response headers as connect-es starts them; ended at once if the server is shutting down. */
  function startCall({ serving, route, shape, timeoutMs }: Plan, exchange: Exchange, encoding: string | undefined) {
    const enveloped = isEnveloped(shape);
    const responseHeader: NodeHeaders = { [connect.headerContentType]: contentTypes[shape] };
    if (enveloped && encoding !== undefined) responseHeader[grpc.headerEncoding] = encoding;
    const call = new LaneCall({
      protocolName: shape === "grpc" || shape === "grpc-web" ? shape : "connect",
      exchange,
      clientTimeoutMs: timeoutMs,
      deadline: serving.options.deadline.limit(route.procedure, timeoutMs),
      responseHeader,
      responseTrailer: enveloped ? { [grpc.headerGrpcStatus]: grpc.grpcStatusOk } : undefined,
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
      serving = {
        opt,
        options,
        routes: routesOf(options.services, opt),
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
