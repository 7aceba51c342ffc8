import { Code, ConnectError, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { watched } from "../watched-stream.js";

/*
 * connect-es calls a request message it cannot decode (truncated, a bad
 * varint, invalid UTF-8 in a string) `internal`, as grpc-go does. It is the
 * client's mistake, and the same bytes will fail again: connect-go calls it
 * `invalid_argument`, which tells a client not to retry, and so does this
 * server. connect-es marks these errors only by their message.
 */
const undecodablePrefix = "parse binary: ";

function isUndecodableRequest(error: unknown): error is ConnectError {
  return (
    error instanceof ConnectError && error.code === Code.Internal && error.rawMessage.startsWith(undecodablePrefix)
  );
}

/**
 * For streams: a message that cannot be decoded fails the handler's read of
 * its requests, inside the interceptors, so the observer logs and counts the
 * code the client gets.
 */
export function undecodableStreamsAreInvalidArgument(): Interceptor {
  return (next) => (request) =>
    request.stream ? next({ ...request, message: watched(request.message, { error: reclassified }) }) : next(request);
}

/** An undecodable message's error as invalid_argument, other errors as they are. */
function reclassified(e: unknown): unknown {
  return isUndecodableRequest(e) ? new ConnectError(e.rawMessage, Code.InvalidArgument) : e;
}

/**
 * For unary calls, connect-es decodes the request before any interceptor
 * runs, then aborts the call's context with the error and only afterwards
 * writes it to the client. The abort event fires synchronously, so changing
 * the code there changes what the client gets; no handler ran, so there is
 * nothing else to tell. Used as the router's `requestGate`, which sees every
 * call's context before its body is read.
 */
export function undecodableUnaryIsInvalidArgument(context: HandlerContext): void {
  context.signal.addEventListener(
    "abort",
    () => {
      const reason: unknown = context.signal.reason;
      if (isUndecodableRequest(reason)) (reason as { code: Code }).code = Code.InvalidArgument;
    },
    { once: true },
  );
}
