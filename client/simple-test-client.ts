import { SimpleTest } from "../gen/simpletest/simple_test_pb.js";
import { createServiceClient, type ServiceClient, type ServiceClientOptions } from "./service-client.js";

export {
  type Codec,
  codecs,
  type HttpVersion,
  httpVersions,
  type Protocol,
  protocols,
  type SendCompression,
} from "./service-client.js";

export type SimpleTestClientOptions = ServiceClientOptions;
export type SimpleTestClient = ServiceClient<typeof SimpleTest>;

/** A typed SimpleTest client over any of the three protocols. */
export function createSimpleTestClient(options: SimpleTestClientOptions): SimpleTestClient {
  return createServiceClient(SimpleTest, options);
}
