import assert from "node:assert/strict";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { toBinary } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createAsyncIterable, createWritableIterable } from "@connectrpc/connect/protocol";
import { EmptySchema } from "../../gen/grpc/testing/empty_pb.js";
import type { StreamingOutputCallRequestSchema } from "../../gen/grpc/testing/messages_pb.js";
import { TestService, UnimplementedService } from "../../gen/grpc/testing/test_pb.js";

/** The transports a case may need: one that compresses what it sends (gzip) and one that does not. */
export interface InteropTransports {
  readonly plain: Transport;
  readonly gzip: Transport;
}

type Case = (transports: InteropTransports) => Promise<void>;
type StreamRequest = MessageInitShape<typeof StreamingOutputCallRequestSchema>;

const callOptions = { timeoutMs: 20_000 };
const zeros = (size: number) => ({ body: new Uint8Array(size) });
const largeRequest = { responseSize: 314159, payload: zeros(271828) };
const echoInitial = ["x-grpc-test-echo-initial", "test_initial_metadata_value"] as const;
const echoTrailing = ["x-grpc-test-echo-trailing-bin", "q6ur"] as const; // 0xababab, base64
const specialMessage = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";

const sizesOf = (responses: readonly { payload?: { body: Uint8Array } }[]) =>
  responses.map((response) => response.payload?.body.length);

function assertLarge(response: { payload?: { body: Uint8Array } }): void {
  assert.equal(response.payload?.body.length, 314159);
  assert.ok(
    response.payload.body.every((byte) => byte === 0),
    "the payload is all zeros",
  );
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of iterable) all.push(item);
  return all;
}

async function assertCode(call: () => Promise<unknown>, code: Code, message?: string): Promise<void> {
  await assert.rejects(call, (e: unknown) => {
    const error = ConnectError.from(e);
    assert.equal(Code[error.code], Code[code], error.message);
    if (message !== undefined) assert.equal(error.rawMessage, message);
    return true;
  });
}

const streamRequest = (sizes: readonly number[], payloadSize?: number): StreamRequest => ({
  responseParameters: sizes.map((size) => ({ size })),
  payload: payloadSize === undefined ? undefined : zeros(payloadSize),
});

async function echoStatus({ plain }: InteropTransports, message: string): Promise<void> {
  const client = createClient(TestService, plain);
  const responseStatus = { code: Code.Unknown, message };
  await assertCode(() => client.unaryCall({ responseStatus }, callOptions), Code.Unknown, message);
  await assertCode(
    () => collect(client.fullDuplexCall(createAsyncIterable([{ responseStatus }]), callOptions)),
    Code.Unknown,
    message,
  );
}

/**
 * gRPC's interop cases (grpc/grpc doc/interop-test-descriptions.md) as a
 * connect-node client runs them. connect-node compresses per transport, not
 * per message, and does not show a message's compressed flag: so
 * client_compressed_streaming (one compressed and one plain message in one
 * call) is not here, and the server_compressed cases check the answers only.
 */
export const nodeInteropCases: Readonly<Record<string, Case>> = {
  async empty_unary({ plain }) {
    const response = await createClient(TestService, plain).emptyCall({}, callOptions);
    assert.equal(toBinary(EmptySchema, response).length, 0);
  },

  async large_unary({ plain }) {
    assertLarge(await createClient(TestService, plain).unaryCall(largeRequest, callOptions));
  },

  async client_compressed_unary({ plain, gzip }) {
    const probe = { ...largeRequest, expectCompressed: { value: true } };
    await assertCode(() => createClient(TestService, plain).unaryCall(probe, callOptions), Code.InvalidArgument);
    assertLarge(await createClient(TestService, gzip).unaryCall(probe, callOptions));
    const uncompressed = { ...largeRequest, expectCompressed: { value: false } };
    assertLarge(await createClient(TestService, plain).unaryCall(uncompressed, callOptions));
  },

  async server_compressed_unary({ plain }) {
    const client = createClient(TestService, plain);
    for (const value of [true, false]) {
      assertLarge(await client.unaryCall({ ...largeRequest, responseCompressed: { value } }, callOptions));
    }
  },

  async client_streaming({ plain }) {
    const requests = [27182, 8, 1828, 45904].map((size) => ({ payload: zeros(size) }));
    const response = await createClient(TestService, plain).streamingInputCall(
      createAsyncIterable(requests),
      callOptions,
    );
    assert.equal(response.aggregatedPayloadSize, 74922);
  },

  async server_streaming({ plain }) {
    const sizes = [31415, 9, 2653, 58979];
    const responses = await collect(
      createClient(TestService, plain).streamingOutputCall(streamRequest(sizes), callOptions),
    );
    assert.deepEqual(sizesOf(responses), sizes);
  },

  async server_compressed_streaming({ plain }) {
    const request = {
      responseParameters: [
        { size: 31415, compressed: { value: true } },
        { size: 92653, compressed: { value: false } },
      ],
    };
    const responses = await collect(createClient(TestService, plain).streamingOutputCall(request, callOptions));
    assert.deepEqual(sizesOf(responses), [31415, 92653]);
  },

  async ping_pong({ plain }) {
    const requests = createWritableIterable<StreamRequest>();
    const responses = createClient(TestService, plain).fullDuplexCall(requests, callOptions)[Symbol.asyncIterator]();
    for (const [size, payloadSize] of [
      [31415, 27182],
      [9, 8],
      [2653, 1828],
      [58979, 45904],
    ] as const) {
      await requests.write(streamRequest([size], payloadSize));
      const next = await responses.next();
      assert.equal(next.done, false);
      assert.equal(next.value.payload?.body.length, size);
    }
    requests.close();
    assert.equal((await responses.next()).done, true);
  },

  async empty_stream({ plain }) {
    assert.deepEqual(
      await collect(createClient(TestService, plain).fullDuplexCall(createAsyncIterable([]), callOptions)),
      [],
    );
  },

  async timeout_on_sleeping_server({ plain }) {
    const requests = createWritableIterable<StreamRequest>();
    const call = collect(createClient(TestService, plain).fullDuplexCall(requests, { timeoutMs: 1 }));
    requests.write(streamRequest([], 27182)).catch(() => {});
    await assertCode(() => call, Code.DeadlineExceeded);
  },

  async cancel_after_begin({ plain }) {
    const abort = new AbortController();
    const requests = createWritableIterable<{ payload?: { body: Uint8Array } }>();
    const call = createClient(TestService, plain).streamingInputCall(requests, {
      ...callOptions,
      signal: abort.signal,
    });
    abort.abort();
    await assertCode(() => call, Code.Canceled);
  },

  async cancel_after_first_response({ plain }) {
    const abort = new AbortController();
    const requests = createWritableIterable<StreamRequest>();
    const responses = createClient(TestService, plain)
      .fullDuplexCall(requests, { ...callOptions, signal: abort.signal })
      [Symbol.asyncIterator]();
    await requests.write(streamRequest([31415], 27182));
    assert.equal((await responses.next()).value?.payload?.body.length, 31415);
    abort.abort();
    await assertCode(() => responses.next(), Code.Canceled);
  },

  async custom_metadata({ plain }) {
    const client = createClient(TestService, plain);
    const sent = new Headers([[...echoInitial], [...echoTrailing]]);
    const assertEchoed = (header: Headers | undefined, trailer: Headers | undefined) => {
      assert.equal(header?.get(echoInitial[0]), echoInitial[1]);
      assert.equal(trailer?.get(echoTrailing[0]), echoTrailing[1]);
    };
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const options = {
      ...callOptions,
      headers: sent,
      onHeader: (h: Headers) => {
        header = h;
      },
      onTrailer: (t: Headers) => {
        trailer = t;
      },
    };
    assertLarge(await client.unaryCall(largeRequest, options));
    assertEchoed(header, trailer);
    header = trailer = undefined;
    const responses = await collect(
      client.fullDuplexCall(createAsyncIterable([streamRequest([314159], 271828)]), options),
    );
    assert.deepEqual(sizesOf(responses), [314159]);
    assertEchoed(header, trailer);
  },

  status_code_and_message: (transports) => echoStatus(transports, "test status message"),

  special_status_message: (transports) => echoStatus(transports, specialMessage),

  async unimplemented_method({ plain }) {
    await assertCode(() => createClient(TestService, plain).unimplementedCall({}, callOptions), Code.Unimplemented);
  },

  async unimplemented_service({ plain }) {
    const client: Client<typeof UnimplementedService> = createClient(UnimplementedService, plain);
    await assertCode(() => client.unimplementedCall({}, callOptions), Code.Unimplemented);
  },
};
