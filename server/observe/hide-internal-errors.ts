import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { watched } from "../watched-stream.js";
import type { RpcLogger } from "./rpc-log-line.js";
import { procedureOf } from "./rpc-observer.js";

/**
 * Turns an unexpected exception from a handler into `internal` with a generic
 * message, and logs the detail: clients never see stack traces, file paths or
 * the text of a programming error. ConnectErrors pass unchanged.
 */
export function hideInternalErrors(log: RpcLogger): Interceptor {
  const hide = (request: { method: DescMethod }, error: unknown): unknown => {
    if (error instanceof ConnectError || (error instanceof Error && error.name === "AbortError")) return error;
    log.error({ procedure: procedureOf(request.method), err: error }, "handler failed");
    return new ConnectError("internal error", Code.Internal);
  };
  return (next) => async (request) => {
    try {
      const response = await next(request);
      if (!response.stream) return response;
      return { ...response, message: watched(response.message, { error: (e) => hide(request, e) }) };
    } catch (e) {
      throw hide(request, e);
    }
  };
}
