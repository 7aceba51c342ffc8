import type { DescService } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import {
  compressionBrotli,
  compressionGzip,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { cutShortAsUnavailable } from "./cut-short.js";
import { propagateTraceContext } from "./trace-context.js";

export type Protocol = "connect" | "grpc" | "grpc-web";
export type HttpVersion = "1.1" | "2";
export type Codec = "proto" | "json";
export type SendCompression = "identity" | "gzip" | "br";

export const protocols: readonly Protocol[] = ["connect", "grpc", "grpc-web"];
export const httpVersions: readonly HttpVersion[] = ["1.1", "2"];
export const codecs: readonly Codec[] = ["proto", "json"];

export interface ServiceClientOptions {
  /** Where the server is, e.g. `http://127.0.0.1:8080` or `https://example.com`. */
  readonly baseUrl: string;
  /** Default "connect". */
  readonly protocol?: Protocol;
  /** Default "2". Over "1.1" only Connect and gRPC-Web work, and bidi streaming does not. */
  readonly httpVersion?: HttpVersion;
  /** Default "proto" (binary). */
  readonly codec?: Codec;
  /** How request messages are compressed; responses may always come gzip or br. Default "identity". */
  readonly sendCompression?: SendCompression;
  /** Call side-effect-free methods (SimpleTest's GetOne) with HTTP GET (Connect protocol only). */
  readonly useHttpGet?: boolean;
  /** Extra certificate authorities to trust, in PEM, for a server with its own certificate. */
  readonly ca?: string | Buffer;
  readonly interceptors?: Interceptor[];
}

export type ServiceClient<Service extends DescService> = Client<Service> & {
  /** Closes the client's HTTP/2 connection, if it has one. */
  close(): void;
};

/** A typed client of `service` over any of the three protocols. */
export function createServiceClient<Service extends DescService>(
  service: Service,
  options: ServiceClientOptions,
): ServiceClient<Service> {
  const protocol = options.protocol ?? "connect";
  const httpVersion = options.httpVersion ?? "2";
  if (protocol === "grpc" && httpVersion !== "2") {
    throw new Error('the gRPC protocol needs HTTP/2: use httpVersion "2"');
  }
  if (options.useHttpGet && protocol !== "connect") {
    throw new Error("useHttpGet works with the Connect protocol only");
  }
  const common = {
    baseUrl: options.baseUrl,
    useBinaryFormat: (options.codec ?? "proto") === "proto",
    sendCompression: { identity: undefined, gzip: compressionGzip, br: compressionBrotli }[
      options.sendCompression ?? "identity"
    ],
    acceptCompression: [compressionGzip, compressionBrotli],
    // The trace context after the caller's interceptors, so that a span one of them makes
    // active is the one sent; innermost, so that they see a call cut short as `unavailable` too.
    interceptors: [
      ...(httpVersion === "1.1" ? [refuseBidiOverHttp1] : []),
      ...(options.interceptors ?? []),
      propagateTraceContext,
      cutShortAsUnavailable,
    ],
  };
  const sessions = httpVersion === "2" ? new Http2SessionManager(options.baseUrl, {}, { ca: options.ca }) : undefined;
  const transportOptions =
    sessions === undefined
      ? { ...common, httpVersion: "1.1" as const, nodeOptions: { ca: options.ca } }
      : { ...common, httpVersion: "2" as const, sessionManager: sessions };
  const transport =
    protocol === "grpc"
      ? createGrpcTransport(transportOptions)
      : protocol === "grpc-web"
        ? createGrpcWebTransport(transportOptions)
        : createConnectTransport({ ...transportOptions, useHttpGet: options.useHttpGet });
  return Object.assign(createClient(service, transport), {
    close: () => sessions?.abort(),
  });
}

/** HTTP/1.1 cannot carry both directions at once; say so instead of failing with HTTP 505. */
const refuseBidiOverHttp1: Interceptor = (next) => (request) => {
  if (request.method.methodKind === "bidi_streaming") {
    throw new ConnectError(`${request.method.name} is bidi streaming, which needs HTTP/2`, Code.Unimplemented);
  }
  return next(request);
};
