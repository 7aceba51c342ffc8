import type { Interceptor } from "@connectrpc/connect";
import { context, propagation, type TextMapSetter } from "@opentelemetry/api";

const headers: TextMapSetter<Headers> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/**
 * Sends the caller's active trace with every call (W3C `traceparent` and
 * `tracestate`, or whatever propagator the application's OpenTelemetry SDK
 * registered), so that the server's span joins it. Without a registered SDK
 * the API's propagator is a no-op, and nothing is sent: as with any library
 * instrumented with `@opentelemetry/api`, tracing is the application's choice.
 */
export const propagateTraceContext: Interceptor = (next) => (request) => {
  propagation.inject(context.active(), request.header, headers);
  return next(request);
};
