import http2 from "node:http2";
import { fromBinary, fromJson, toBinary, toJsonString } from "@bufbuild/protobuf";
import {
  RequestListSchema,
  RequestOneSchema,
  ResponseListSchema,
  ResponseOneSchema,
} from "../../gen/simpletest/simple_test_pb.js";

/**
 * The ceiling: node:http2's core API with the frames written by hand, doing
 * the same message work (protobuf-es decode and encode) and nothing else: no
 * deadlines, limits, interceptors, logs or metrics.
 */
const okTrailers = { "grpc-status": "0" };

function envelope(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(5 + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

function readAll(stream: http2.ServerHttp2Stream, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  stream.on("end", () => done(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
}

function grpcUnary(stream: http2.ServerHttp2Stream, body: Buffer): void {
  const request = fromBinary(RequestOneSchema, body.subarray(5));
  stream.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
  stream.once("wantTrailers", () => stream.sendTrailers(okTrailers));
  stream.end(
    envelope(toBinary(ResponseOneSchema, { $typeName: "simpletest.ResponseOne", result: `Hello !! ${request.hello}` })),
  );
}

/** gRPC-Web: the trailers go in the body, in an envelope flagged 0x80. */
function grpcWebUnary(stream: http2.ServerHttp2Stream, body: Buffer): void {
  const request = fromBinary(RequestOneSchema, body.subarray(5));
  const trailer = envelope(Buffer.from("grpc-status: 0\r\n"));
  trailer[0] = 0x80;
  stream.respond({ ":status": 200, "content-type": "application/grpc-web+proto" });
  stream.end(
    Buffer.concat([
      envelope(
        toBinary(ResponseOneSchema, { $typeName: "simpletest.ResponseOne", result: `Hello !! ${request.hello}` }),
      ),
      trailer,
    ]),
  );
}

function grpcList(stream: http2.ServerHttp2Stream, body: Buffer): void {
  fromBinary(RequestOneSchema, body.subarray(5));
  stream.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
  stream.once("wantTrailers", () => stream.sendTrailers(okTrailers));
  for (let i = 0; i < 5; i++) {
    stream.write(
      envelope(toBinary(ResponseListSchema, { $typeName: "simpletest.ResponseList", resultlist: `test${i}` })),
    );
  }
  stream.end();
}

function grpcBidi(stream: http2.ServerHttp2Stream): void {
  stream.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
  stream.once("wantTrailers", () => stream.sendTrailers(okTrailers));
  let pending: Buffer = Buffer.alloc(0);
  stream.on("data", (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
      const end = 5 + pending.readUInt32BE(1);
      const request = fromBinary(RequestListSchema, pending.subarray(5, end));
      pending = pending.subarray(end);
      stream.write(
        envelope(
          toBinary(ResponseListSchema, {
            $typeName: "simpletest.ResponseList",
            resultlist: `Hello !! ${request.namelist}`,
          }),
        ),
      );
    }
  });
  stream.on("end", () => stream.end());
}

function connectUnary(stream: http2.ServerHttp2Stream, contentType: string, body: Buffer): void {
  if (contentType === "application/json") {
    const request = fromJson(RequestOneSchema, JSON.parse(body.toString()));
    stream.respond({ ":status": 200, "content-type": "application/json" });
    stream.end(
      toJsonString(ResponseOneSchema, { $typeName: "simpletest.ResponseOne", result: `Hello !! ${request.hello}` }),
    );
    return;
  }
  const request = fromBinary(RequestOneSchema, body);
  stream.respond({ ":status": 200, "content-type": "application/proto" });
  stream.end(toBinary(ResponseOneSchema, { $typeName: "simpletest.ResponseOne", result: `Hello !! ${request.hello}` }));
}

const server = http2.createServer();
server.on("stream", (stream, headers) => {
  const path = headers[":path"];
  const contentType = String(headers["content-type"]);
  const grpcWeb = contentType.startsWith("application/grpc-web");
  const grpc = !grpcWeb && contentType.startsWith("application/grpc");
  if (grpc && path === "/simpletest.SimpleTest/PostAndPost") return grpcBidi(stream);
  readAll(stream, (body) => {
    if (grpc && path === "/simpletest.SimpleTest/GetOne") return grpcUnary(stream, body);
    if (grpcWeb && path === "/simpletest.SimpleTest/GetOne") return grpcWebUnary(stream, body);
    if (grpc && path === "/simpletest.SimpleTest/GetList") return grpcList(stream, body);
    if (path === "/simpletest.SimpleTest/GetOne") return connectUnary(stream, contentType, body);
    stream.respond({ ":status": 404 });
    stream.end();
  });
});
server.listen(Number(process.env.PORT), "127.0.0.1", () => process.stdout.write("ready\n"));
process.on("SIGTERM", () => process.exit(0));
