import type { IncomingHttpHeaders } from "node:http";
import { Code, ConnectError, type Interceptor, type StreamResponse } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import {
  type Attributes,
  type Context,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_PROTOCOL_VERSION,
} from "@opentelemetry/semantic-conventions";
import { watched } from "../watched-stream.js";
import type { RpcLogger } from "./rpc-log-line.js";
import { abandonedReason, callTransportKey, protocolOf } from "./rpc-observer.js";

/*
 * The RPC attributes as the server's spans have always carried them (the
 * conventions' earlier RPC names: `rpc.system`, `rpc.service`, `rpc.method`
 * the method alone). Written here, as OpenTelemetry advises for names that
 * are not stable, rather than imported from
 * `@opentelemetry/semantic-conventions/incubating`, which loads every such
 * name there is (~3 MB of heap). The stable conventions have since renamed
 * them (`rpc.system.name`, a fully-qualified `rpc.method`).
 */
const ATTR_RPC_SYSTEM = "rpc.system";
const ATTR_RPC_SERVICE = "rpc.service";
const ATTR_RPC_METHOD = "rpc.method";
const ATTR_RPC_GRPC_STATUS_CODE = "rpc.grpc.status_code";
const ATTR_RPC_CONNECT_RPC_ERROR_CODE = "rpc.connect_rpc.error_code";

/**
 * The codes after which a server span's status is ERROR, as the RPC semantic
 * conventions list them for gRPC servers; the client's own mistakes
 * (invalid_argument, not_found, ...) leave it unset. Connect's codes are gRPC's.
 */
const serverErrors = new Set([
  Code.Unknown,
  Code.DeadlineExceeded,
  Code.Unimplemented,
  Code.Internal,
  Code.Unavailable,
  Code.DataLoss,
]);

const nodeHeaders: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

const webHeaders: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

/**
 * One SERVER span per RPC that reaches the interceptors, on both serving
 * paths (connect-es and the fast lane), named `package.Service/Method` and
 * described with the RPC semantic conventions. It continues the caller's
 * trace from the W3C `traceparent`/`tracestate` request headers, runs the
 * handler with the span active, and ends when the call does: with the answer,
 * an error, or, for a stream, its last message or the client going away.
 * Outermost, so that it records the code the client gets.
 */
export function traceRpcs(tracer: Tracer): Interceptor {
  const propagator = new W3CTraceContextPropagator();
  return (next) => async (request) => {
    const transport = request.contextValues.get(callTransportKey);
    const parent =
      transport === undefined
        ? propagator.extract(ROOT_CONTEXT, request.header, webHeaders)
        : propagator.extract(ROOT_CONTEXT, transport.headers, nodeHeaders);
    const protocol = transport?.protocol ?? protocolOf(request.header.get("content-type") ?? undefined);
    const system = protocol === "connect" ? "connect_rpc" : "grpc";
    const attributes: Attributes = {
      [ATTR_RPC_SYSTEM]: system,
      [ATTR_RPC_SERVICE]: request.service.typeName,
      [ATTR_RPC_METHOD]: request.method.name,
    };
    if (transport !== undefined) {
      attributes[ATTR_NETWORK_PROTOCOL_VERSION] = transport.httpVersion === "2.0" ? "2" : transport.httpVersion;
      // `peerOf` writes `address:port`; an IPv6 address has colons of its own.
      const peer = transport.peer ?? "";
      const colon = peer.lastIndexOf(":");
      const port = Number(peer.slice(colon + 1));
      if (colon > 0 && Number.isInteger(port)) {
        attributes[ATTR_NETWORK_PEER_ADDRESS] = peer.slice(0, colon);
        attributes[ATTR_NETWORK_PEER_PORT] = port;
      }
    }
    const span = tracer.startSpan(
      `${request.service.typeName}/${request.method.name}`,
      { kind: SpanKind.SERVER, attributes },
      parent,
    );
    const active = trace.setSpan(parent, span);
    if (transport !== undefined && span.isRecording()) {
      request.contextValues.set(callTransportKey, { ...transport, log: withTrace(transport.log, span) });
    }
    const end = (error: unknown) => endSpan(span, system, error);
    try {
      const response = await context.with(active, next, undefined, request);
      if (!response.stream) {
        end(undefined);
        return response;
      }
      return {
        ...response,
        message: watched(activeWhileRead(response.message, active), {
          end: (outcome) => end(outcome === null ? abandonedReason(request.signal) : outcome),
        }),
      } satisfies StreamResponse;
    } catch (e) {
      end(e);
      throw e;
    }
  };
}

/**
 * The call's logger, its lines (the RPC's, by the observer) carrying the
 * span's ids under the names OpenTelemetry's log correlation uses, so that a
 * log line leads to its trace.
 */
function withTrace(log: RpcLogger, span: Span): RpcLogger {
  if (!("child" in log) || typeof log.child !== "function") return log;
  const { traceId, spanId, traceFlags } = span.spanContext();
  return log.child({
    trace_id: traceId,
    span_id: spanId,
    trace_flags: traceFlags.toString(16).padStart(2, "0"),
  }) as RpcLogger;
}

function endSpan(span: Span, system: "grpc" | "connect_rpc", error: unknown): void {
  const failure = error === undefined ? undefined : ConnectError.from(error);
  if (system === "grpc") span.setAttribute(ATTR_RPC_GRPC_STATUS_CODE, failure?.code ?? 0);
  else if (failure !== undefined) span.setAttribute(ATTR_RPC_CONNECT_RPC_ERROR_CODE, codeToString(failure.code));
  if (failure !== undefined && serverErrors.has(failure.code)) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: failure.rawMessage });
  }
  span.end();
}

/**
 * A response stream whose messages are made with the call's span active, so
 * that what a streaming handler does between them belongs to its trace (an
 * async generator's body runs in whoever pulls the next message).
 */
async function* activeWhileRead<T>(messages: AsyncIterable<T>, active: Context): AsyncIterable<T> {
  const it = messages[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      const result = await context.with(active, () => it.next());
      if (result.done === true) {
        finished = true;
        return;
      }
      yield result.value;
    }
  } catch (e) {
    finished = true;
    throw e;
  } finally {
    // The reader stopped early: let the stream underneath (and its observer) know, as for-await would.
    if (!finished) await it.return?.();
  }
}
