import { type ConnectError, type ContextValues, createContextKey, type HandlerContext } from "@connectrpc/connect";
import { EnvelopeProgress } from "./envelope-progress.js";
import { type BodyMeter, connectionOf, type RequestBodyBudget } from "./request-body-budget.js";

export interface MeteredRequestBodies {
  /** For connect-fastify's `contextValues`: reads `body` through a meter of the budget. */
  watchBody(values: ContextValues, body: AsyncIterable<unknown> & object): ContextValues;
  /** For the router's `requestGate`: refuses the call while the server is full, and says how the body is timed. */
  requestGate(context: HandlerContext): void;
}

const meteredKey = createContextKey<MeteredBody | undefined>(undefined, {
  description: "the request body's account of the bytes it holds",
});

/**
 * Puts connect-es's reading of request bodies under a `RequestBodyBudget`.
 * connect-es reads a body by iterating the Node request: a unary body whole
 * (up to readMaxBytes), a streaming one a message at a time. The iteration
 * is replaced with one that holds on the meter what connect-es has read and
 * not yet handed on (a unary body until its end; of a stream, the part of
 * the next message read so far, told by the envelopes' lengths), asks for
 * the next chunk only while there is room, and fails with the meter's
 * deadline_exceeded when a body or a message is too slow to arrive.
 */
export function createMeteredRequestBodies(budget: RequestBodyBudget): MeteredRequestBodies {
  return {
    watchBody(values, body) {
      const metered = new MeteredBody(budget.meter(connectionOf(body)));
      const iterate = body[Symbol.asyncIterator].bind(body);
      Object.defineProperty(body, Symbol.asyncIterator, {
        configurable: true,
        writable: true,
        value: () => metered.iterate(iterate()),
      });
      return values.set(meteredKey, metered);
    },
    requestGate(context) {
      const metered = context.values.get(meteredKey);
      if (metered === undefined) return;
      budget.admit();
      const kind = context.method.methodKind;
      metered.whole = kind === "unary" || kind === "server_streaming";
      // connect-es aborts every call's context when the call ends.
      context.signal.addEventListener("abort", () => metered.close(), { once: true });
    },
  };
}

class MeteredBody {
  readonly #meter: BodyMeter;
  /** The body is one request message, timed from the first read to its end; else each message is, once its first byte is in. */
  whole = true;
  #failure: ConnectError | undefined;
  #rejectPending: ((reason: unknown) => void) | undefined;
  /** Of a stream: the message being read. */
  readonly #progress = new EnvelopeProgress();

  constructor(meter: BodyMeter) {
    this.#meter = meter;
  }

  iterate(inner: AsyncIterator<unknown>): AsyncIterableIterator<unknown> {
    const iterator: AsyncIterableIterator<unknown> = {
      next: () => this.#next(inner),
      return: (value?: unknown) => {
        this.close();
        return inner.return?.(value) ?? Promise.resolve({ done: true, value });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  close(): void {
    this.#meter.close();
  }

  /**
   * The clock counts only while connect-es waits for the client: from when
   * it asks for more of a body (or of a message begun) until the bytes come.
   * A handler that stops reading (its answers wait for a client that does
   * not read them) stops the clock too.
   */
  #next(inner: AsyncIterator<unknown>): Promise<IteratorResult<unknown>> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#rejectPending = reject;
      this.#meter.whenRoom(() => {
        if (this.whole || this.#progress.inMessage > 0) {
          if (this.#meter.clockStarted) this.#meter.resumeClock();
          else this.#meter.startClock(this.#expired);
        }
        inner.next().then((result) => {
          this.#rejectPending = undefined;
          this.#meter.pauseClock();
          if (result.done === true) this.#meter.close();
          else this.#count(result.value as Uint8Array);
          resolve(result);
        }, reject);
      });
    });
  }

  readonly #messageIn = () => this.#meter.stopClock();

  readonly #expired = (error: ConnectError) => {
    this.#failure = error;
    this.#meter.close();
    this.#rejectPending?.(error);
  };

  /** Holds what the chunk adds to the message being read. */
  #count(chunk: Uint8Array): void {
    if (this.whole) {
      this.#meter.hold(chunk.length);
      return;
    }
    // A message is in: the next one's clock starts from zero.
    this.#progress.feed(chunk, this.#messageIn);
    this.#meter.setHeld(this.#progress.inMessage);
  }
}
