import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/**
 * Reports a call whose response was cut short, the stream or connection ending
 * before the server's final status, as `unavailable`: the code gRPC's status
 * table gives a connection that breaks after some data was transmitted, and the
 * one callers retry on. A replica killed behind HAProxy 2.6 ends the client's
 * HTTP/2 stream cleanly, without trailers (see deploy/README.md), which
 * connect-node 2.2.0 would report as `internal` or `invalid_argument`.
 *
 * The original error is kept as `cause`. Only these errors, as connect-es 2.2.0
 * raises them, count as cut short; never one read from the wire
 * (`isWireError`: a status the server sent), nor any error once the call's own
 * signal is aborted (the caller's cancel or deadline):
 * - "protocol error: missing status" (`internal`): a gRPC response ended with
 *   no grpc-status in its headers or trailers.
 * - "protocol error: missing trailer": a gRPC-Web response ended with no
 *   trailer frame: `internal` for streams, `unknown` for unary calls (the
 *   third variant, `unimplemented`, is a complete trailers-only response).
 * - "protocol error: missing EndStreamResponse" (`invalid_argument`): a
 *   Connect stream ended with no end-of-stream message.
 * - "protocol error: incomplete envelope" (`invalid_argument`): any stream
 *   ended in the middle of a message.
 * - "protocol error: promised N bytes, received M", M < N
 *   (`invalid_argument`): a body ended before its content-length.
 * - a Node.js ECONNRESET ("socket hang up", "aborted", "read ECONNRESET";
 *   `aborted`) or EPIPE ("write EPIPE"; `internal`) in the cause chain: the
 *   connection was reset or closed under the call.
 *
 * Left as they are: a stream reset by the peer (RST_STREAM), which gRPC maps to
 * a code of its own, e.g. CANCEL to `canceled`; connect-node 2.2.0 reports an
 * HTTP/2 connection that closes under a stream the same way (`canceled`,
 * "http/2 stream closed with error code CANCEL"), so that case cannot be told
 * apart and stays `canceled`.
 */
export const cutShortAsUnavailable: Interceptor = (next) => async (request) => {
  try {
    const response = await next(request);
    if (!response.stream) return response;
    return { ...response, message: rethrowCutShort(response.message, request.signal) };
  } catch (e) {
    throw asUnavailableIfCutShort(e, request.signal);
  }
};

async function* rethrowCutShort<T>(messages: AsyncIterable<T>, signal: AbortSignal): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (e) {
    throw asUnavailableIfCutShort(e, signal);
  }
}

function asUnavailableIfCutShort(error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted || !(error instanceof ConnectError) || !isCutShort(error)) return error;
  return new ConnectError(
    `the connection to the server was lost before the call completed (${error.rawMessage})`,
    Code.Unavailable,
    error.metadata,
    undefined,
    error,
  );
}

const endedEarly: ReadonlyMap<string, readonly Code[]> = new Map([
  ["protocol error: missing status", [Code.Internal]],
  ["protocol error: missing trailer", [Code.Internal, Code.Unknown]],
  ["protocol error: missing EndStreamResponse", [Code.InvalidArgument]],
  ["protocol error: incomplete envelope", [Code.InvalidArgument]],
]);

function isCutShort(error: ConnectError): boolean {
  if (error.isWireError) return false;
  if (endedEarly.get(error.rawMessage)?.includes(error.code)) return true;
  const promised = /^protocol error: promised (\d+) bytes, received (\d+)$/.exec(error.rawMessage);
  if (promised && error.code === Code.InvalidArgument) return Number(promised[2]) < Number(promised[1]);
  return nodeErrorCodes(error).some((code) => code === "ECONNRESET" || code === "EPIPE");
}

/** The `code` of each Node.js error in the cause chain, e.g. "ECONNRESET". */
function nodeErrorCodes(error: Error): string[] {
  const codes: string[] = [];
  const seen = new Set<unknown>();
  for (let e: unknown = error.cause; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    if ("code" in e && typeof e.code === "string") codes.push(e.code);
  }
  return codes;
}
