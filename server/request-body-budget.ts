import { Code, ConnectError } from "@connectrpc/connect";

export interface RequestBodyBudgetOptions {
  /** Request bytes one connection's calls may hold before its streams stop being read. */
  readonly perConnectionBytes: number;
  /** Request bytes the whole server may hold; past it new calls are refused with resource_exhausted. */
  readonly perServerBytes: number;
  /** How long a unary request's body, or one message of a streaming request, may take to arrive. */
  readonly timeoutMs: number;
}

/**
 * Bounds the request bytes the server holds in memory before a handler takes
 * them: the body of a unary call read whole, the part of a streaming call's
 * next message read so far. A client could otherwise open a hundred streams,
 * send each a few MiB short of the message limit and stop, and have the
 * server hold all of it until the deadlines (420 MB from one connection).
 *
 * Each call reads its body through a `BodyMeter`. Past a connection's bound,
 * or the server's, a call stops reading (`hold` says so) until bytes are let
 * go: its HTTP/2 stream's flow-control window closes, or the HTTP/1.1 socket
 * stops being read, and the client waits. The call that started holding
 * bytes first in a scope always reads on, so that the scope drains as its
 * messages complete, whatever the others do: at worst a scope holds its bound
 * plus one message. While the server is over its bound, new calls are refused
 * at once with `resource_exhausted` (`admit`), rather than wait unseen.
 *
 * Every body of a unary call must arrive within `timeoutMs` of the call's
 * start, and every message of a streaming call within `timeoutMs` of its first
 * byte (the time between messages is the call's own business, bound by its
 * deadline): a client trickling a byte a second holds neither memory nor a
 * call for longer. The call then ends with `deadline_exceeded`, as a server's
 * own deadline would end it. Only the time the server waits for the client
 * counts: not a wait for room in the budget, nor (through connect-es) a
 * handler that stops reading for a while.
 */
export interface RequestBodyBudget {
  /** A meter for one call's request body, on the connection `connection` (an HTTP/2 session or a socket). */
  meter(connection: object): BodyMeter;
  /** Throws resource_exhausted while the server holds more than its bound. */
  admit(): void;
  /** Request bytes held now, server-wide. */
  held(): number;
}

interface Scope {
  held: number;
  readonly limit: number;
  /** Meters holding bytes, the longest-holding first. */
  readonly holders: MeterList;
  /** Meters waiting for room, with what resumes each (a waiting meter is in both its scopes). */
  readonly waiting: Map<BodyMeter, () => void>;
}

const newScope = (limit: number): Scope => ({ held: 0, limit, holders: new MeterList(), waiting: new Map() });

/** A meter's place in one `MeterList`. */
class MeterLink {
  readonly meter: BodyMeter;
  previous: MeterLink | undefined;
  next: MeterLink | undefined;
  listed = false;

  constructor(meter: BodyMeter) {
    this.meter = meter;
  }
}

/**
 * Meters in the order they joined, linked through places each meter owns, so
 * that joining and leaving allocate nothing. Every call joins and leaves
 * these lists: a Set would reallocate its table as it grows and shrinks, and
 * each table, held by a long-lived scope, outlived the scavenges that should
 * have freed it (bench/README.md, step 35).
 */
class MeterList {
  #first: MeterLink | undefined;
  #last: MeterLink | undefined;

  get first(): BodyMeter | undefined {
    return this.#first?.meter;
  }

  get empty(): boolean {
    return this.#first === undefined;
  }

  add(link: MeterLink): void {
    if (link.listed) return;
    link.listed = true;
    link.previous = this.#last;
    if (this.#last !== undefined) this.#last.next = link;
    else this.#first = link;
    this.#last = link;
  }

  delete(link: MeterLink): void {
    if (!link.listed) return;
    const { previous, next } = link;
    if (previous !== undefined) previous.next = next;
    else this.#first = next;
    if (next !== undefined) next.previous = previous;
    else this.#last = previous;
    link.previous = undefined;
    link.next = undefined;
    link.listed = false;
  }

  /** Calls `visit` with each meter, in order; a meter may leave the list meanwhile. */
  forEach(visit: (meter: BodyMeter) => void): void {
    let link = this.#first;
    while (link !== undefined) {
      const next = link.next;
      visit(link.meter);
      link = next;
    }
  }
}

export function createRequestBodyBudget(options: RequestBodyBudgetOptions): RequestBodyBudget {
  const server = newScope(options.perServerBytes);
  const connections = new WeakMap<object, Scope>();
  const clock = createBodyClock(options.timeoutMs);
  return {
    meter(connection) {
      let scope = connections.get(connection);
      if (scope === undefined) {
        scope = newScope(options.perConnectionBytes);
        connections.set(connection, scope);
      }
      return new BodyMeter(server, scope, clock);
    },
    admit() {
      if (server.held >= server.limit) {
        throw new ConnectError("the server holds too many request bytes; try again later", Code.ResourceExhausted);
      }
    },
    held: () => server.held,
  };
}

/** One call's account of the request bytes it holds, and the clock its body or message runs against. */
export class BodyMeter {
  readonly #server: Scope;
  readonly #connection: Scope;
  readonly #clock: BodyClock;
  #held = 0;
  /** Closed for good: a read that was under way when the call ended holds nothing. */
  #closed = false;
  /** `performance.now()` when the clock would have started had it never paused; undefined while it does not run. */
  clockAt: number | undefined;
  /** Time counted while the clock is paused. */
  #countedMs = 0;
  #onExpire: ((error: ConnectError) => void) | undefined;
  readonly #inServerHolders = new MeterLink(this);
  readonly #inConnectionHolders = new MeterLink(this);
  /** Its place among the clocks running. */
  readonly clockLink = new MeterLink(this);

  constructor(server: Scope, connection: Scope, clock: BodyClock) {
    this.#server = server;
    this.#connection = connection;
    this.#clock = clock;
  }

  /** Counts `bytes` more held; false when the reader must stop reading until `whenRoom`. */
  hold(bytes: number): boolean {
    this.setHeld(this.#held + bytes);
    return !this.mustWait();
  }

  /** What the call holds now: less when a message was handed on, 0 when all of it was. */
  setHeld(bytes: number): void {
    if (this.#closed) return;
    const change = bytes - this.#held;
    if (change === 0) return;
    if (this.#held === 0) {
      this.#server.holders.add(this.#inServerHolders);
      this.#connection.holders.add(this.#inConnectionHolders);
    }
    this.#held = bytes;
    this.#server.held += change;
    this.#connection.held += change;
    if (bytes === 0) {
      this.#server.holders.delete(this.#inServerHolders);
      this.#connection.holders.delete(this.#inConnectionHolders);
    }
    if (change < 0) {
      wake(this.#connection);
      wake(this.#server);
    }
  }

  /** True while the call must not read more: a scope it is in is full, and it is not the one holding longest. */
  mustWait(): boolean {
    return isCrowdedOut(this.#connection, this) || isCrowdedOut(this.#server, this);
  }

  /**
   * Calls `resume` once the call may read again (at once if it may now). The
   * clock does not run meanwhile: the wait is the server's doing, not the client's.
   */
  whenRoom(resume: () => void): void {
    if (this.#closed || !this.mustWait()) {
      resume();
      return;
    }
    this.pauseClock();
    const resumeCounting = () => {
      this.resumeClock();
      resume();
    };
    this.#connection.waiting.set(this, resumeCounting);
    this.#server.waiting.set(this, resumeCounting);
  }

  /** Takes the call off the waiting lists; returns what resumes it, if it was waiting. */
  stopWaiting(): (() => void) | undefined {
    const resume = this.#connection.waiting.get(this);
    this.#connection.waiting.delete(this);
    this.#server.waiting.delete(this);
    return resume;
  }

  /**
   * Starts the clock from zero: unless `stopClock` comes first, `onExpire`
   * gets deadline_exceeded once it has run for the timeout (pauses not counted).
   */
  startClock(onExpire: (error: ConnectError) => void): void {
    this.#onExpire = onExpire;
    this.#countedMs = 0;
    this.resumeClock();
  }

  /** Stops counting, keeping the time counted so far: the server, not the client, is why nothing is read. */
  pauseClock(): void {
    if (this.clockAt === undefined) return;
    this.#countedMs = performance.now() - this.clockAt;
    this.#clock.stop(this);
  }

  /** Counts on from where `pauseClock` stopped, if the clock was started. */
  resumeClock(): void {
    if (this.#closed || this.#onExpire === undefined || this.clockAt !== undefined) return;
    this.clockAt = performance.now() - this.#countedMs;
    this.#clock.start(this);
  }

  /** True between `startClock` and `stopClock` (or expiry), paused or not. */
  get clockStarted(): boolean {
    return this.#onExpire !== undefined;
  }

  stopClock(): void {
    this.#onExpire = undefined;
    this.#countedMs = 0;
    this.#clock.stop(this);
  }

  /** The clock ran out. */
  expire(error: ConnectError): void {
    const onExpire = this.#onExpire;
    this.stopClock();
    onExpire?.(error);
  }

  /** The call is over: whatever it held is let go. */
  close(): void {
    this.stopClock();
    this.stopWaiting();
    this.setHeld(0);
    this.#closed = true;
  }
}

function isCrowdedOut(scope: Scope, meter: BodyMeter): boolean {
  return scope.held >= scope.limit && scope.holders.first !== meter;
}

/** Resumes the waiting calls that may read again. */
function wake(scope: Scope): void {
  if (scope.waiting.size === 0) return;
  for (const meter of [...scope.waiting.keys()]) {
    if (!meter.mustWait()) meter.stopWaiting()?.();
  }
}

interface BodyClock {
  start(meter: BodyMeter): void;
  stop(meter: BodyMeter): void;
}

/**
 * The clocks of every body in flight, swept by one timer that runs only while
 * there are any (a clock that paused comes back with an earlier start, so
 * every sweep looks at them all).
 */
function createBodyClock(timeoutMs: number): BodyClock {
  const running = new MeterList();
  let sweep: NodeJS.Timeout | undefined;
  const error = () => new ConnectError(`the request did not arrive within ${timeoutMs} ms`, Code.DeadlineExceeded);
  const expireDue = () => {
    const now = performance.now();
    running.forEach((meter) => {
      if (meter.clockAt !== undefined && now - meter.clockAt >= timeoutMs) meter.expire(error());
    });
    if (running.empty) {
      clearInterval(sweep);
      sweep = undefined;
    }
  };
  return {
    start(meter) {
      running.add(meter.clockLink);
      // A quarter of the timeout late at worst; never busier than 20 times a second.
      sweep ??= setInterval(expireDue, Math.max(50, Math.min(1_000, timeoutMs / 4))).unref();
    },
    stop(meter) {
      if (meter.clockAt === undefined) return;
      meter.clockAt = undefined;
      running.delete(meter.clockLink);
    },
  };
}

/**
 * The connection a request body comes over, as one object per connection:
 * the HTTP/2 session of a bare stream or of a compatibility request (whose
 * `socket` is a new proxy each time), or the HTTP/1.1 socket.
 */
export function connectionOf(body: object): object {
  if ("session" in body && typeof body.session === "object" && body.session !== null) return body.session;
  if ("stream" in body && typeof body.stream === "object" && body.stream !== null) return connectionOf(body.stream);
  if ("socket" in body && typeof body.socket === "object" && body.socket !== null) return body.socket;
  return body;
}
