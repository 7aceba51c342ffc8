import { Code, ConnectError, createContextKey, type Interceptor, type StreamResponse } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { RpcLabels, RpcMetrics } from "./rpc-metrics.js";

/** The least of a logger this module needs; pino's (Fastify's) fits. */
export interface RpcLogger {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** What the transport knows about a call, handed in through the call's context values. */
export interface CallTransport {
  readonly protocol: RpcLabels["protocol"];
  readonly httpVersion: string;
  readonly peer: string;
  readonly log: RpcLogger;
}

export const callTransportKey = createContextKey<CallTransport | undefined>(undefined, {
  description: "the HTTP side of an RPC",
});

const grpcTypes = {
  unary: "unary",
  server_streaming: "server_stream",
  client_streaming: "client_stream",
  bidi_streaming: "bidi_stream",
} as const;

/** Codes that mean the server, not the client, went wrong. */
const serverFaults = new Set([Code.Unknown, Code.Internal, Code.DataLoss]);

/**
 * Counts and logs every RPC that reaches a handler: one log line and one
 * `grpc_server_handled_total` increment per call, whatever way it ends
 * (answer, error, deadline, cancellation). Request bodies are never logged.
 */
export function observeRpcs(metrics: RpcMetrics, fallbackLog: RpcLogger): Interceptor {
  return (next) => async (request) => {
    const transport = request.contextValues.get(callTransportKey);
    const labels: RpcLabels = {
      grpc_type: grpcTypes[request.method.methodKind],
      grpc_service: request.service.typeName,
      grpc_method: request.method.name,
      protocol: transport?.protocol ?? protocolOf(request.header.get("content-type") ?? undefined),
    };
    const call = metrics(labels);
    const start = performance.now();
    let finished = false;
    const finish = (error: unknown) => {
      if (finished) return;
      finished = true;
      const code = error === undefined ? undefined : ConnectError.from(error).code;
      const elapsed = performance.now() - start;
      call.handled(code === undefined ? "OK" : Code[code], elapsed / 1000);
      const fields = {
        procedure: `/${labels.grpc_service}/${labels.grpc_method}`,
        protocol: labels.protocol,
        httpVersion: transport?.httpVersion,
        code: code === undefined ? "ok" : codeToString(code),
        durationMs: Math.round(elapsed * 10) / 10,
        peer: transport?.peer,
      };
      const log = transport?.log ?? fallbackLog;
      if (code !== undefined && serverFaults.has(code)) log.error(fields, "rpc");
      else log.info(fields, "rpc");
    };

    try {
      if (request.stream) {
        request = { ...request, message: counted(request.message, () => call.received()) };
      } else {
        call.received();
      }
      const response = await next(request);
      if (!response.stream) {
        call.sent();
        finish(undefined);
        return response;
      }
      return {
        ...response,
        message: observed(
          response.message,
          () => call.sent(),
          (outcome) => finish(outcome === null ? abandonedReason(request.signal) : outcome),
        ),
      } satisfies StreamResponse;
    } catch (e) {
      finish(e);
      throw e;
    }
  };
}

/** The protocol a request's content type names. Connect GET requests carry none; everything not gRPC is Connect. */
export function protocolOf(contentType: string | undefined): RpcLabels["protocol"] {
  if (contentType?.startsWith("application/grpc-web")) return "grpc_web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}

async function* counted<T>(messages: AsyncIterable<T>, onMessage: () => void): AsyncIterable<T> {
  for await (const message of messages) {
    onMessage();
    yield message;
  }
}

/**
 * Passes a response stream through, calling `done` once when it ends: with
 * undefined after the last message, with the error if it fails, and with
 * null when the reader stops early (the client went away).
 */
async function* observed<T>(
  messages: AsyncIterable<T>,
  onMessage: () => void,
  done: (error: unknown) => void,
): AsyncIterable<T> {
  let outcome: unknown = null;
  try {
    for await (const message of messages) {
      onMessage();
      yield message;
    }
    outcome = undefined;
  } catch (e) {
    outcome = e;
    throw e;
  } finally {
    done(outcome);
  }
}

function abandonedReason(signal: AbortSignal): unknown {
  return signal.aborted ? signal.reason : new ConnectError("the response stream was abandoned", Code.Canceled);
}
