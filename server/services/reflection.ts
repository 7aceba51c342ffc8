import {
  type DescEnum,
  type DescExtension,
  type DescFile,
  type DescMessage,
  type DescService,
  toBinary,
} from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import type { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import type { ServerReflection as ServerReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** One implementation for both versions: their messages differ in nothing but their package. */
export type ReflectionService = ServiceImpl<typeof ServerReflection> & ServiceImpl<typeof ServerReflectionV1alpha>;

interface ReflectionRequest {
  readonly host: string;
  readonly messageRequest:
    | { case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices"; value: string }
    | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
    | { case: undefined; value?: undefined };
}

type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: Code; errorMessage: string } };

/**
 * gRPC server reflection describing `services` with every file they need,
 * taken from the generated code's descriptors.
 */
export function createReflectionService(services: readonly DescService[]): ReflectionService {
  const answer = createAnswerer(services);
  return {
    async *serverReflectionInfo<Request extends ReflectionRequest>(requests: AsyncIterable<Request>) {
      for await (const request of requests) {
        yield { validHost: request.host, originalRequest: request, messageResponse: answer(request.messageRequest) };
      }
    },
  };
}

function createAnswerer(services: readonly DescService[]) {
  const serviceNames = [...new Set(services.map((service) => service.typeName))];
  const allFiles = new Set<DescFile>();
  for (const service of services) withImports(service.file, allFiles);
  const files = new Map([...allFiles].map((file) => [file.proto.name, file]));
  const symbols = new Map<string, DescFile>();
  const messageNames = new Set<string>();
  const extensions: DescExtension[] = [];
  for (const file of allFiles) {
    for (const type of nestedTypes(file)) {
      for (const name of [type.typeName, ...memberNames(type)]) symbols.set(name, file);
      if (type.kind === "message") messageNames.add(type.typeName);
      if (type.kind === "extension") extensions.push(type);
    }
  }

  // A client needs every file the answer imports, directly or not, to make sense of it.
  const withDependencies = (file: DescFile): ReflectionAnswer => ({
    case: "fileDescriptorResponse",
    value: { fileDescriptorProto: [...withImports(file)].map((f) => toBinary(FileDescriptorProtoSchema, f.proto)) },
  });
  const notFound = (errorMessage: string): ReflectionAnswer => ({
    case: "errorResponse",
    value: { errorCode: Code.NotFound, errorMessage },
  });

  return (request: ReflectionRequest["messageRequest"]): ReflectionAnswer => {
    switch (request.case) {
      case "listServices":
        return { case: "listServicesResponse", value: { service: serviceNames.map((name) => ({ name })) } };
      case "fileByFilename": {
        const file = files.get(request.value);
        return file ? withDependencies(file) : notFound(`file "${request.value}" not found`);
      }
      case "fileContainingSymbol": {
        const file = symbols.get(request.value);
        return file ? withDependencies(file) : notFound(`symbol "${request.value}" not found`);
      }
      case "fileContainingExtension": {
        const { containingType, extensionNumber } = request.value;
        const extension = extensions.find(
          (e) => e.extendee.typeName === containingType && e.number === extensionNumber,
        );
        return extension
          ? withDependencies(extension.file)
          : notFound(`extension ${extensionNumber} of "${containingType}" not found`);
      }
      case "allExtensionNumbersOfType": {
        const baseTypeName = request.value;
        if (!messageNames.has(baseTypeName)) {
          return notFound(`message type "${baseTypeName}" not found`);
        }
        const extensionNumber = extensions.filter((e) => e.extendee.typeName === baseTypeName).map((e) => e.number);
        return { case: "allExtensionNumbersResponse", value: { baseTypeName, extensionNumber } };
      }
      case undefined:
        return {
          case: "errorResponse",
          value: { errorCode: Code.InvalidArgument, errorMessage: "the request names no reflection method" },
        };
    }
  };
}

/** The file, then every file it imports, directly or not, each once. */
function withImports(file: DescFile, found = new Set<DescFile>()): Set<DescFile> {
  if (!found.has(file)) {
    found.add(file);
    for (const dependency of file.dependencies) withImports(dependency, found);
  }
  return found;
}

/** Fields, oneofs, enum values and methods are symbols too (e.g. `simpletest.SimpleTest.GetOne`). */
function memberNames(type: DescMessage | DescEnum | DescExtension | DescService): string[] {
  switch (type.kind) {
    case "message":
      return [...type.fields, ...type.oneofs].map((member) => `${type.typeName}.${member.name}`);
    case "enum":
      return type.values.map((value) => `${enumScope(type)}${value.name}`);
    case "service":
      return type.methods.map((method) => `${type.typeName}.${method.name}`);
    case "extension":
      return [];
  }
}

/** Enum values are siblings of their enum, not its children: `grpc.health.v1.HealthCheckResponse.SERVING`. */
function enumScope(type: DescEnum): string {
  return type.typeName.slice(0, type.typeName.lastIndexOf(".") + 1);
}
