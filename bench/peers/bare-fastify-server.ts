import { create, fromJson, toJson } from "@bufbuild/protobuf";
import { fastify } from "fastify";
import { RequestOneSchema, ResponseOneSchema } from "../../gen/simpletest/simple_test_pb.js";

/**
 * The HTTP/1.1 ceiling for Connect JSON: a plain Fastify JSON route at the
 * same path doing the same message work (protobuf-es's JSON mapping), with
 * Fastify's defaults and no logger.
 */
const app = fastify();
app.post("/simpletest.SimpleTest/GetOne", async (request) => {
  const message = fromJson(RequestOneSchema, request.body as never);
  return toJson(ResponseOneSchema, create(ResponseOneSchema, { result: `Hello !! ${message.hello}` }));
});
await app.listen({ host: "127.0.0.1", port: Number(process.env.PORT) });
process.stdout.write("ready\n");
process.on("SIGTERM", () => app.close().then(() => process.exit(0)));
