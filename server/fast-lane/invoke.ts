import { create } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  type MethodImplSpec,
  type StreamRequest,
  type StreamResponse,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { completed, LaneHandlerContext, LaneRequest, LaneResponse } from "./call-views.js";
import type { LaneCall } from "./lane-call.js";
import { created, listed } from "./message-streams.js";

/*
 * A lane call through the interceptors to the implementation, as connect-es's
 * invoke-implementation.ts runs it, with the call's lazy views (call-views.ts).
 */

/**
 * Runs a unary call through the interceptors to the implementation, as
 * connect-es's `invokeUnaryImplementation` does, without reading the call's
 * lazy parts unless someone asks for them.
 */
export function invokeUnary(
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

/**
 * As `invokeUnary`, for a streaming call: a stream of request messages in (for
 * a server-streaming call, connect-es insists on exactly one), a stream of
 * answers out (for a client-streaming call, one), as connect-es's
 * `transformInvokeImplementation` makes them.
 */
export function invokeStream(
  call: LaneCall,
  spec: MethodImplSpec,
  requests: AsyncIterable<unknown>,
  interceptors: readonly Interceptor[],
  contextValues: ContextValues,
): Promise<StreamResponse> {
  const output = spec.method.output;
  const respond = (messages: AsyncIterable<unknown>) =>
    new LaneResponse(call, spec, true, created(output, messages)) as StreamResponse;
  const impl = spec.impl as (input: unknown, context: HandlerContext) => unknown;
  const streamed = impl as (input: unknown, context: HandlerContext) => AsyncIterable<unknown>;
  let answer: (req: StreamRequest) => Promise<StreamResponse>;
  switch (spec.kind) {
    case "server_streaming":
      answer = async (req) => respond(streamed(await onlyMessage(req.message), new LaneHandlerContext(call, req)));
      break;
    case "client_streaming":
      answer = async (req) => respond(listed([await impl(req.message, new LaneHandlerContext(call, req))]));
      break;
    case "bidi_streaming":
      answer = async (req) => respond(streamed(req.message, new LaneHandlerContext(call, req)));
      break;
    default:
      throw new Error(`not a streaming method: ${spec.method.name}`);
  }
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
 * An interceptor may answer with headers of its own: they replace the call's,
 * as in connect-es. None (a copy of a `LaneResponse`) means the call's own.
 */
export function adoptHeaders(
  from: Headers | undefined,
  call: LaneCall,
  which: "responseHeader" | "responseTrailer",
): void {
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

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}
