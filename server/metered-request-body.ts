import { type ConnectError, type ContextValues, createContextKey, type HandlerContext } from "@connectrpc/connect";
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
  /** Of the envelope being read: header bytes seen (0 to 5), its length, payload bytes still to come, bytes so far. */
  #headerSeen = 0;
  #length = 0;
  #remaining = 0;
  #inMessage = 0;

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
        if (this.whole || this.#inMessage > 0) {
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
    for (let i = 0; i < chunk.length; ) {
      if (this.#headerSeen < 5) {
        // The first byte is the envelope's flags, the next four its length.
        if (this.#headerSeen > 0) this.#length = this.#length * 256 + chunk[i];
        this.#headerSeen++;
        this.#inMessage++;
        i++;
        if (this.#headerSeen === 5) this.#remaining = this.#length;
      } else {
        const taken = Math.min(this.#remaining, chunk.length - i);
        this.#remaining -= taken;
        this.#inMessage += taken;
        i += taken;
      }
      if (this.#headerSeen === 5 && this.#remaining === 0) {
        this.#headerSeen = 0;
        this.#length = 0;
        this.#inMessage = 0;
        // A message is in: the next one's clock starts from zero.
        this.#meter.stopClock();
      }
    }
    this.#meter.setHeld(this.#inMessage);
  }
}
