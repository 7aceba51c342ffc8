import type { Readable } from "node:stream";
import { Code, ConnectError } from "@connectrpc/connect";
import type { BodyMeter } from "../request-body-budget.js";
import { badFlagsError, isBadFlags } from "../request-checks/envelope-flags.js";
import type { PartsParser } from "./message-parts.js";

export interface LiveRequestsInit {
  /** The request body, paused, with nobody else reading it; `aborted` once the client cut it. */
  readonly body: Readable & { readonly aborted?: boolean };
  /** Its bytes read before, in order: they come first. */
  readonly consumed: readonly Buffer[];
  /** connect-es's limit on a message, and the route's parse (connect-es's errors) of a message's data from its parts. */
  readonly readMaxBytes: number;
  readonly parse: PartsParser;
  /** Holds the bytes read and not yet handed on, and times each message from its first byte. */
  readonly meter: BodyMeter;
  /** Tells once when the call ends, with why: a read still waiting then fails with it. */
  readonly onCallEnd: (listener: (reason: unknown) => void) => void;
}

/** A message's envelope as split from the stream, not yet parsed: its data in parts (`#envelopeIn`). */
interface Envelope {
  readonly flags: number;
  readonly parts: readonly Buffer[];
  readonly size: number;
}

const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
const envelopeHeaderBytes = 5;
/** Past this many bytes split and not yet asked for, the body is paused until the handler reads on. */
const queuedBytesBound = 65_536;

/**
 * A gRPC request stream served as its messages come, for a handler that
 * runs before the stream has ended: a client that waits for answers before
 * it sends more, a slow or long stream. It reads the body as it arrives,
 * splits the envelopes and parses each message when the handler asks for
 * it, with the answers connect-es's own reading gives, in the same order:
 *
 * - a flag byte other than 0 or 1: the checked body's `internal` error
 *   (server/request-checks/envelope-flags.ts), after the messages before it;
 * - an envelope that claims more than `readMaxBytes`: connect-es's
 *   `resource_exhausted` as its splitter throws it, losing the other
 *   envelopes that ended in the same chunk;
 * - a message flagged compressed (the lane takes no compressed request):
 *   connect-es's `internal`; one that does not parse: its parse error;
 * - an end inside an envelope: `invalid_argument`, "incomplete envelope";
 * - a message begun and not finished within the body timeout: the meter's
 *   `deadline_exceeded`; the call's end (deadline, client gone, shutdown):
 *   its reason, to a read waiting then.
 *
 * After an error the stream is over, as an async generator that threw. The
 * bytes held (split and not yet read, and the message under way) count on
 * the request budget; past its room, or past `queuedBytesBound`, the body
 * is paused, so a client that sends faster than the handler reads waits on
 * HTTP/2 flow control.
 */
export class LiveRequests implements AsyncIterableIterator<unknown> {
  readonly #init: LiveRequestsInit;
  readonly #queue: Envelope[] = [];
  #queuedBytes = 0;
  /** The envelope being split: its header so far, then its data's parts. */
  readonly #header = Buffer.alloc(envelopeHeaderBytes);
  #headerSeen = 0;
  #length = 0;
  #parts: Buffer[] = [];
  #partBytes = 0;
  /** What the stream ends with once the queue is read: an error, or the body's end. */
  #failure: unknown;
  /** Why the call ended, if it did: a read that finds nothing left fails with it. */
  #callEndReason: unknown;
  #bodyEnded = false;
  /** Nothing more to read: the stream ended, failed, or was let go. */
  #over = false;
  #reading = true;
  #waiting: { resolve: (result: IteratorResult<unknown>) => void; reject: (reason: unknown) => void } | undefined;

  constructor(init: LiveRequestsInit) {
    this.#init = init;
    for (const chunk of init.consumed) if (this.#reading) this.#split(chunk);
    init.onCallEnd(this.#callEnded);
    if (!this.#reading) return;
    init.body.on("data", this.#onData);
    init.body.once("end", this.#onEnd);
    this.#flow();
  }

  next(): Promise<IteratorResult<unknown>> {
    try {
      const result = this.#answer();
      if (result !== undefined) return Promise.resolve(result);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      // The client owes the rest of a message begun: its clock counts while the handler waits for it.
      if (this.#inMessage() > 0) this.#startClock();
    });
  }

  return(): Promise<IteratorResult<unknown>> {
    this.#stop();
    return Promise.resolve(done);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this;
  }

  /** What a read gets now (throwing an error the stream ends with), or undefined while it must wait. */
  #answer(): IteratorResult<unknown> | undefined {
    if (this.#over) return done;
    const envelope = this.#queue.shift();
    if (envelope !== undefined) {
      this.#queuedBytes -= envelopeHeaderBytes + envelope.size;
      this.#flow();
      try {
        if ((envelope.flags & 0b1) !== 0) {
          throw new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
        }
        return { done: false, value: this.#init.parse(envelope.parts, envelope.size) };
      } catch (e) {
        this.#stop();
        throw e;
      }
    }
    const failure = this.#failure ?? this.#callEndReason;
    if (failure !== undefined) {
      this.#stop();
      throw failure;
    }
    if (this.#bodyEnded) {
      this.#stop();
      return done;
    }
    return undefined;
  }

  readonly #onData = (chunk: Buffer) => {
    this.#split(chunk);
    if (this.#inMessage() > 0 && this.#waiting !== undefined && !this.#init.meter.clockStarted) this.#startClock();
    this.#settle();
    if (this.#reading) this.#flow();
  };

  readonly #onEnd = () => {
    // A stream cut by the client or its connection ends too: the call's end (its "close") says why.
    if (this.#init.body.aborted === true) {
      this.#stopReading();
      return;
    }
    this.#bodyEnded = true;
    if (this.#inMessage() > 0)
      this.#failure = new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
    this.#stopReading();
    this.#settle();
  };

  readonly #callEnded = (reason: unknown) => {
    this.#callEndReason = reason;
    this.#stopReading();
    this.#settle();
  };

  readonly #expired = (error: ConnectError) => {
    this.#failure = error;
    this.#stopReading();
    this.#settle();
  };

  /** Answers a read that waits, if there is now something to answer it with. */
  #settle(): void {
    const waiting = this.#waiting;
    if (waiting === undefined) return;
    let result: IteratorResult<unknown> | undefined;
    try {
      result = this.#answer();
    } catch (e) {
      this.#waiting = undefined;
      waiting.reject(e);
      return;
    }
    if (result === undefined) return;
    this.#waiting = undefined;
    this.#init.meter.pauseClock();
    waiting.resolve(result);
  }

  /** Splits `chunk` into the queue, as connect-es's checked body and envelope splitter would. */
  #split(chunk: Buffer): void {
    const queuedBefore = this.#queue.length;
    let i = 0;
    while (i < chunk.length) {
      if (this.#headerSeen < envelopeHeaderBytes) {
        const byte = chunk[i];
        if (this.#headerSeen === 0 && isBadFlags(byte)) {
          this.#failure = badFlagsError(byte);
          this.#stopReading();
          return;
        }
        this.#header[this.#headerSeen++] = byte;
        i++;
        if (this.#headerSeen < envelopeHeaderBytes) continue;
        this.#length = this.#header.readUInt32BE(1);
        if (this.#length > this.#init.readMaxBytes) {
          // connect-es's splitter throws while it splits the chunk: what else ended in it is lost.
          this.#queuedBytes -= this.#queue
            .splice(queuedBefore)
            .reduce((sum, lost) => sum + envelopeHeaderBytes + lost.size, 0);
          this.#failure = new ConnectError(
            `message size ${this.#length} is larger than configured readMaxBytes ${this.#init.readMaxBytes}`,
            Code.ResourceExhausted,
          );
          this.#stopReading();
          return;
        }
      } else {
        const taken = Math.min(this.#length - this.#partBytes, chunk.length - i);
        this.#parts.push(chunk.subarray(i, i + taken));
        this.#partBytes += taken;
        i += taken;
      }
      if (this.#headerSeen === envelopeHeaderBytes && this.#partBytes === this.#length) this.#envelopeIn();
    }
  }

  #envelopeIn(): void {
    // A message the handler waits for is read within this turn, from its parts (message-parts.ts).
    // One that waits in the queue is joined now: its parts are views of Node's socket reads, and
    // would hold them whole (other streams' frames, padding) for as long as it waits.
    const readNow = this.#waiting !== undefined && this.#queue.length === 0;
    const parts = readNow || this.#parts.length === 1 ? this.#parts : [Buffer.concat(this.#parts, this.#partBytes)];
    this.#queue.push({ flags: this.#header[0], parts, size: this.#partBytes });
    this.#queuedBytes += envelopeHeaderBytes + this.#partBytes;
    this.#headerSeen = 0;
    this.#parts = [];
    this.#partBytes = 0;
    // A message is in: the next one is timed from its own first byte.
    this.#init.meter.stopClock();
  }

  /** Bytes of the envelope under way, its header included. */
  #inMessage(): number {
    return this.#headerSeen + this.#partBytes;
  }

  #startClock(): void {
    const meter = this.#init.meter;
    if (meter.clockStarted) meter.resumeClock();
    else meter.startClock(this.#expired);
  }

  /** Reads on while the budget has room and the handler keeps up; else pauses the body until both do. */
  #flow(): void {
    if (!this.#reading) return;
    const { body, meter } = this.#init;
    meter.setHeld(this.#queuedBytes + this.#inMessage());
    if (meter.mustWait()) {
      body.pause();
      meter.whenRoom(() => this.#flow());
    } else if (this.#queuedBytes >= queuedBytesBound) body.pause();
    else body.resume();
  }

  /**
   * Nobody reads the rest: it flows away unread, so that the stream closes
   * when the client ends it (paused, it would stay open, and its connection
   * with it); a client that sends on is cut after the call's grace (cutIfStuck).
   */
  #stopReading(): void {
    if (!this.#reading) return;
    this.#reading = false;
    const { body, meter } = this.#init;
    body.off("data", this.#onData);
    body.off("end", this.#onEnd);
    body.resume();
    meter.close();
  }

  /** The stream is over: nothing more is read or handed on. */
  #stop(): void {
    this.#over = true;
    this.#stopReading();
    this.#queue.length = 0;
  }
}
