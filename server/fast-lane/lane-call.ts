import { Code, ConnectError } from "@connectrpc/connect";
import type { Exchange, NodeHeaders } from "./exchange.js";

export interface LaneCallInit {
  readonly protocolName: "grpc" | "grpc-web" | "connect";
  readonly exchange: Exchange;
  /** The timeout the client asked for, as connect-es parsed it. */
  readonly clientTimeoutMs: number | undefined;
  /**
   * When the call is cut, and why: the client's deadline or the server's cap,
   * whichever is sooner. A shared one is kept by the `LiveCalls` the call joins.
   */
  readonly deadline: { readonly timeoutMs: number; readonly reason: () => unknown; readonly shared?: true } | undefined;
  readonly responseHeader: NodeHeaders;
  readonly responseTrailer: NodeHeaders | undefined;
  /** Told once, when the call ends for whatever reason. */
  readonly onEnd: (call: LaneCall) => void;
}

/**
 * The reason a call's signal gives when the call ended normally, as connect-es
 * gives it (an AbortError), made once rather than on every call.
 */
const callEnded = new DOMException("This operation was aborted", "AbortError");

/**
 * One call on the fast lane: its deadline, its end, and the parts of a
 * connect-es handler context that cost the most to build (the signal and the
 * three `Headers`), made only when an interceptor or a handler reads them.
 * A call whose handler never looks at them (SimpleTest's GetOne) pays for a
 * timer and a close listener, and no AbortController, EventTarget listener or
 * `Headers` at all.
 *
 * The call ends, once, when its deadline passes, the client goes away, the
 * server gives up on it (`end(reason)`), or it is answered (`end()`); its
 * signal then aborts with that reason, as connect-es's would.
 */
export class LaneCall {
  readonly #init: LaneCallInit;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #startedAt = performance.now();
  #controller: AbortController | undefined;
  #ended = false;
  #reason: unknown;
  #interrupt: ((reason: unknown) => void) | undefined;
  #stopWaiting: (() => void) | undefined;
  #endListener: ((reason: unknown) => void) | undefined;
  #url: string | undefined;
  #requestHeader: Headers | undefined;
  #responseHeader: Headers | undefined;
  #responseTrailer: Headers | undefined;
  /** Links of the `LiveCalls` list the call is in. */
  liveNext: LaneCall | undefined;
  livePrevious: LaneCall | undefined;

  constructor(init: LaneCallInit) {
    this.#init = init;
    // Left on after end() (#onClose): taking it off costs an event on an HTTP/2 stream, whose
    // front takes every listener off at its close; other exchanges' go with their request or response.
    init.exchange.closing.on("close", this.#onClose);
    const deadline = init.deadline;
    if (deadline !== undefined) {
      if (deadline.timeoutMs <= 0) this.end(deadline.reason());
      else if (!deadline.shared) this.#timer = setTimeout(() => this.expire(), deadline.timeoutMs);
    }
  }

  /** When a shared deadline ends the call (`performance.now()` time), or undefined if it has none. */
  get sharedDeadlineAt(): number | undefined {
    const deadline = this.#init.deadline;
    return deadline?.shared ? this.#startedAt + deadline.timeoutMs : undefined;
  }

  /** Ends the call because its deadline passed. */
  expire(): void {
    this.end(this.#init.deadline?.reason());
  }

  get protocolName(): string {
    return this.#init.protocolName;
  }

  get ended(): boolean {
    return this.#ended;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#ended) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** The client's deadline, as connect-es's `timeoutMs()`: what is left of it, or undefined. */
  timeoutMs(): number | undefined {
    const asked = this.#init.clientTimeoutMs;
    return asked === undefined ? undefined : this.#startedAt + asked - performance.now();
  }

  /** As connect-node spells a request's URL. */
  get url(): string {
    if (this.#url === undefined) {
      const { info, authority, path } = this.#init.exchange;
      const scheme = "encrypted" in info.socket && info.socket.encrypted ? "https" : "http";
      this.#url = new URL(path ?? "", `${scheme}://${authority}`).toString();
    }
    return this.#url;
  }

  get requestHeader(): Headers {
    this.#requestHeader ??= requestHeaders(this.#init.exchange.rawHeaders);
    return this.#requestHeader;
  }

  get responseHeader(): Headers {
    this.#responseHeader ??= webHeaders(this.#init.responseHeader);
    return this.#responseHeader;
  }

  get responseTrailer(): Headers {
    this.#responseTrailer ??= webHeaders(this.#init.responseTrailer);
    return this.#responseTrailer;
  }

  /** The response header as it stands, for Node: the initial one unless someone has read it. */
  nodeResponseHeader(): NodeHeaders {
    return this.#responseHeader === undefined ? this.#init.responseHeader : nodeHeaders(this.#responseHeader);
  }

  /** The response trailer if someone has read it (and so may have changed it); else it is still the initial one. */
  readResponseTrailer(): Headers | undefined {
    return this.#responseTrailer;
  }

  /** The response trailer as it stands, for Node; undefined when the protocol sends none. */
  nodeResponseTrailer(): NodeHeaders | undefined {
    if (this.#responseTrailer !== undefined) return nodeHeaders(this.#responseTrailer);
    return this.#init.responseTrailer;
  }

  /**
   * Starts `start` and calls `resume` with what it resolves to, or, as soon
   * as the call ends first, `interrupted` with the call's end reason; `start`
   * may return what stops it then.
   */
  wait<T>(
    start: (resolve: (value: T) => void) => (() => void) | undefined,
    resume: (value: T) => void,
    interrupted: (reason: unknown) => void,
  ): void {
    if (this.#ended) {
      interrupted(this.#reason);
      return;
    }
    let settled = false;
    this.#interrupt = interrupted;
    const stop = start((value) => {
      settled = true;
      this.#interrupt = undefined;
      this.#stopWaiting = undefined;
      resume(value);
    });
    if (!settled) this.#stopWaiting = stop;
  }

  /** As `wait`, as a promise that rejects with the call's end reason. */
  until<T>(start: (resolve: (value: T) => void) => (() => void) | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => this.wait(start, resolve, reject));
  }

  /**
   * Tells `listener` (one per call: a request stream read as it comes) once
   * the call ends, with why; at once if it has. Unlike `wait`, a wait of the
   * answer's may be under way meanwhile.
   */
  whenEnded(listener: (reason: unknown) => void): void {
    if (this.#ended) listener(this.#reason);
    else this.#endListener = listener;
  }

  /** Ends the call: with no reason once it is answered, or with why it was cut. */
  end(reason?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#reason = reason ?? callEnded;
    clearTimeout(this.#timer);
    this.#init.onEnd(this);
    this.#controller?.abort(this.#reason);
    this.#stopWaiting?.();
    this.#interrupt?.(this.#reason);
    this.#endListener?.(this.#reason);
  }

  readonly #onClose = () => {
    if (!this.#ended) this.end(closeReason(this.#init.exchange.rstCode()));
  };
}

/**
 * The calls in flight, in the order they started, so that shutdown can end
 * them all; and the timer of those whose deadline is a shared one (the
 * server's cap, the same from every call's start). Linked through the calls
 * themselves: adding and removing one allocates nothing, where a `Set`
 * churned by thousands of calls a second reallocates its table, and a timer
 * per call costs a `Timeout` and two timer-list updates.
 */
export class LiveCalls {
  #first: LaneCall | undefined;
  #last: LaneCall | undefined;
  #timer: NodeJS.Timeout | undefined;

  add(call: LaneCall): void {
    call.livePrevious = this.#last;
    if (this.#last !== undefined) this.#last.liveNext = call;
    else this.#first = call;
    this.#last = call;
    const at = call.sharedDeadlineAt;
    if (at !== undefined && this.#timer === undefined) this.#wakeAt(at);
  }

  delete(call: LaneCall): void {
    const { livePrevious, liveNext } = call;
    if (livePrevious !== undefined) livePrevious.liveNext = liveNext;
    else if (this.#first === call) this.#first = liveNext;
    if (liveNext !== undefined) liveNext.livePrevious = livePrevious;
    else if (this.#last === call) this.#last = livePrevious;
    call.liveNext = undefined;
    call.livePrevious = undefined;
  }

  /** Ends every call with `reason`; each leaves the list as it ends. */
  endAll(reason: unknown): void {
    let call = this.#first;
    while (call !== undefined) {
      const next = call.liveNext;
      call.end(reason);
      call = next;
    }
  }

  // Calls that ended before their deadline are not looked for when they go:
  // the timer may wake for one that is gone, and then sleeps until the next.
  #wakeAt(at: number): void {
    this.#timer = setTimeout(this.#expire, Math.max(0, at - performance.now()));
    // A deadline is no reason for the process to stay up; the call's connection is.
    this.#timer.unref();
  }

  /** Ends the calls whose shared deadline has passed (they started first), and sleeps until the next one's. */
  readonly #expire = () => {
    this.#timer = undefined;
    const now = performance.now();
    let call = this.#first;
    while (call !== undefined) {
      const next = call.liveNext;
      const at = call.sharedDeadlineAt;
      if (at !== undefined) {
        if (at > now) return this.#wakeAt(at);
        call.expire();
      }
      call = next;
    }
  };
}

function webHeaders(from: NodeHeaders | undefined): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(from ?? {})) {
    if (Array.isArray(value)) for (const one of value) headers.append(name, one);
    else headers.set(name, value);
  }
  return headers;
}

/** As connect-node's webHeaderToNodeHeaders: one header may hold several values. */
export function nodeHeaders(headers: Headers): NodeHeaders {
  const out: NodeHeaders = Object.create(null);
  headers.forEach((value, key) => {
    const seen = out[key];
    out[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  });
  return out;
}

/** The request's headers as connect-node's nodeHeaderToWebHeader makes them: no HTTP/2 pseudo-headers. */
function requestHeaders(raw: readonly string[]): Headers {
  const header = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i].startsWith(":")) continue;
    header.append(raw[i], raw[i + 1]);
  }
  return header;
}

/** Why the client's side closed, as connect-node tells it: an HTTP/2 reset code, or none. */
function closeReason(rstCode: number | undefined): unknown {
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
