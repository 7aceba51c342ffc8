import type { Codec, HttpVersion, Protocol } from "../../client/simple-test-client.js";

export interface Transport {
  readonly protocol: Protocol;
  readonly codec: Codec;
  readonly httpVersion: HttpVersion;
}

/** Every protocol × codec × HTTP version the protocol allows (gRPC needs HTTP/2). */
export const transports: readonly Transport[] = (["connect", "grpc", "grpc-web"] as const).flatMap((protocol) =>
  (["proto", "json"] as const).flatMap((codec) =>
    (protocol === "grpc" ? (["2"] as const) : (["1.1", "2"] as const)).map((httpVersion) => ({
      protocol,
      codec,
      httpVersion,
    })),
  ),
);

export const describeTransport = (t: Transport) => `${t.protocol} ${t.codec} HTTP/${t.httpVersion}`;
