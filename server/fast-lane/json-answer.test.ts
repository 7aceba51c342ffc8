import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, type DescMessage } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { createMethodSerializationLookup, validateUniversalHandlerOptions } from "@connectrpc/connect/protocol";
import fc from "fast-check";
import { ResponseOneSchema, SimpleTest } from "../../gen/simpletest/simple_test_pb.js";
import { jsonAnswer } from "./json-answer.js";

/** jsonAnswer for messages of `desc`, beside connect-es's JSON serialization of the same options. */
function both(desc: DescMessage, options: Parameters<typeof validateUniversalHandlerOptions>[0] = {}) {
  const opt = validateUniversalHandlerOptions(options);
  const method = { ...SimpleTest.method.getOne, output: desc } as typeof SimpleTest.method.getOne;
  const serialize = createMethodSerializationLookup(method, opt.binaryOptions, opt.jsonOptions, opt).getO(false)
    .serialize as (message: unknown) => Uint8Array;
  return { lane: jsonAnswer(desc, serialize, opt), connect: serialize };
}

/** What connect-es's serialization throws for `message`. */
function thrown(serialize: (message: unknown) => Uint8Array, message: unknown): ConnectError {
  try {
    serialize(message);
  } catch (e) {
    assert.ok(e instanceof ConnectError);
    return e;
  }
  assert.fail("connect-es serialized it");
}

/** Any UTF-16 code unit, lone surrogates, quotes, backslashes and control characters among them. */
const anyText = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)) });

describe("jsonAnswer", () => {
  it("gives text whose UTF-8 is connect-es's bytes, for any string", () => {
    const { lane, connect } = both(ResponseOneSchema);
    fc.assert(
      fc.property(fc.oneof(anyText, fc.string({ unit: "binary" })), (text) => {
        const message = create(ResponseOneSchema, { result: text });
        const answer = lane(message);
        assert.equal(typeof answer, "string");
        assert.deepEqual(Buffer.from(answer as string), Buffer.from(connect(message)));
      }),
      { seed: 20_261_203, numRuns: 2000 },
    );
  });

  it("answers up to writeMaxBytes, and past it throws connect-es's resource_exhausted", () => {
    // {"result":"…"} is 13 bytes around the text; é is 2 bytes of UTF-8.
    const { lane, connect } = both(ResponseOneSchema, { writeMaxBytes: 21 });
    const fits = create(ResponseOneSchema, { result: "éééé" });
    assert.equal(lane(fits), '{"result":"éééé"}');
    const over = create(ResponseOneSchema, { result: "éééé!" });
    const expected = thrown(connect, over);
    assert.throws(() => lane(over), expected);
    assert.equal(expected.rawMessage, "message size 22 is larger than configured writeMaxBytes 21");
  });

  it("throws connect-es's error for a message toJsonString cannot write", () => {
    // An Any of a type not in the options' registry (they have none).
    const { lane, connect } = both(AnySchema);
    const unknownType = create(AnySchema, { typeUrl: "type.googleapis.com/no.Such", value: Uint8Array.of(1) });
    const expected = thrown(connect, unknownType);
    assert.throws(() => lane(unknownType), expected);
  });

  it("gives the options' own TextEncoder's bytes when they bring one", () => {
    const textEncoder = { encode: (text: string) => Buffer.from(`${text}\n`) };
    const { lane } = both(ResponseOneSchema, { jsonOptions: { textEncoder } as never });
    assert.deepEqual(lane(create(ResponseOneSchema, { result: "x" })), Buffer.from('{"result":"x"}\n'));
  });
});
