import type { Interceptor } from "@connectrpc/connect";
import { context, diag, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  defaultResource,
  detectResources,
  envDetector,
  hostDetector,
  processDetector,
  resourceFromAttributes,
} from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  type Sampler,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { TracingConfig } from "../config.js";
import { traceRpcs } from "./rpc-tracing.js";

export interface Tracing {
  /** Goes first in the interceptor list: one span per RPC. */
  readonly interceptor: Interceptor;
  /** Exports the spans still queued and stops, after the last call has ended; never fails (a failure is logged). */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** Where warnings of the SDK itself go, e.g. an export the collector refused. */
  readonly log: { warn(fields: object, message: string): void };
  /** Take the place of the exporters OTEL_TRACES_EXPORTER names (tests give an in-memory one). */
  readonly spanProcessors?: readonly SpanProcessor[];
}

/**
 * The OpenTelemetry SDK, set up as the OTEL_* variables say: the exporters of
 * OTEL_TRACES_EXPORTER (OTLP over HTTP, which reads its own endpoint, headers
 * and timeout variables, or the console), the sampler, and the resource
 * (service.name "simpletest" unless OTEL_SERVICE_NAME or
 * OTEL_RESOURCE_ATTRIBUTES say otherwise). It registers itself as the global
 * provider, context manager (AsyncLocalStorage) and W3C propagator, as an
 * application's SDK does, so that code under a handler finds its span.
 *
 * Imported only when tracing is on (app.ts imports it dynamically).
 */
export async function startTracing(config: TracingConfig, options: TracingOptions): Promise<Tracing> {
  diag.setLogger(diagnostics(options.log));
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: "simpletest" }))
    .merge(detectResources({ detectors: [processDetector, hostDetector, envDetector] }));
  const provider = new TracerProvider({
    resource,
    sampler: sampler(config.sampler),
    spanProcessors: options.spanProcessors ? [...options.spanProcessors] : await exportersOf(config),
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  trace.setGlobalTracerProvider(provider);
  return {
    interceptor: traceRpcs(provider.getTracer("simpletest")),
    // Within OTEL_EXPORTER_OTLP_TIMEOUT (10 s) when the collector is down: the exporter retries until then.
    shutdown: () =>
      provider.shutdown().catch((e: unknown) => options.log.warn({ err: e }, "the last spans could not be exported")),
  };
}

async function exportersOf(config: TracingConfig): Promise<SpanProcessor[]> {
  const processors: SpanProcessor[] = [];
  for (const name of config.exporters) {
    if (name === "console") {
      processors.push(new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() }));
    } else {
      processors.push(new BatchSpanProcessor({ exporter: await otlpExporter(config.otlpProtocol) }));
    }
  }
  return processors;
}

/** Only the exporter asked for is loaded. */
async function otlpExporter(protocol: TracingConfig["otlpProtocol"]): Promise<SpanExporter> {
  if (protocol === "http/json") {
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
    return new OTLPTraceExporter();
  }
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-proto");
  return new OTLPTraceExporter();
}

function sampler({ name, ratio }: TracingConfig["sampler"]): Sampler {
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(ratio);
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

/**
 * The SDK's own complaints (an export the collector refused or never took,
 * a refused registration), as warnings in the server's log: a collector that
 * is down must not pass unseen, nor cost more than a line per batch.
 */
function diagnostics(log: TracingOptions["log"]) {
  const warn = (message: string, ...args: unknown[]) =>
    log.warn({ detail: [message, ...args.map(String)].join(" ") }, "tracing: the OpenTelemetry SDK reports a problem");
  const ignore = () => {};
  return { error: warn, warn, info: ignore, debug: ignore, verbose: ignore };
}
