import { create, toBinary } from "@bufbuild/protobuf";
import { RequestListSchema, RequestOneSchema } from "../../gen/simpletest/simple_test_pb.js";

/** A `RequestOne` (GetOne, GetList) as protobuf bytes, serialized by protobuf-es as the clients serialize it. */
export function requestOneBytes(hello: string): Uint8Array {
  return toBinary(RequestOneSchema, create(RequestOneSchema, { hello }));
}

/** A `RequestList` (PostList, PostAndPost) as protobuf bytes, serialized by protobuf-es. */
export function requestListBytes(namelist: string): Uint8Array {
  return toBinary(RequestListSchema, create(RequestListSchema, { namelist }));
}
