import type { ServiceImpl } from "@connectrpc/connect";
import type { SimpleTest } from "../../gen/simpletest/simple_test_pb.js";
import { sleep } from "./sleep.js";

export interface SimpleTestOptions {
  /** Pause before each GetList message after the first; 0 sends them at once. */
  readonly getListIntervalMs: number;
}

/** The SimpleTest answers, as the existing Python client and server expect them. */
export function createSimpleTestService(options: SimpleTestOptions): ServiceImpl<typeof SimpleTest> {
  return {
    getOne(request) {
      return { result: `Hello !! ${request.hello}` };
    },

    async *getList(_request, context) {
      for (let i = 0; i < 5; i++) {
        if (i > 0 && options.getListIntervalMs > 0) {
          await sleep(options.getListIntervalMs, context.signal);
        }
        yield { resultlist: `test${i}` };
      }
    },

    async postList(requests) {
      for await (const _ of requests) {
        // Every request is read; the answer does not depend on them.
      }
      return { result: "PostList OK" };
    },

    async *postAndPost(requests) {
      for await (const request of requests) {
        yield { resultlist: `Hello !! ${request.namelist}` };
      }
    },
  };
}
