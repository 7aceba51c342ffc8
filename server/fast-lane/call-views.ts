import type { ContextValues, HandlerContext, MethodImplSpec, StreamRequest, UnaryRequest } from "@connectrpc/connect";
import type { LaneCall } from "./lane-call.js";

/*
 * What interceptors and handlers see of a lane call: connect-es's request,
 * response and handler context, as classes whose costly parts (URL, signal,
 * `Headers`) are the call's, made when read (lane-call.ts).
 */

/**
 * The interceptors' view of the request, with the call's costly parts (URL,
 * signal, `Headers`) made when read. A class with the getters on its
 * prototype: an object literal with getters of its own costs ~0.6 µs to
 * make, and its getters' closures, holding the call, kept every call's
 * objects alive through two young-generation collections (bench/README.md,
 * step 20).
 */
export class LaneRequest {
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
export function completed<R extends UnaryRequest | StreamRequest>(call: LaneCall, req: R): R {
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
export class LaneResponse<M> {
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
export class LaneHandlerContext implements HandlerContext {
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
