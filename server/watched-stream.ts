/** What a watched stream tells, and how it may change a message or an error on the way. */
export interface StreamWatch<T> {
  /** Each message, as it passes. */
  readonly message?: () => void;
  /** What the reader gets for each message; throwing fails the stream, and closes its source. */
  readonly map?: (message: T) => T;
  /** An error of the stream, as its reader gets it: the same one or another. */
  readonly error?: (error: unknown) => unknown;
  /**
   * Once: undefined after the last message, the stream's own error if it
   * failed, and null if the reader stopped early.
   */
  readonly end?: (outcome: unknown) => void;
}

const finished: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * A stream may offer its next message at once when it has it at hand (a
 * call's requests, read before the call started): `[readNow]()` gives its next
 * result, throws its error, or gives undefined when the reader must wait on
 * `next()`. A watched stream offers it whenever its source does, so that such
 * messages pass every layer of watching with one promise, the reader's,
 * rather than one per layer and a turn of the microtask queue each.
 */
export const readNow = Symbol("readNow");

export interface ReadNow<T> {
  [readNow](): IteratorResult<T> | undefined;
}

/**
 * `messages`, passed through as they are read, with `watch` told. A plain
 * iterator rather than an async generator, with a generator's semantics (the
 * source is opened at the first read): the interceptors and the fast lane
 * wrap every stream of every call in a few of these, and a generator costs a
 * promise and a resumption per message and layer.
 */
export function watched<T>(messages: AsyncIterable<T>, watch: StreamWatch<T>): AsyncIterable<T> {
  return new Watched(messages, watch);
}

type Source<T> = AsyncIterator<T> & Partial<ReadNow<T>>;

class Watched<T> implements AsyncIterableIterator<T>, ReadNow<T> {
  readonly #messages: AsyncIterable<T>;
  readonly #watch: StreamWatch<T>;
  #source: Source<T> | undefined;
  /** Whether the source may give a message at once: a watched stream of one that cannot never will. */
  #sourceReadsNow = false;
  /**
   * Over a watched source that never reads now: the stream under every
   * watched layer. This one reads it itself and passes each result up
   * through the layers between, so that a message from a handler's
   * generator costs one promise, not one per layer. Methods, not closures
   * made per stream: with those, V8 moved ~3 KB of every call into the old
   * generation (bench/README.md, step 39).
   */
  #base: Source<T> | undefined;
  #ended = false;

  constructor(messages: AsyncIterable<T>, watch: StreamWatch<T>) {
    this.#messages = messages;
    this.#watch = watch;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    const source = this.#opened();
    if (this.#sourceReadsNow) {
      let now: IteratorResult<T> | undefined;
      try {
        now = this.#readFrom(source as ReadNow<T>);
      } catch (e) {
        return Promise.reject(e);
      }
      if (now !== undefined) return Promise.resolve(now);
    }
    return (this.#base ?? source).next().then(this.#passed, this.#failed);
  }

  [readNow](): IteratorResult<T> | undefined {
    const source = this.#opened();
    return this.#sourceReadsNow ? this.#readFrom(source as ReadNow<T>) : undefined;
  }

  /**
   * The source's message at hand, watched by this layer alone (the source,
   * if watched, has passed it through the layers below); undefined if it has none.
   */
  #readFrom(source: ReadNow<T>): IteratorResult<T> | undefined {
    let result: IteratorResult<T> | undefined;
    try {
      result = source[readNow]();
    } catch (e) {
      return this.#failOwn(e);
    }
    return result === undefined ? undefined : this.#passOwn(result);
  }

  return(value?: unknown): Promise<IteratorResult<T>> {
    const source = this.#opened();
    const closed = source.return ? source.return(value) : Promise.resolve(finished);
    this.#end(null);
    return closed;
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    const source = this.#opened();
    // Thrown into the source itself, whose result has passed the layers below.
    return source.throw
      ? source.throw(error).then(
          (result) => this.#passOwn(result),
          (e) => this.#failOwn(e),
        )
      : Promise.reject(error);
  }

  #opened(): Source<T> {
    if (this.#source === undefined) {
      const source: Source<T> = this.#messages[Symbol.asyncIterator]();
      this.#source = source;
      this.#sourceReadsNow = source instanceof Watched ? source.#readsNow() : source[readNow] !== undefined;
      if (source instanceof Watched && !this.#sourceReadsNow) this.#base = source.#base ?? source.#source;
    }
    return this.#source;
  }

  #readsNow(): boolean {
    this.#opened();
    return this.#sourceReadsNow;
  }

  #end(outcome: unknown) {
    if (this.#ended) return;
    this.#ended = true;
    this.#watch.end?.(outcome);
  }

  /** A result of the base, through every layer from it up to this one, as chained promises would pass it. */
  readonly #passed = (result: IteratorResult<T>): IteratorResult<T> => this.#passUp(result);
  readonly #failed = (error: unknown): never => this.#failUp(error);

  /** The watched source this one reads past, if it does. */
  #below(): Watched<T> | undefined {
    return this.#base === undefined ? undefined : (this.#source as Watched<T>);
  }

  #passUp(result: IteratorResult<T>): IteratorResult<T> {
    const below = this.#below();
    if (below === undefined) return this.#passOwn(result);
    let passed: IteratorResult<T>;
    try {
      passed = below.#passUp(result);
    } catch (e) {
      return this.#failOwn(e);
    }
    return this.#passOwn(passed);
  }

  #failUp(error: unknown): never {
    const below = this.#below();
    if (below === undefined) return this.#failOwn(error);
    try {
      return below.#failUp(error);
    } catch (e) {
      return this.#failOwn(e);
    }
  }

  #failOwn(error: unknown): never {
    this.#end(error);
    throw this.#watch.error ? this.#watch.error(error) : error;
  }

  #passOwn(result: IteratorResult<T>): IteratorResult<T> {
    if (result.done === true) {
      this.#end(undefined);
      return result;
    }
    const watch = this.#watch;
    watch.message?.();
    if (watch.map === undefined) return result;
    try {
      return { done: false, value: watch.map(result.value) };
    } catch (e) {
      // As a generator's loop would, close the source on the way out.
      this.#source?.return?.().catch(() => {});
      return this.#failOwn(e);
    }
  }
}
