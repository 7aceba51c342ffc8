import { cors as connectCors } from "@connectrpc/connect";
import type { FastifyCorsOptions } from "@fastify/cors";

/**
 * @fastify/cors options that let pages from `origins` call the service, with
 * the preflight and response headers Connect and gRPC-Web need. Any other
 * origin gets no CORS headers, so its browser refuses the call; same-origin
 * pages need none.
 *
 * Register them on the root instance before the RPC routes: @fastify/cors
 * answers preflights from an onRequest hook, which routes registered later
 * inherit, even inside their own plugin.
 */
export function corsOptions(origins: readonly string[]): FastifyCorsOptions {
  const allowed = new Set(origins);
  return {
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    methods: [...connectCors.allowedMethods],
    // W3C Trace Context, which the page and traced clients send: the server's span continues their trace.
    allowedHeaders: [...connectCors.allowedHeaders, "traceparent", "tracestate"],
    exposedHeaders: [...connectCors.exposedHeaders],
    // Browsers cap this (Chromium at 2 h); it spares a preflight before most calls.
    maxAge: 7200,
  };
}
