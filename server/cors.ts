import { cors as connectCors } from "@connectrpc/connect";
import type { FastifyCorsOptions } from "@fastify/cors";

/** What CORS does on this server: @fastify/cors's options, and what they do to a request without an Origin. */
export interface Cors {
  /**
   * For @fastify/cors. Register it on the root instance before the RPC
   * routes: @fastify/cors answers preflights from an onRequest hook, which
   * routes registered later inherit, even inside their own plugin.
   */
  readonly options: FastifyCorsOptions;
  /**
   * The headers @fastify/cors puts on the answer to a call (not a preflight)
   * with this Origin, or with none: `vary: Origin` whenever the allowed origin
   * is not one fixed string, as @fastify/cors decides it
   * (https://fetch.spec.whatwg.org/#cors-protocol-and-http-caches); for a
   * listed origin also that it may read the answer, and the headers it may
   * read. The fast lane puts them on the answers it writes.
   */
  readonly headersFor: (origin: string | undefined) => Readonly<Record<string, string>>;
}

/**
 * Lets pages from `origins` call the service, with the preflight and
 * response headers Connect and gRPC-Web need. Any other origin gets no CORS
 * headers, so its browser refuses the call; same-origin pages need none.
 */
export function corsOf(origins: readonly string[]): Cors {
  const allowed = new Set(origins);
  const exposedHeaders = [...connectCors.exposedHeaders];
  const options: FastifyCorsOptions = {
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    methods: [...connectCors.allowedMethods],
    // W3C Trace Context, which the page and traced clients send: the server's span continues their trace.
    allowedHeaders: [...connectCors.allowedHeaders, "traceparent", "tracestate"],
    exposedHeaders,
    // Browsers cap this (Chromium at 2 h); it spares a preflight before most calls.
    maxAge: 7200,
  };
  const varies = typeof options.origin !== "string" && options.origin !== false;
  const anyOrigin: Readonly<Record<string, string>> = varies ? { vary: "Origin" } : {};
  const exposed = exposedHeaders.join(", ");
  return {
    options,
    headersFor: (origin) =>
      origin !== undefined && allowed.has(origin)
        ? { ...anyOrigin, "access-control-allow-origin": origin, "access-control-expose-headers": exposed }
        : anyOrigin,
  };
}
