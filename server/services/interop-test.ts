import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { type EchoStatus, PayloadType, type ResponseParameters } from "../../gen/grpc/testing/messages_pb.js";
import type { TestService } from "../../gen/grpc/testing/test_pb.js";
import { sleep } from "./sleep.js";

export interface InteropTestOptions {
  /** Largest payload one response may ask for: the server's message limit, checked before the bytes are made. */
  readonly maxPayloadBytes: number;
}

// The names gRPC's interop descriptions give the metadata a server echoes.
const echoInitial = "x-grpc-test-echo-initial";
const echoTrailing = "x-grpc-test-echo-trailing-bin";

/**
 * grpc.testing.TestService, the server side of gRPC's interop test cases
 * (grpc/grpc doc/interop-test-descriptions.md, "Server"): EmptyCall,
 * UnaryCall, StreamingOutputCall, StreamingInputCall, FullDuplexCall with
 * echo status, echo metadata, `interval_us` and the compressed-request
 * check. UnimplementedCall is left out on purpose: the cases expect
 * unimplemented. Whether a response is compressed is the server's choice
 * (connect-es compresses every message of 1 KiB or more for a client that
 * accepts it), so `response_compressed` is not read.
 */
export function createInteropTestService(options: InteropTestOptions): Partial<ServiceImpl<typeof TestService>> {
  const payload = (size: number) => {
    if (size < 0) throw new ConnectError(`a payload of ${size} bytes was asked for`, Code.InvalidArgument);
    // What the router's write limit would answer, before the bytes are made.
    if (size > options.maxPayloadBytes) {
      throw new ConnectError(
        `a payload of ${size} bytes was asked for; the most is ${options.maxPayloadBytes}`,
        Code.ResourceExhausted,
      );
    }
    return { body: new Uint8Array(size) };
  };

  // interval_us is a pause before each response, counted from the one before.
  async function* respond(parameters: readonly ResponseParameters[], context: HandlerContext) {
    for (const parameter of parameters) {
      const body = payload(parameter.size);
      if (parameter.intervalUs > 0) await sleep(parameter.intervalUs / 1000, context.signal);
      yield { payload: body };
    }
  }

  return {
    emptyCall() {
      return {};
    },

    unaryCall(request, context) {
      echoMetadata(context);
      refuseUncompressed(request.expectCompressed?.value, context);
      throwEchoStatus(request.responseStatus);
      // The descriptions' rule for a response_type the server does not make.
      if (request.responseType !== PayloadType.COMPRESSABLE) {
        throw new ConnectError(`response_type ${request.responseType} is not served`, Code.InvalidArgument);
      }
      return { payload: payload(request.responseSize) };
    },

    async *streamingOutputCall(request, context) {
      echoMetadata(context);
      throwEchoStatus(request.responseStatus);
      yield* respond(request.responseParameters, context);
    },

    async streamingInputCall(requests, context) {
      echoMetadata(context);
      let aggregatedPayloadSize = 0;
      for await (const request of requests) {
        refuseUncompressed(request.expectCompressed?.value, context);
        aggregatedPayloadSize += request.payload?.body.length ?? 0;
      }
      return { aggregatedPayloadSize };
    },

    async *fullDuplexCall(requests, context) {
      echoMetadata(context);
      for await (const request of requests) {
        // The call ends with the status asked for; later requests are not read.
        throwEchoStatus(request.responseStatus);
        yield* respond(request.responseParameters, context);
      }
    },
  };
}

function echoMetadata(context: HandlerContext): void {
  const initial = context.requestHeader.get(echoInitial);
  if (initial !== null) context.responseHeader.set(echoInitial, initial);
  const trailing = context.requestHeader.get(echoTrailing);
  if (trailing !== null) context.responseTrailer.set(echoTrailing, trailing);
}

function throwEchoStatus(status: EchoStatus | undefined): void {
  if (status === undefined || status.code === 0) return;
  if (Code[status.code] === undefined) {
    throw new ConnectError(`response_status.code ${status.code} is no gRPC status code`, Code.InvalidArgument);
  }
  throw new ConnectError(status.message, status.code as Code);
}

/**
 * The CompressedRequest feature: a request that expects to have been
 * compressed fails with invalid_argument if it was not. The call's encoding
 * header tells (gRPC and gRPC-Web: grpc-encoding; Connect: content-encoding
 * for unary, connect-content-encoding for streams).
 */
function refuseUncompressed(expected: boolean | undefined, context: HandlerContext): void {
  if (!expected) return;
  const header = context.requestHeader;
  const encoding =
    header.get("grpc-encoding") ?? header.get("connect-content-encoding") ?? header.get("content-encoding");
  if (encoding === null || encoding === "identity") {
    throw new ConnectError("the request was expected to be compressed and was not", Code.InvalidArgument);
  }
}
