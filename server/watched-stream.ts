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
 * `messages`, passed through as they are read, with `watch` told. A plain
 * iterator rather than an async generator, with a generator's semantics: the
 * interceptors and the fast lane wrap every stream of every call in a few of
 * these, and a generator costs a promise and a resumption per message and layer.
 */
export function watched<T>(messages: AsyncIterable<T>, watch: StreamWatch<T>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const source = messages[Symbol.asyncIterator]();
      let ended = false;
      const end = (outcome: unknown) => {
        if (ended) return;
        ended = true;
        watch.end?.(outcome);
      };
      const failed = (error: unknown): never => {
        end(error);
        throw watch.error ? watch.error(error) : error;
      };
      const passed = (result: IteratorResult<T>): IteratorResult<T> => {
        if (result.done === true) {
          end(undefined);
          return result;
        }
        watch.message?.();
        if (watch.map === undefined) return result;
        try {
          return { done: false, value: watch.map(result.value) };
        } catch (e) {
          // As a generator's loop would, close the source on the way out.
          source.return?.().catch(() => {});
          return failed(e);
        }
      };
      const iterator: AsyncIterableIterator<T> = {
        next: () => source.next().then(passed, failed),
        return: (value?: unknown) => {
          const closed = source.return ? source.return(value) : Promise.resolve(finished);
          end(null);
          return closed;
        },
        throw: (error?: unknown) => (source.throw ? source.throw(error).then(passed, failed) : Promise.reject(error)),
        [Symbol.asyncIterator]: () => iterator,
      };
      return iterator;
    },
  };
}
