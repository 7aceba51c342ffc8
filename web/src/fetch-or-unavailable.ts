import { Code, ConnectError } from "@connectrpc/connect";

/**
 * fetch, except that a server it cannot reach fails with `unavailable`, as
 * connect-node reports it, rather than the `unknown` connect-web makes of
 * fetch's TypeError. A browser throws the same TypeError when the server
 * refuses this page's origin (CORS) and does not let the page tell which.
 */
export const fetchOrUnavailable: typeof fetch = async (input, init) => {
  try {
    return await fetch(input, init);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    const message = "cannot reach the server: it is down, or it does not accept calls from this page's origin";
    throw new ConnectError(message, Code.Unavailable, undefined, undefined, e);
  }
};
