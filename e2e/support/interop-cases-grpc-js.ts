import assert from "node:assert/strict";
import { once } from "node:events";
import {
  create,
  type DescMessage,
  type DescMethod,
  fromBinary,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { TestService, UnimplementedService } from "../../gen/grpc/testing/test_pb.js";

/** Channels to the server: one that sends messages as they are, one that gzips them. */
export interface GrpcJsClients {
  readonly plain: grpc.Client;
  readonly gzip: grpc.Client;
}

export function createGrpcJsClients(
  address: string,
  credentials: grpc.ChannelCredentials,
  channelOptions: grpc.ChannelOptions,
): GrpcJsClients {
  const options = { ...channelOptions, "grpc.use_local_subchannel_pool": 1 };
  return {
    plain: new grpc.Client(address, credentials, options),
    // grpc.CompressionAlgorithms.gzip; a message written with WriteFlags.NoCompress still goes as it is.
    gzip: new grpc.Client(address, credentials, { ...options, "grpc.default_compression_algorithm": 2 }),
  };
}

type Case = (clients: GrpcJsClients) => Promise<void>;

// grpc-js with protobuf-es as its codec, called by path: the generic client
// that grpc-js's generated stubs wrap.
const NO_COMPRESS = 2; // grpc-js WriteFlags.NoCompress
const serialize =
  <M extends DescMessage>(schema: M) =>
  (message: MessageInitShape<M>) =>
    Buffer.from(toBinary(schema, create(schema, message)));
const deserialize =
  <M extends DescMessage>(schema: M) =>
  (bytes: Buffer) =>
    fromBinary(schema, bytes);
const pathOf = (method: DescMethod) => `/${method.parent.typeName}/${method.name}`;
const deadlineIn = (ms: number) => new Date(Date.now() + ms);
const options = () => ({ deadline: deadlineIn(20_000) });

const methods = TestService.method;
const zeros = (size: number) => ({ body: new Uint8Array(size) });
const largeRequest = { responseSize: 314159, payload: zeros(271828) };
const specialMessage = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";

function unary<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: DescMethod & { input: I; output: O },
  request: MessageInitShape<I>,
  metadata = new grpc.Metadata(),
) {
  type Response = ReturnType<ReturnType<typeof deserialize<O>>>;
  return new Promise<{ response: Response; header?: grpc.Metadata; trailer: grpc.Metadata }>((resolve, reject) => {
    let header: grpc.Metadata | undefined;
    let outcome: { error: grpc.ServiceError | null; response?: Response } | undefined;
    const call = client.makeUnaryRequest(
      pathOf(method),
      serialize(method.input),
      deserialize(method.output),
      request,
      metadata,
      options(),
      (error, response) => {
        outcome = { error, response };
      },
    );
    call.on("metadata", (m) => {
      header = m;
    });
    // grpc-js calls back first, then tells the status with its trailers.
    call.on("status", (status) => {
      if (outcome?.response === undefined) reject(outcome?.error);
      else resolve({ response: outcome.response, header, trailer: status.metadata });
    });
  });
}

function bidi(client: grpc.Client, metadata = new grpc.Metadata(), callOptions: grpc.CallOptions = options()) {
  const method = methods.fullDuplexCall;
  return client.makeBidiStreamRequest(
    pathOf(method),
    serialize(method.input),
    deserialize(method.output),
    metadata,
    callOptions,
  );
}

function clientStream(client: grpc.Client, callOptions: grpc.CallOptions = options()) {
  const method = methods.streamingInputCall;
  let call: grpc.ClientWritableStream<MessageInitShape<typeof method.input>> | undefined;
  const result = new Promise<{ aggregatedPayloadSize: number }>((resolve, reject) => {
    call = client.makeClientStreamRequest(
      pathOf(method),
      serialize(method.input),
      deserialize(method.output),
      callOptions,
      (error, response) => (error || response === undefined ? reject(error) : resolve(response)),
    );
  });
  if (call === undefined) throw new Error("grpc-js made no call");
  return { call, result };
}

async function collect<T>(stream: AsyncIterable<unknown>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of stream) all.push(item as T);
  return all;
}

async function assertStatus(call: Promise<unknown>, code: grpc.status, details?: string): Promise<void> {
  await assert.rejects(call, (e: grpc.ServiceError) => {
    assert.equal(grpc.status[e.code], grpc.status[code], e.details);
    if (details !== undefined) assert.equal(e.details, details);
    return true;
  });
}

function assertLarge(response: { payload?: { body: Uint8Array } }): void {
  assert.equal(response.payload?.body.length, 314159);
}

const sizesOf = (responses: { payload?: { body: Uint8Array } }[]) =>
  responses.map((response) => response.payload?.body.length);

async function echoStatus({ plain }: GrpcJsClients, message: string): Promise<void> {
  const responseStatus = { code: grpc.status.UNKNOWN, message };
  await assertStatus(unary(plain, methods.unaryCall, { responseStatus }), grpc.status.UNKNOWN, message);
  const call = bidi(plain);
  call.end({ responseStatus });
  await assertStatus(collect(call), grpc.status.UNKNOWN, message);
}

/**
 * gRPC's interop cases (grpc/grpc doc/interop-test-descriptions.md) as
 * @grpc/grpc-js runs them, the client most Node services deploy. It can
 * leave one message of a compressed call uncompressed (WriteFlags.NoCompress),
 * so it runs client_compressed_streaming as described; it does not show a
 * response's compressed flag, so the server_compressed cases check the answers.
 */
export const grpcJsInteropCases: Readonly<Record<string, Case>> = {
  async empty_unary({ plain }) {
    const { response } = await unary(plain, methods.emptyCall, {});
    assert.equal(toBinary(methods.emptyCall.output, response).length, 0);
  },

  async large_unary({ plain }) {
    assertLarge((await unary(plain, methods.unaryCall, largeRequest)).response);
  },

  async client_compressed_unary({ plain, gzip }) {
    const probe = { ...largeRequest, expectCompressed: { value: true } };
    await assertStatus(unary(plain, methods.unaryCall, probe), grpc.status.INVALID_ARGUMENT);
    assertLarge((await unary(gzip, methods.unaryCall, probe)).response);
    const uncompressed = { ...largeRequest, expectCompressed: { value: false } };
    assertLarge((await unary(plain, methods.unaryCall, uncompressed)).response);
  },

  async server_compressed_unary({ plain }) {
    for (const value of [true, false]) {
      assertLarge((await unary(plain, methods.unaryCall, { ...largeRequest, responseCompressed: { value } })).response);
    }
  },

  async client_streaming({ plain }) {
    const { call, result } = clientStream(plain);
    for (const size of [27182, 8, 1828, 45904]) call.write({ payload: zeros(size) });
    call.end();
    assert.equal((await result).aggregatedPayloadSize, 74922);
  },

  async client_compressed_streaming({ plain, gzip }) {
    const probe = clientStream(plain);
    probe.call.end({ expectCompressed: { value: true }, payload: zeros(27182) });
    await assertStatus(probe.result, grpc.status.INVALID_ARGUMENT);
    const { call, result } = clientStream(gzip);
    call.write({ expectCompressed: { value: true }, payload: zeros(27182) });
    call.write({ expectCompressed: { value: false }, payload: zeros(45904) }, NO_COMPRESS as unknown as BufferEncoding);
    call.end();
    assert.equal((await result).aggregatedPayloadSize, 73086);
  },

  async server_streaming({ plain }) {
    const sizes = [31415, 9, 2653, 58979];
    const method = methods.streamingOutputCall;
    const request = { responseParameters: sizes.map((size) => ({ size })) };
    const stream = plain.makeServerStreamRequest(
      pathOf(method),
      serialize(method.input),
      deserialize(method.output),
      request,
      options(),
    );
    assert.deepEqual(sizesOf(await collect(stream)), sizes);
  },

  async server_compressed_streaming({ plain }) {
    const method = methods.streamingOutputCall;
    const request = {
      responseParameters: [
        { size: 31415, compressed: { value: true } },
        { size: 92653, compressed: { value: false } },
      ],
    };
    const stream = plain.makeServerStreamRequest(
      pathOf(method),
      serialize(method.input),
      deserialize(method.output),
      request,
      options(),
    );
    assert.deepEqual(sizesOf(await collect(stream)), [31415, 92653]);
  },

  async ping_pong({ plain }) {
    const call = bidi(plain);
    for (const [size, payloadSize] of [
      [31415, 27182],
      [9, 8],
      [2653, 1828],
      [58979, 45904],
    ]) {
      call.write({ responseParameters: [{ size }], payload: zeros(payloadSize) });
      const [response] = await once(call, "data");
      assert.equal(response.payload?.body.length, size);
    }
    call.end();
    assert.deepEqual(await collect(call), []);
  },

  async empty_stream({ plain }) {
    const call = bidi(plain);
    call.end();
    assert.deepEqual(await collect(call), []);
  },

  async timeout_on_sleeping_server({ plain }) {
    const call = bidi(plain, new grpc.Metadata(), { deadline: deadlineIn(1) });
    call.write({ payload: zeros(27182) });
    await assertStatus(collect(call), grpc.status.DEADLINE_EXCEEDED);
  },

  async cancel_after_begin({ plain }) {
    const { call, result } = clientStream(plain);
    call.cancel();
    await assertStatus(result, grpc.status.CANCELLED);
  },

  async cancel_after_first_response({ plain }) {
    const call = bidi(plain);
    call.write({ responseParameters: [{ size: 31415 }], payload: zeros(27182) });
    const [response] = await once(call, "data");
    assert.equal(response.payload?.body.length, 31415);
    const error = once(call, "error");
    call.cancel();
    const [cancelled]: grpc.ServiceError[] = await error;
    assert.equal(grpc.status[cancelled.code], "CANCELLED");
  },

  async custom_metadata({ plain }) {
    const metadata = () => {
      const m = new grpc.Metadata();
      m.set("x-grpc-test-echo-initial", "test_initial_metadata_value");
      m.set("x-grpc-test-echo-trailing-bin", Buffer.from([0xab, 0xab, 0xab]));
      return m;
    };
    const assertEchoed = (header?: grpc.Metadata, trailer?: grpc.Metadata) => {
      assert.deepEqual(header?.get("x-grpc-test-echo-initial"), ["test_initial_metadata_value"]);
      assert.deepEqual(trailer?.get("x-grpc-test-echo-trailing-bin"), [Buffer.from([0xab, 0xab, 0xab])]);
    };
    const { response, header, trailer } = await unary(plain, methods.unaryCall, largeRequest, metadata());
    assertLarge(response);
    assertEchoed(header, trailer);

    const call = bidi(plain, metadata());
    const streamHeader = once(call, "metadata");
    const streamStatus = once(call, "status");
    call.end({ responseParameters: [{ size: 314159 }], payload: zeros(271828) });
    assert.deepEqual(sizesOf(await collect(call)), [314159]);
    assertEchoed((await streamHeader)[0], (await streamStatus)[0].metadata);
  },

  status_code_and_message: (clients) => echoStatus(clients, "test status message"),

  special_status_message: (clients) => echoStatus(clients, specialMessage),

  async unimplemented_method({ plain }) {
    await assertStatus(unary(plain, methods.unimplementedCall, {}), grpc.status.UNIMPLEMENTED);
  },

  async unimplemented_service({ plain }) {
    await assertStatus(unary(plain, UnimplementedService.method.unimplementedCall, {}), grpc.status.UNIMPLEMENTED);
  },
};
