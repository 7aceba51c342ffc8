import type { IncomingHttpHeaders } from "node:http";
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextKey, type Interceptor, type StreamResponse } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { watched } from "../watched-stream.js";
import { logRpc, type RpcLogger } from "./rpc-log-line.js";
import type { CallMetrics, RpcLabels, RpcMetrics } from "./rpc-metrics.js";

/** What the transport knows about a call, handed in through the call's context values. */
export interface CallTransport {
  readonly protocol: RpcLabels["protocol"];
  readonly httpVersion: string;
  readonly peer: string | undefined;
  /** The request's headers as Node parsed them: read without building a `Headers` (the lane builds one only when asked). */
  readonly headers: IncomingHttpHeaders;
  readonly log: RpcLogger;
}

export const callTransportKey = createContextKey<CallTransport | undefined>(undefined, {
  description: "the HTTP side of an RPC",
});

/** Codes that mean the server, not the client, went wrong. */
const serverFaults = new Set([Code.Unknown, Code.Internal, Code.DataLoss]);

const procedures = new WeakMap<DescMethod, string>();

/** `/package.Service/Method`, made once per method rather than once per call. */
export function procedureOf(method: DescMethod): string {
  let procedure = procedures.get(method);
  if (procedure === undefined) {
    procedure = `/${method.parent.typeName}/${method.name}`;
    procedures.set(method, procedure);
  }
  return procedure;
}

/** A call's instruments when nothing is counted (METRICS=off). */
const uncounted: CallMetrics = { received() {}, sent() {}, handled() {} };
const countNothing: RpcMetrics = () => uncounted;

/**
 * Counts and logs every RPC that reaches a handler: one log line and one
 * `grpc_server_handled_total` increment per call, whatever way it ends
 * (answer, error, deadline, cancellation). Request bodies are never logged.
 * Without `metrics`, it only logs.
 */
export function observeRpcs(metrics: RpcMetrics | undefined, fallbackLog: RpcLogger): Interceptor {
  const callMetrics = metrics ?? countNothing;
  /** Counts the call's outcome and logs its line; `error` undefined means it succeeded. */
  const finish = (
    call: CallMetrics,
    method: DescMethod,
    transport: CallTransport | undefined,
    protocol: RpcLabels["protocol"],
    start: number,
    error: unknown,
  ) => {
    const code = error === undefined ? undefined : ConnectError.from(error).code;
    const elapsed = performance.now() - start;
    call.handled(code === undefined ? "OK" : Code[code], elapsed / 1000);
    logRpc(transport?.log ?? fallbackLog, code !== undefined && serverFaults.has(code) ? "error" : "info", {
      procedure: procedureOf(method),
      protocol,
      httpVersion: transport?.httpVersion,
      code: code === undefined ? "ok" : codeToString(code),
      durationMs: Math.round(elapsed * 10) / 10,
      peer: transport?.peer,
    });
  };

  return (next) => async (request) => {
    const transport = request.contextValues.get(callTransportKey);
    const protocol = transport?.protocol ?? protocolOf(request.header.get("content-type") ?? undefined);
    const method = request.method;
    const call = callMetrics(method, protocol);
    const start = performance.now();
    if (!request.stream) {
      call.received();
      let response: Awaited<ReturnType<typeof next>>;
      try {
        response = await next(request);
      } catch (e) {
        finish(call, method, transport, protocol, start, e);
        throw e;
      }
      call.sent();
      finish(call, method, transport, protocol, start, undefined);
      return response;
    }

    let finished = false;
    const finishOnce = (error: unknown) => {
      if (finished) return;
      finished = true;
      finish(call, method, transport, protocol, start, error);
    };
    try {
      const response = await next({
        ...request,
        message: watched(request.message, { message: () => call.received() }),
      });
      if (!response.stream) {
        call.sent();
        finishOnce(undefined);
        return response;
      }
      return {
        ...response,
        message: watched(response.message, {
          message: () => call.sent(),
          end: (outcome) => finishOnce(outcome === null ? abandonedReason(request.signal) : outcome),
        }),
      } satisfies StreamResponse;
    } catch (e) {
      finishOnce(e);
      throw e;
    }
  };
}

const peers = new WeakMap<object, string>();

interface PeerSocket {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
}

/**
 * `address:port` of the client at the other end of `socket`, worked out once
 * per connection; undefined once the connection is gone, if it was not
 * worked out before.
 */
export function peerOf(socket: PeerSocket): string | undefined {
  let peer = peers.get(socket);
  if (peer === undefined && socket.remoteAddress !== undefined) {
    peer = `${socket.remoteAddress}:${socket.remotePort}`;
    peers.set(socket, peer);
  }
  return peer;
}

/**
 * Works out an HTTP/2 stream's peer as it arrives, from its connection.
 * Node's requests reach their socket only through the stream's session,
 * which a stream closed before its call starts (reset at once by the client)
 * no longer has: its call would be logged with peer `undefined:undefined`.
 */
export function notePeer(stream: object, connection: PeerSocket): void {
  // On the stream itself: a WeakMap entry per stream cost more than the rest of noting it.
  (stream as NotedStream)[notedPeer] = peerOf(connection);
}

const notedPeer = Symbol("peer");
interface NotedStream {
  [notedPeer]?: string;
}

/** The peer of a call's request: noted when its HTTP/2 stream arrived, or its connection's. */
export function peerOfCall(request: { readonly socket?: PeerSocket; readonly stream?: object }): string | undefined {
  const noted = (request.stream as NotedStream | undefined)?.[notedPeer];
  return noted ?? (request.socket === undefined ? undefined : peerOf(request.socket));
}

/** The protocol a request's content type names. Connect GET requests carry none; everything not gRPC is Connect. */
export function protocolOf(contentType: string | undefined): RpcLabels["protocol"] {
  if (contentType?.startsWith("application/grpc-web")) return "grpc_web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/** Why a response stream its reader stopped early ended: the call's abort reason, or canceled. */
export function abandonedReason(signal: AbortSignal): unknown {
  return signal.aborted ? signal.reason : new ConnectError("the response stream was abandoned", Code.Canceled);
}
