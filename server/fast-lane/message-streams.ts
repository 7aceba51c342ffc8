import { create, type DescMessage } from "@bufbuild/protobuf";

/*
 * The lane's streams of messages, as plain iterators rather than async
 * generators: a generator costs a promise and a resumption per message, and
 * every streamed message of a lane call passes through these.
 */

const done: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** Messages already read, as a stream (a client-streaming call's requests, a server-streaming call's one). */
export function listed(messages: readonly unknown[]): AsyncIterable<unknown> {
  let next = 0;
  const iterator: AsyncIterableIterator<unknown> = {
    next: () => Promise.resolve(next < messages.length ? { done: false, value: messages[next++] } : done),
    return: () => {
      next = messages.length;
      return Promise.resolve(done);
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/** `messages` made messages of `schema` as they come, as connect-es's `normalizeIterable` does with a handler's answers. */
export function created(schema: DescMessage, messages: AsyncIterable<unknown>): AsyncIterable<unknown> {
  return {
    [Symbol.asyncIterator]() {
      const source = messages[Symbol.asyncIterator]();
      const make = (result: IteratorResult<unknown>): IteratorResult<unknown> => {
        if (result.done === true) return result;
        try {
          return { done: false, value: create(schema, result.value as never) };
        } catch (e) {
          // As a generator's loop would, close the source on the way out.
          source.return?.().catch(() => {});
          throw e;
        }
      };
      const iterator: AsyncIterableIterator<unknown> = {
        next: () => source.next().then(make),
        return: (value?: unknown) => (source.return ? source.return(value) : Promise.resolve(done)),
        throw: (error?: unknown) => (source.throw ? source.throw(error) : Promise.reject(error)),
        [Symbol.asyncIterator]: () => iterator,
      };
      return iterator;
    },
  };
}
