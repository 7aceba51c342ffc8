import assert from "node:assert/strict";
import { once } from "node:events";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import { createServiceImplSpec, type ServiceImpl } from "@connectrpc/connect";
import {
  SimpleRequestSchema,
  StreamingInputCallRequestSchema,
  StreamingOutputCallRequestSchema,
} from "../gen/grpc/testing/messages_pb.js";
import { TestService } from "../gen/grpc/testing/test_pb.js";
import { envelope, readAnswer } from "./support/raw-http.js";
import { type InProcessServer, startServer } from "./support/server.js";

const grpc = { "content-type": "application/grpc", te: "trailers" };
const unaryCall = "/grpc.testing.TestService/UnaryCall";
const streamingInputCall = "/grpc.testing.TestService/StreamingInputCall";
const fullDuplexCall = "/grpc.testing.TestService/FullDuplexCall";

/** What a handler saw of a request's `bytes` field: the class of its value, and the bytes. */
interface Seen {
  readonly kind: string;
  readonly text: string;
}

/** A request of `schema` whose payload's body is `text`, in its envelope. */
const request =
  (
    schema:
      | typeof SimpleRequestSchema
      | typeof StreamingInputCallRequestSchema
      | typeof StreamingOutputCallRequestSchema,
  ) =>
  (text: string) =>
    envelope(toBinary(schema, create(schema, { payload: { body: Buffer.from(text) } })));
const unaryRequest = request(SimpleRequestSchema);
const clientRequest = request(StreamingInputCallRequestSchema);
const bidiRequest = request(StreamingOutputCallRequestSchema);

/**
 * A call whose request body goes out in the parts given, each after a short
 * pause (once connected: else they could leave together); its grpc-status.
 */
async function call(url: string, path: string, parts: readonly Uint8Array[]): Promise<string | undefined> {
  const session = http2.connect(url);
  try {
    const failed = new Promise<never>((_, reject) => session.once("error", reject));
    await Promise.race([once(session, "connect"), failed]);
    const stream = session.request({ ":method": "POST", ":path": path, ...grpc });
    const answer = readAnswer(stream);
    for (const part of parts.slice(0, -1)) {
      stream.write(part);
      await sleep(50);
    }
    stream.end(parts.at(-1));
    const { headers, trailers } = await Promise.race([answer, failed]);
    // A call that answers no message ends with its status in its headers (Trailers-Only).
    return (trailers["grpc-status"] ?? headers["grpc-status"]) as string | undefined;
  } finally {
    session.close();
  }
}

describe("a request's bytes fields reach a handler on the fast lane as connect-es gives them", () => {
  const seen = new Map<string, Seen[]>();
  let on: InProcessServer;
  let off: InProcessServer;
  before(async () => {
    const note = (server: string, body: Uint8Array | undefined) => {
      const value = body ?? new Uint8Array(0);
      const list = seen.get(server) ?? [];
      list.push({ kind: Object.getPrototypeOf(value).constructor.name, text: Buffer.from(value).toString() });
      seen.set(server, list);
    };
    // Each server notes what its handlers see, under its own name.
    const services = (server: string) => {
      const impl: Partial<ServiceImpl<typeof TestService>> = {
        unaryCall(request) {
          note(server, request.payload?.body);
          return {};
        },
        async streamingInputCall(requests) {
          for await (const request of requests) note(server, request.payload?.body);
          return {};
        },
        async *fullDuplexCall(requests) {
          for await (const request of requests) {
            note(server, request.payload?.body);
            yield {};
          }
        },
      };
      return [createServiceImplSpec(TestService, impl)];
    };
    [on, off] = await Promise.all([
      startServer({ FAST_PATH: "on" }, { services: services("on") }),
      startServer({ FAST_PATH: "off" }, { services: services("off") }),
    ]);
  });
  after(() => Promise.all([on?.close(), off?.close()]));

  const large = "L".repeat(40_000);
  for (const [what, path, parts] of [
    ["unary", unaryCall, [unaryRequest("one")]],
    ["a short client stream in one part", streamingInputCall, [Buffer.concat(["a", "b", "c"].map(clientRequest))]],
    [
      "a short client stream in two parts",
      streamingInputCall,
      [Buffer.concat([clientRequest("d"), clientRequest("e").subarray(0, 3)]), clientRequest("e").subarray(3)],
    ],
    ["a short bidi stream", fullDuplexCall, [Buffer.concat(["f", "g"].map(bidiRequest))]],
    // Longer than the lane reads whole: its messages are parsed as they come.
    ["a long client stream", streamingInputCall, [Buffer.concat([clientRequest(large), clientRequest(large)])]],
  ] as const) {
    it(`${what}: a plain Uint8Array with the same bytes, as through connect-es`, async () => {
      seen.clear();
      const answeredBefore = on.app.fastLane?.answered() ?? 0;
      assert.deepEqual(await Promise.all([call(on.url, path, parts), call(off.url, path, parts)]), ["0", "0"]);
      assert.equal((on.app.fastLane?.answered() ?? 0) - answeredBefore, 1, "the lane answered it");
      const lane = seen.get("on");
      assert.deepEqual(lane, seen.get("off"));
      assert.ok(lane !== undefined && lane.length > 0);
      for (const { kind } of lane) assert.equal(kind, "Uint8Array", "a plain Uint8Array, not a Node Buffer");
    });
  }
});
