import type http from "node:http";
import type http2 from "node:http2";
import { Code, ConnectError, type ContextValues, type HandlerContext, type MethodImplSpec } from "@connectrpc/connect";
import type { NodeRequest } from "./request-body.js";

export type CallContext = HandlerContext & { abort(reason?: unknown): void };

export interface CallContextInit {
  readonly spec: MethodImplSpec;
  readonly protocolName: string;
  readonly req: NodeRequest;
  readonly res: http.ServerResponse | http2.Http2ServerResponse;
  readonly url: string;
  readonly timeoutMs: number | undefined;
  readonly shutdownSignal: AbortSignal | undefined;
  readonly responseHeader: Record<string, string>;
  readonly responseTrailer: Record<string, string> | undefined;
  readonly contextValues: ContextValues;
}

/**
 * The reason a call's signal gives when the call ended normally, as connect-es
 * gives it (an AbortError), made once rather than on every call.
 */
const callEnded = new DOMException("This operation was aborted", "AbortError");

/**
 * The handler context connect-es's `createHandlerContext` makes, with the
 * same fields and the same signal: it aborts when the deadline passes
 * (deadline_exceeded), when the server's shutdown signal fires, when the
 * client goes away, and when the call ends. It does so with one
 * AbortController instead of three, which is most of what a unary call
 * costs connect-es besides the message work.
 */
export function createCallContext(init: CallContextInit): CallContext {
  const controller = new AbortController();
  const { shutdownSignal, req } = init;
  // As connect-node: an HTTP/1.1 request closes once its body is read, so the response tells when the client left.
  const closing: NodeJS.EventEmitter = "stream" in req ? req : init.res;
  let timer: NodeJS.Timeout | undefined;
  const onShutdown = () => abort(shutdownSignal?.reason);
  const onClose = () => abort(closeReason(req));
  function abort(reason?: unknown): void {
    if (controller.signal.aborted) return;
    clearTimeout(timer);
    shutdownSignal?.removeEventListener("abort", onShutdown);
    closing.off("close", onClose);
    controller.abort(reason ?? callEnded);
  }

  let timeoutMs: () => number | undefined = () => undefined;
  if (init.timeoutMs !== undefined) {
    const deadline = Date.now() + init.timeoutMs;
    timeoutMs = () => deadline - Date.now();
  }
  const context: CallContext = {
    ...init.spec,
    service: init.spec.method.parent,
    requestMethod: "POST",
    protocolName: init.protocolName,
    url: init.url,
    signal: controller.signal,
    timeoutMs,
    requestHeader: requestHeaders(req),
    responseHeader: new Headers(init.responseHeader),
    responseTrailer: new Headers(init.responseTrailer),
    values: init.contextValues,
    abort,
  };

  if (shutdownSignal?.aborted) abort(shutdownSignal.reason);
  else shutdownSignal?.addEventListener("abort", onShutdown);
  if (init.timeoutMs !== undefined) {
    const expire = () => abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    if (init.timeoutMs <= 0) expire();
    else timer = setTimeout(expire, init.timeoutMs);
  }
  closing.once("close", onClose);
  return context;
}

/** The request's headers as connect-node's nodeHeaderToWebHeader makes them: no HTTP/2 pseudo-headers. */
function requestHeaders(req: NodeRequest): Headers {
  const header = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i].startsWith(":")) continue;
    header.append(raw[i], raw[i + 1]);
  }
  return header;
}

/** Why the client's side closed, as connect-node tells it: an HTTP/2 reset code, or none. */
function closeReason(req: NodeRequest): unknown {
  const rstCode = "stream" in req ? req.stream.rstCode : undefined;
  const known = rstCode === undefined ? undefined : resets[rstCode];
  if (known === undefined || rstCode === undefined) return undefined;
  const [name, code] = known;
  return new ConnectError(`http/2 stream closed with error code ${name} (0x${rstCode.toString(16)})`, code);
}

/** HTTP/2 error codes that connect-node turns into a reason, by number. */
const resets: Readonly<Record<number, readonly [string, Code]>> = {
  1: ["PROTOCOL_ERROR", Code.Internal],
  2: ["INTERNAL_ERROR", Code.Internal],
  3: ["FLOW_CONTROL_ERROR", Code.Internal],
  4: ["SETTINGS_TIMEOUT", Code.Internal],
  6: ["FRAME_SIZE_ERROR", Code.Internal],
  7: ["REFUSED_STREAM", Code.Unavailable],
  8: ["CANCEL", Code.Canceled],
  9: ["COMPRESSION_ERROR", Code.Internal],
  10: ["CONNECT_ERROR", Code.Internal],
  11: ["ENHANCE_YOUR_CALM", Code.ResourceExhausted],
  12: ["INADEQUATE_SECURITY", Code.PermissionDenied],
  13: ["HTTP_1_1_REQUIRED", Code.PermissionDenied],
};
