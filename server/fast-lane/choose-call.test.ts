import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, fromBinary, fromJsonString, toBinary } from "@bufbuild/protobuf";
import { createServiceImplSpec } from "@connectrpc/connect";
import { createMethodSerializationLookup, validateUniversalHandlerOptions } from "@connectrpc/connect/protocol";
import { RequestOneSchema, SimpleTest } from "../../gen/simpletest/simple_test_pb.js";
import { strictUtf8JsonOptions } from "../request-checks/strict-utf8-json.js";
import { createSimpleTestService } from "../services/simple-test.js";
import { type Route, routesOf } from "./choose-call.js";

type HandlerOptions = Parameters<typeof validateUniversalHandlerOptions>[0];

/** GetOne's route, with connect-es's options as a handler validates them, and connect-es's serialization with the same. */
function getOne(options: HandlerOptions = {}) {
  const spec = createServiceImplSpec<typeof SimpleTest>(SimpleTest, createSimpleTestService({ getListIntervalMs: 0 }));
  const opt = validateUniversalHandlerOptions(options);
  const route = routesOf([spec], opt).get("/simpletest.SimpleTest/GetOne") as Route;
  const connectEs = createMethodSerializationLookup(SimpleTest.method.getOne, opt.binaryOptions, opt.jsonOptions, opt);
  return { route, connectEs };
}

/** What a parse throws, as the client would see it: its code and message. */
function thrown(parse: () => unknown): unknown {
  try {
    parse();
  } catch (e) {
    return { code: (e as { code?: unknown }).code, message: (e as Error).message };
  }
  assert.fail("did not throw");
}

describe("a route's binary request", () => {
  it("is fromBinary's message", () => {
    const bytes = toBinary(RequestOneSchema, create(RequestOneSchema, { hello: "world" }));
    assert.deepStrictEqual(getOne().route.binaryRequest(bytes), fromBinary(RequestOneSchema, bytes));
  });

  it("refuses a message over the size limit as connect-es's parse does, though the lane could read it", () => {
    const { route, connectEs } = getOne({ readMaxBytes: 5 });
    const bytes = toBinary(RequestOneSchema, create(RequestOneSchema, { hello: "world" }));
    assert.deepStrictEqual(
      thrown(() => route.binaryRequest(bytes)),
      thrown(() => connectEs.getI(true).parse(bytes)),
    );
    assert.match(
      String((thrown(() => route.binaryRequest(bytes)) as { message: string }).message),
      /larger than configured readMaxBytes 5/,
    );
  });

  it("fails on bytes that are not the message as connect-es's parse does", () => {
    const { route, connectEs } = getOne();
    const bytes = new Uint8Array([0x0a, 0x05, 0x61]);
    assert.deepStrictEqual(
      thrown(() => route.binaryRequest(bytes)),
      thrown(() => connectEs.getI(true).parse(bytes)),
    );
  });
});

describe("a route's JSON request", () => {
  const json = (text: string) => new Uint8Array(Buffer.from(text));

  it("is fromJsonString's message", () => {
    const text = '{"hello":"world"}';
    assert.deepStrictEqual(getOne().route.jsonRequest(json(text)), fromJsonString(RequestOneSchema, text));
  });

  it("refuses a message over the size limit as connect-es's parse does, though the lane could read it", () => {
    const { route, connectEs } = getOne({ readMaxBytes: 5 });
    const bytes = json('{"hello":"world"}');
    const expected = thrown(() => connectEs.getI(false).parse(bytes));
    assert.deepStrictEqual(
      thrown(() => route.jsonRequest(bytes)),
      expected,
    );
    assert.match(String((expected as { message: string }).message), /larger than configured readMaxBytes 5/);
  });

  it("fails on text that is not the message, and on bytes the options' decoder refuses, as connect-es's parse does", () => {
    const { route, connectEs } = getOne({ jsonOptions: strictUtf8JsonOptions });
    const cases = ['{"hello":1}', '{"hello":"a","hello":"b"}', '{"hello":"a"', "[]", '{"hello":"\\ud800"}'].map(json);
    // A byte that is not UTF-8 in a key, and in the value the lane would read: a plain TextDecoder would pass both.
    cases.push(Buffer.from('{"\xff":1}', "latin1"), Buffer.from('{"hello":"\xff"}', "latin1"));
    for (const bytes of cases) {
      const expected = thrown(() => connectEs.getI(false).parse(bytes));
      assert.deepStrictEqual(
        thrown(() => route.jsonRequest(bytes)),
        expected,
        Buffer.from(bytes).toString(),
      );
    }
    assert.match(
      String((thrown(() => route.jsonRequest(cases[cases.length - 1])) as { message: string }).message),
      /not valid UTF-8/,
    );
  });

  it("reads what only connect-es's parse reads (an escape, an unknown key, a null), and a BOM the decoder takes off, as it does", () => {
    const { route, connectEs } = getOne({ jsonOptions: strictUtf8JsonOptions });
    for (const text of [
      '{"hello":"w\\u00f6rld"}',
      '{"hello":"x","other":[1,{"a":null}]}',
      "\ufeff{}",
      '{"hello":null}',
    ]) {
      const bytes = json(text);
      assert.deepStrictEqual(route.jsonRequest(bytes), connectEs.getI(false).parse(bytes), text);
    }
  });
});
