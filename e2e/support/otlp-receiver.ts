import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { BinaryReader, type WireType } from "@bufbuild/protobuf/wire";

type Value = string | number | boolean;

/** A span as a collector receives it. */
export interface ReceivedSpan {
  readonly name: string;
  /** Lower-case hex, as in a traceparent. */
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a root span. */
  readonly parentSpanId: string;
  /** OTLP's SpanKind: 2 is SERVER. */
  readonly kind: number;
  readonly attributes: Readonly<Record<string, Value>>;
  readonly resource: Readonly<Record<string, Value>>;
}

export interface OtlpReceiver {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT (exporters post to `/v1/traces` under it). */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** The content type of each export request, in order. */
  readonly contentTypes: string[];
  close(): Promise<void>;
}

/**
 * A stand-in for an OpenTelemetry collector's OTLP/HTTP receiver: takes
 * `POST /v1/traces` in JSON (`http/json`) or protobuf (`http/protobuf`) and
 * decodes the spans, as a collector would, answering each export with success.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const contentType = req.headers["content-type"] ?? "";
    if (req.method !== "POST" || req.url !== "/v1/traces") {
      res.writeHead(404).end();
      return;
    }
    contentTypes.push(contentType);
    if (contentType.startsWith("application/json")) {
      spans.push(...fromJson(JSON.parse(body.toString("utf8"))));
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    } else {
      spans.push(...fromProtobuf(body));
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    contentTypes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface JsonKeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
}

/** OTLP/JSON: ids in hex, enums as numbers, 64-bit integers as numbers or strings. */
function fromJson(request: {
  resourceSpans?: {
    resource?: { attributes?: JsonKeyValue[] };
    scopeSpans?: {
      spans?: {
        name: string;
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        kind: number;
        attributes?: JsonKeyValue[];
      }[];
    }[];
  }[];
}): ReceivedSpan[] {
  const attributes = (list: JsonKeyValue[] = []) =>
    Object.fromEntries(
      list.map(({ key, value }) => [
        key,
        value.stringValue ??
          (value.intValue === undefined ? undefined : Number(value.intValue)) ??
          value.boolValue ??
          value.doubleValue ??
          "",
      ]),
    );
  return (request.resourceSpans ?? []).flatMap((rs) =>
    (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((span) => ({
        name: span.name,
        traceId: span.traceId.toLowerCase(),
        spanId: span.spanId.toLowerCase(),
        parentSpanId: (span.parentSpanId ?? "").toLowerCase(),
        kind: span.kind,
        attributes: attributes(span.attributes),
        resource: attributes(rs.resource?.attributes),
      })),
    ),
  );
}

/**
 * OTLP/protobuf, read with the field numbers of the published protos
 * (opentelemetry/proto/collector/trace/v1/trace_service.proto,
 * trace/v1/trace.proto, resource/v1/resource.proto, common/v1/common.proto);
 * everything else is skipped.
 */
function fromProtobuf(bytes: Uint8Array): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  // ExportTraceServiceRequest: 1 resource_spans.
  fields(bytes, (no, r) => {
    if (no !== 1) return false;
    let resource: Record<string, Value> = {};
    const scopeSpans: Uint8Array[] = [];
    // ResourceSpans: 1 resource, 2 scope_spans.
    fields(r.bytes(), (no, r) => {
      // Resource: 1 attributes.
      if (no === 1) resource = keyValues(r.bytes(), 1);
      else if (no === 2) scopeSpans.push(r.bytes());
      else return false;
      return true;
    });
    for (const scope of scopeSpans) {
      // ScopeSpans: 2 spans.
      fields(scope, (no, r) => {
        if (no !== 2) return false;
        spans.push({ ...span(r.bytes()), resource });
        return true;
      });
    }
    return true;
  });
  return spans;
}

/** Span: 1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 6 kind, 9 attributes. */
function span(bytes: Uint8Array): Omit<ReceivedSpan, "resource"> {
  let name = "";
  let traceId = "";
  let spanId = "";
  let parentSpanId = "";
  let kind = 0;
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
  fields(bytes, (no, r) => {
    if (no === 1) traceId = hex(r.bytes());
    else if (no === 2) spanId = hex(r.bytes());
    else if (no === 4) parentSpanId = hex(r.bytes());
    else if (no === 5) name = r.string();
    else if (no === 6) kind = r.int32();
    else return false;
    return true;
  });
  return { name, traceId, spanId, parentSpanId, kind, attributes: keyValues(bytes, 9) };
}

/** The KeyValues in field `fieldNo` of a message: KeyValue 1 key, 2 value; AnyValue 1 string, 2 bool, 3 int, 4 double. */
function keyValues(bytes: Uint8Array, fieldNo: number): Record<string, Value> {
  const out: Record<string, Value> = {};
  fields(bytes, (no, r) => {
    if (no !== fieldNo) return false;
    let key = "";
    let value: Value = "";
    fields(r.bytes(), (no, r) => {
      if (no === 1) key = r.string();
      else if (no === 2) {
        fields(r.bytes(), (no, r) => {
          if (no === 1) value = r.string();
          else if (no === 2) value = r.bool();
          else if (no === 3) value = Number(r.int64());
          else if (no === 4) value = r.double();
          else return false;
          return true;
        });
      } else return false;
      return true;
    });
    out[key] = value;
    return true;
  });
  return out;
}

/** Calls `read` for each field; a field it does not read (returns false) is skipped. */
function fields(bytes: Uint8Array, read: (fieldNo: number, reader: BinaryReader) => boolean): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    const start = reader.pos;
    if (!read(no, reader)) {
      reader.pos = start;
      reader.skip(wireType as WireType, no);
    }
  }
}
