import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, createFileRegistry, type DescService, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  file_google_protobuf_timestamp,
} from "@bufbuild/protobuf/wkt";
import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import {
  ServerReflection,
  type ServerReflectionRequestSchema,
  type ServerReflectionResponse,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { SimpleTest } from "../../gen/simpletest/simple_test_pb.js";
import { createReflectionService } from "./reflection.js";

type Ask = NonNullable<MessageInitShape<typeof ServerReflectionRequestSchema>["messageRequest"]>;

/** Sends every question on one stream, as grpcurl and buf curl do, and returns the answers in order. */
async function askAll(services: readonly DescService[], questions: Ask[]): Promise<ServerReflectionResponse[]> {
  const reflection = createReflectionService(services);
  const client = createClient(
    ServerReflection,
    createRouterTransport((router) => router.service(ServerReflection, reflection)),
  );
  const answers: ServerReflectionResponse[] = [];
  for await (const answer of client.serverReflectionInfo(
    createAsyncIterable(questions.map((messageRequest) => ({ messageRequest }))),
  )) {
    answers.push(answer);
  }
  return answers;
}

const ask = async (services: readonly DescService[], question: Ask) => (await askAll(services, [question]))[0];

/** The names of the files in a file_descriptor_response, in order. */
function fileNames(answer: ServerReflectionResponse): string[] {
  assert.equal(answer.messageResponse.case, "fileDescriptorResponse", JSON.stringify(answer.messageResponse));
  return answer.messageResponse.value.fileDescriptorProto.map(
    (bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name,
  );
}

function errorCode(answer: ServerReflectionResponse): Code | undefined {
  return answer.messageResponse.case === "errorResponse" ? answer.messageResponse.value.errorCode : undefined;
}

/** test/clock.proto imports test/stamp.proto, which imports google/protobuf/timestamp.proto. */
function clockService(): DescService {
  const stamp = create(FileDescriptorProtoSchema, {
    name: "test/stamp.proto",
    package: "test",
    syntax: "proto3",
    dependency: ["google/protobuf/timestamp.proto"],
    messageType: [
      {
        name: "Stamp",
        field: [
          {
            name: "at",
            jsonName: "at",
            number: 1,
            label: FieldDescriptorProto_Label.OPTIONAL,
            type: FieldDescriptorProto_Type.MESSAGE,
            typeName: ".google.protobuf.Timestamp",
          },
        ],
      },
    ],
  });
  const clock = create(FileDescriptorProtoSchema, {
    name: "test/clock.proto",
    package: "test",
    syntax: "proto3",
    dependency: ["test/stamp.proto"],
    service: [{ name: "Clock", method: [{ name: "Now", inputType: ".test.Stamp", outputType: ".test.Stamp" }] }],
  });
  const registry = createFileRegistry(
    create(FileDescriptorSetSchema, { file: [file_google_protobuf_timestamp.proto, stamp, clock] }),
  );
  const service = registry.getService("test.Clock");
  assert.ok(service);
  return service;
}

describe("server reflection", () => {
  const served = [SimpleTest, Health, ServerReflection, ServerReflectionV1alpha];

  it("lists each service it was given, once", async () => {
    const answer = await ask([...served, SimpleTest], { case: "listServices", value: "" });
    assert.equal(answer.messageResponse.case, "listServicesResponse");
    assert.deepEqual(answer.messageResponse.value.service.map((s) => s.name).sort(), [
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "simpletest.SimpleTest",
    ]);
  });

  it("finds the file of a service, method, message, field or enum value", async () => {
    const symbols: Record<string, string> = {
      "simpletest.SimpleTest": "simpletest/simple_test.proto",
      "simpletest.SimpleTest.PostAndPost": "simpletest/simple_test.proto",
      "simpletest.RequestOne": "simpletest/simple_test.proto",
      "simpletest.RequestOne.hello": "simpletest/simple_test.proto",
      "grpc.health.v1.HealthCheckResponse.ServingStatus": "grpc/health/v1/health.proto",
      "grpc.health.v1.HealthCheckResponse.SERVING": "grpc/health/v1/health.proto",
      "grpc.reflection.v1alpha.ServerReflectionRequest.message_request": "grpc/reflection/v1alpha/reflection.proto",
    };
    const answers = await askAll(
      served,
      Object.keys(symbols).map((value) => ({ case: "fileContainingSymbol", value })),
    );
    assert.deepEqual(
      answers.map((answer) => fileNames(answer)),
      Object.values(symbols).map((name) => [name]),
    );
  });

  it("finds a file by its name", async () => {
    const answer = await ask(served, { case: "fileByFilename", value: "grpc/health/v1/health.proto" });
    assert.deepEqual(fileNames(answer), ["grpc/health/v1/health.proto"]);
  });

  it("sends a file first, then everything it imports, transitively, enough to load on its own", async () => {
    const answer = await ask([clockService()], { case: "fileContainingSymbol", value: "test.Clock.Now" });
    assert.deepEqual(fileNames(answer), ["test/clock.proto", "test/stamp.proto", "google/protobuf/timestamp.proto"]);
    assert.equal(answer.messageResponse.case, "fileDescriptorResponse");
    const files = answer.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
    const registry = createFileRegistry(files[0], (name) => files.find((file) => file.name === name));
    assert.equal(
      registry.getService("test.Clock")?.methods[0].input.field.at.message?.typeName,
      "google.protobuf.Timestamp",
    );
  });

  it("knows the files its services import, not only theirs", async () => {
    const answer = await ask([clockService()], { case: "fileByFilename", value: "google/protobuf/timestamp.proto" });
    assert.deepEqual(fileNames(answer), ["google/protobuf/timestamp.proto"]);
  });

  it("answers NOT_FOUND for an unknown file or symbol, and keeps the stream open", async () => {
    const answers = await askAll(served, [
      { case: "fileByFilename", value: "nope.proto" },
      { case: "fileContainingSymbol", value: "simpletest.Nope" },
      { case: "fileContainingSymbol", value: "simpletest" },
      { case: "listServices", value: "" },
    ]);
    assert.deepEqual(answers.slice(0, 3).map(errorCode), [Code.NotFound, Code.NotFound, Code.NotFound]);
    assert.equal(answers[3].messageResponse.case, "listServicesResponse");
  });

  it("answers NOT_FOUND for extensions, which none of its files declare", async () => {
    const answers = await askAll(served, [
      { case: "fileContainingExtension", value: { containingType: "simpletest.RequestOne", extensionNumber: 100 } },
      { case: "allExtensionNumbersOfType", value: "simpletest.Nope" },
    ]);
    assert.deepEqual(answers.map(errorCode), [Code.NotFound, Code.NotFound]);
  });

  it("lists no extension numbers for a message that has none", async () => {
    const answer = await ask(served, { case: "allExtensionNumbersOfType", value: "simpletest.RequestOne" });
    assert.equal(answer.messageResponse.case, "allExtensionNumbersResponse");
    assert.deepEqual(answer.messageResponse.value, {
      $typeName: "grpc.reflection.v1.ExtensionNumberResponse",
      baseTypeName: "simpletest.RequestOne",
      extensionNumber: [],
    });
  });

  it("refuses a request that asks nothing with INVALID_ARGUMENT", async () => {
    assert.equal(errorCode(await ask(served, { case: undefined })), Code.InvalidArgument);
  });

  it("echoes the request it answers", async () => {
    const answer = await ask(served, { case: "fileByFilename", value: "nope.proto" });
    assert.deepEqual(answer.originalRequest?.messageRequest, { case: "fileByFilename", value: "nope.proto" });
  });

  it("serves v1alpha with the same answers", async () => {
    const reflection = createReflectionService(served);
    const client = createClient(
      ServerReflectionV1alpha,
      createRouterTransport((router) => router.service(ServerReflectionV1alpha, reflection)),
    );
    const names: string[] = [];
    for await (const answer of client.serverReflectionInfo(
      createAsyncIterable([{ messageRequest: { case: "listServices" as const, value: "" } }]),
    )) {
      if (answer.messageResponse.case === "listServicesResponse") {
        names.push(...answer.messageResponse.value.service.map((s) => s.name));
      }
    }
    assert.ok(names.includes("grpc.reflection.v1alpha.ServerReflection"));
    assert.equal(names.length, 4);
  });
});
