import { Code, ConnectError } from "@connectrpc/connect";

/**
 * fetch, except that a server it cannot reach fails with `unavailable`, as
 * connect-node reports it, rather than the `unknown` connect-web makes of
 * fetch's TypeError. A browser throws the same TypeError when the server
 * refuses this page's origin (CORS) and does not let the page tell which.
 * A connection that breaks while the answer is still arriving (a server that
 * dies mid-stream) is `unavailable` too, the code gRPC's status codes give a
 * connection that breaks during a call, rather than `unknown` with fetch's
 * "network error".
 */
export const fetchOrUnavailable: typeof fetch = async (input, init) => {
  let response: Response;
  try {
    response = await fetch(input, init);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    const message = "cannot reach the server: it is down, or it does not accept calls from this page's origin";
    throw new ConnectError(message, Code.Unavailable, undefined, undefined, e);
  }
  if (response.body === null) return response;
  const { status, statusText, headers } = response;
  return new Response(brokenConnectionIsUnavailable(response.body), { status, statusText, headers });
};

/**
 * The body as it arrives, failing with `unavailable` where fetch fails with a
 * TypeError. Other failures pass as they are: a call the page cancels must
 * still end in the AbortError that connect-web tells apart.
 */
function brokenConnectionIsUnavailable(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (e) {
        if (!(e instanceof TypeError)) throw e;
        const message = "the connection to the server broke before the answer was complete";
        controller.error(new ConnectError(message, Code.Unavailable, undefined, undefined, e));
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
