import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/**
 * The peer a team would otherwise deploy, as grpc-js's own examples set it
 * up: @grpc/proto-loader reads the .proto at start, and protobuf.js encodes
 * and decodes the messages.
 */
const protoFile = fileURLToPath(new URL("../../../proto/simpletest/simple_test.proto", import.meta.url));
const definition = protoLoader.loadSync(protoFile, {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});
const { simpletest } = grpc.loadPackageDefinition(definition) as unknown as {
  simpletest: { SimpleTest: grpc.ServiceClientConstructor };
};

interface RequestOne {
  hello: string;
}
interface RequestList {
  namelist: string;
}

const implementation: grpc.UntypedServiceImplementation = {
  GetOne(call: grpc.ServerUnaryCall<RequestOne, unknown>, callback: grpc.sendUnaryData<unknown>) {
    callback(null, { result: `Hello !! ${call.request.hello}` });
  },
  GetList(call: grpc.ServerWritableStream<RequestOne, unknown>) {
    for (let i = 0; i < 5; i++) call.write({ resultlist: `test${i}` });
    call.end();
  },
  PostList(call: grpc.ServerReadableStream<RequestList, unknown>, callback: grpc.sendUnaryData<unknown>) {
    call.on("data", () => {});
    call.on("end", () => callback(null, { result: "PostList OK" }));
  },
  PostAndPost(call: grpc.ServerDuplexStream<RequestList, unknown>) {
    call.on("data", (request: RequestList) => call.write({ resultlist: `Hello !! ${request.namelist}` }));
    call.on("end", () => call.end());
  },
};

const server = new grpc.Server();
server.addService(simpletest.SimpleTest.service, implementation);
server.bindAsync(`127.0.0.1:${process.env.PORT}`, grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  process.stdout.write(`ready ${port}\n`);
});
process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
