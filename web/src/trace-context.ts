import type { Interceptor } from "@connectrpc/connect";

/**
 * Starts a trace for each call, as a W3C `traceparent` header (sampled), so
 * that the server's span of the call carries a trace id the browser chose:
 * the one in the request's headers, to look up in a tracing backend. The page
 * has no OpenTelemetry SDK of its own, so the trace's root span (the page's)
 * is never exported; a header the caller set already is left as it is.
 */
export const startTrace: Interceptor = (next) => (request) => {
  if (!request.header.has("traceparent")) request.header.set("traceparent", newTraceparent());
  return next(request);
};

function newTraceparent(): string {
  return `00-${randomHex(16)}-${randomHex(8)}-01`;
}

/** `bytes` random bytes in lower-case hex; never all zeros, which W3C Trace Context forbids. */
function randomHex(bytes: number): string {
  const random = crypto.getRandomValues(new Uint8Array(bytes));
  if (random.every((b) => b === 0)) random[0] = 1;
  return Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("");
}
