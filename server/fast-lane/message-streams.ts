import { create, type DescMessage } from "@bufbuild/protobuf";
import { type ReadNow, readNow, watched } from "../watched-stream.js";

/*
 * The lane's streams of messages, as plain iterators rather than async
 * generators (see server/watched-stream.ts): every streamed message of a lane
 * call passes through these.
 */

const done: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** Messages already read, as a stream (a client-streaming call's requests, a server-streaming call's one). */
export function listed(messages: readonly unknown[]): AsyncIterable<unknown> {
  let next = 0;
  const now = (): IteratorResult<unknown> => (next < messages.length ? { done: false, value: messages[next++] } : done);
  const iterator: AsyncIterableIterator<unknown> & ReadNow<unknown> = {
    next: () => Promise.resolve(now()),
    [readNow]: now,
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
  return watched(messages, { map: (message) => create(schema, message as never) });
}
