/** What a watched stream tells, and how it may change an error on the way. */
export interface StreamWatch {
  /** Each message, as it passes. */
  readonly message?: () => void;
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
 * iterator rather than an async generator: the interceptors wrap every
 * stream of every call in a few of these, and a generator costs a promise and
 * a resumption per message and layer.
 */
export function watched<T>(messages: AsyncIterable<T>, watch: StreamWatch): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const source = messages[Symbol.asyncIterator]();
      let ended = false;
      const end = (outcome: unknown) => {
        if (ended) return;
        ended = true;
        watch.end?.(outcome);
      };
      const passed = (result: IteratorResult<T>) => {
        if (result.done === true) end(undefined);
        else watch.message?.();
        return result;
      };
      const failed = (error: unknown): never => {
        end(error);
        throw watch.error ? watch.error(error) : error;
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
