import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { fetchOrUnavailable } from "./fetch-or-unavailable.js";
import { startTrace } from "./trace-context.js";

export interface TransportChoice {
  /** The `<option>` value. */
  readonly id: string;
  /** What the page shows: the `<option>` text and the result's label. */
  readonly label: string;
  create(baseUrl: string): Transport;
}

/** Every call starts a trace that the server's span continues. */
const interceptors = [startTrace];

/** The protocols a browser can speak with fetch: Connect in both codecs, and gRPC-Web. */
export const transportChoices: readonly TransportChoice[] = [
  {
    id: "connect-json",
    label: "Connect (JSON)",
    create: (baseUrl) =>
      createConnectTransport({ baseUrl, useBinaryFormat: false, fetch: fetchOrUnavailable, interceptors }),
  },
  {
    id: "connect-binary",
    label: "Connect (binary)",
    create: (baseUrl) =>
      createConnectTransport({ baseUrl, useBinaryFormat: true, fetch: fetchOrUnavailable, interceptors }),
  },
  {
    id: "grpc-web",
    label: "gRPC-Web",
    create: (baseUrl) =>
      createGrpcWebTransport({ baseUrl, useBinaryFormat: true, fetch: fetchOrUnavailable, interceptors }),
  },
];
