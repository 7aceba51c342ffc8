import { create, type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  RequestListSchema,
  RequestOneSchema,
  ResponseListSchema,
  ResponseOneSchema,
} from "../../gen/simpletest/simple_test_pb.js";

/**
 * The peer a team would otherwise deploy: @grpc/grpc-js serving the same
 * contract, with protobuf-es as its serializer (no proto-loader), so that the
 * message work is the same as ours.
 */
const serialize =
  <Desc extends DescMessage>(schema: Desc) =>
  (message: MessageShape<Desc>) =>
    Buffer.from(toBinary(schema, message));
const deserialize =
  <Desc extends DescMessage>(schema: Desc) =>
  (bytes: Buffer) =>
    fromBinary(schema, bytes);

const method = (
  path: string,
  requestStream: boolean,
  responseStream: boolean,
  request: DescMessage,
  response: DescMessage,
) => ({
  path: `/simpletest.SimpleTest/${path}`,
  requestStream,
  responseStream,
  requestSerialize: serialize(request),
  requestDeserialize: deserialize(request),
  responseSerialize: serialize(response),
  responseDeserialize: deserialize(response),
});

const definition = {
  GetOne: method("GetOne", false, false, RequestOneSchema, ResponseOneSchema),
  GetList: method("GetList", false, true, RequestOneSchema, ResponseListSchema),
  PostList: method("PostList", true, false, RequestListSchema, ResponseOneSchema),
  PostAndPost: method("PostAndPost", true, true, RequestListSchema, ResponseListSchema),
} satisfies grpc.ServiceDefinition;

const implementation: grpc.UntypedServiceImplementation = {
  GetOne(call: grpc.ServerUnaryCall<{ hello: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
    callback(null, create(ResponseOneSchema, { result: `Hello !! ${call.request.hello}` }));
  },
  GetList(call: grpc.ServerWritableStream<unknown, unknown>) {
    for (let i = 0; i < 5; i++) call.write(create(ResponseListSchema, { resultlist: `test${i}` }));
    call.end();
  },
  PostList(call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
    call.on("data", () => {});
    call.on("end", () => callback(null, create(ResponseOneSchema, { result: "PostList OK" })));
  },
  PostAndPost(call: grpc.ServerDuplexStream<{ namelist: string }, unknown>) {
    call.on("data", (request: { namelist: string }) =>
      call.write(create(ResponseListSchema, { resultlist: `Hello !! ${request.namelist}` })),
    );
    call.on("end", () => call.end());
  },
};

const server = new grpc.Server();
server.addService(definition, implementation);
server.bindAsync(`127.0.0.1:${process.env.PORT}`, grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  process.stdout.write(`ready ${port}\n`);
});
process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
