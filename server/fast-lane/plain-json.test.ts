import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  create,
  type DescMessage,
  fromJsonString,
  type JsonReadOptions,
  type JsonWriteOptions,
  toJsonString,
} from "@bufbuild/protobuf";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { RequestOneSchema, ResponseOneSchema } from "../../gen/simpletest/simple_test_pb.js";
import { Every, int32s, random, schema, uint32s } from "./message-kinds.fixture.js";
import { plainJsonReader, plainJsonWriter } from "./plain-json.js";

const Flat = schema("Flat");
const read = plainJsonReader(Flat) as NonNullable<ReturnType<typeof plainJsonReader>>;

/** fromJsonString's message for `text`, or the error it throws. */
function parsed(desc: DescMessage, text: string, options?: Partial<JsonReadOptions>): unknown {
  try {
    return fromJsonString(desc, text, options);
  } catch (e) {
    return e;
  }
}

/** Asserts that the reader's answer is fromJsonString's message, key order too, or that it left the text. */
function assertReadAsProtobufEs(text: string, options?: Partial<JsonReadOptions>): unknown {
  const message = (options === undefined ? read : plainJsonReader(Flat, options))?.(text);
  if (message === undefined) return undefined;
  const expected = parsed(Flat, text, options);
  assert.ok(!(expected instanceof Error), `${text}: read, where fromJsonString throws ${expected}`);
  assert.deepStrictEqual(message, expected, text);
  assert.deepStrictEqual(Object.keys(message), Object.keys(expected as object), `${text}: key order`);
  return message;
}

/** Strings toJsonString writes without an escape, and strings it escapes. */
const plainStrings = ["", "a", "é€😀", "\u2028"];
const strings = [...plainStrings, 'quote " and \\ backslash', "\n\t\u0000", "\ud800", "a\udc00b"];

/** A Flat message of values from the edges of each field's range. */
function flatMessage(next: () => number, texts = strings) {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)] as T;
  return create(Flat, {
    lastText: pick(texts),
    text: pick(texts),
    flag: next() < 0.5,
    signed: pick(int32s),
    zigzag: pick(int32s),
    fixedSigned: pick(int32s),
    unsigned: pick(uint32s),
    fixedUnsigned: pick(uint32s),
  });
}

/** JSON's four whitespace characters, any number of them, or none. */
function whitespace(next: () => number): string {
  let out = "";
  while (next() < 0.3) out += " \t\n\r"[Math.floor(next() * 4)];
  return out;
}

/** JSON's tokens, as toJsonString writes a flat message: strings, integers, literals and punctuation. */
const tokens = /"(?:[^"\\]|\\.)*"|-?\d+|true|false|null|[{}:,]/g;

/** The text toJsonString writes, with whitespace around every token, as a client may send it. */
function spaced(text: string, next: () => number): string {
  let out = whitespace(next);
  for (const [token] of text.matchAll(tokens)) out += token + whitespace(next);
  return out;
}

describe("plainJsonReader", () => {
  it("reads what toJsonString writes, under every naming and with any whitespace, as fromJsonString does", () => {
    const next = random(68);
    let readCount = 0;
    for (let n = 0; n < 3_000; n++) {
      const message = flatMessage(next);
      const options: Partial<JsonWriteOptions> = {
        useProtoFieldName: next() < 0.5,
        alwaysEmitImplicit: next() < 0.5,
      };
      const written = toJsonString(Flat, message, options);
      const text = spaced(written, next);
      assert.deepEqual(JSON.parse(text), JSON.parse(written), `${text}: the same JSON`);
      const got = assertReadAsProtobufEs(text);
      if (got !== undefined) readCount++;
      // It leaves to fromJsonString only strings with escapes, which toJsonString writes for quotes,
      // backslashes, control characters and lone surrogates.
      else assert.match(text, /\\/, `${text}: left to fromJsonString`);
    }
    // Half the strings need an escape; a quarter of the messages have none in either string field.
    assert.ok(readCount > 600, `read ${readCount} of 3000 itself`);
  });

  it("reads an integer at each end of its field's range, and leaves one past it to fromJsonString's error", () => {
    const cases: [string, string, boolean][] = [
      ["signed", "2147483647", true],
      ["signed", "-2147483648", true],
      ["signed", "-0", true],
      ["zigzag", "2147483648", false],
      ["fixedSigned", "-2147483649", false],
      ["unsigned", "4294967295", true],
      ["fixedUnsigned", "4294967296", false],
      ["unsigned", "-1", false],
      ["signed", "99999999999999999999999", false],
    ];
    for (const [field, value, inRange] of cases) {
      const text = `{"${field}":${value}}`;
      const message = assertReadAsProtobufEs(text);
      assert.equal(message !== undefined, inRange, text);
      if (!inRange) assert.ok(parsed(Flat, text) instanceof Error, `${text}: fromJsonString takes it`);
    }
    assert.ok(Object.is((read('{"signed":-0}') as { signed: number }).signed, -0), "-0 as JSON.parse gives it");
  });

  it("leaves every other form to fromJsonString", () => {
    for (const text of [
      '{"text":"a\\"b"}',
      '{"text":null}',
      '{"signed":"5"}',
      '{"signed":1.0}',
      '{"signed":1e2}',
      '{"signed":01}',
      '{"signed":-}',
      '{"flag":"true"}',
      '{"flag":tru}',
      '{"text":"a","text":"b"}',
      '{"lastText":"a","last_text":"b"}',
      '{"other":1}',
      '{"text":"a",}',
      '{"text":"a"} x',
      '{"text":"a"}}',
      '\ufeff{"text":"a"}',
      '{"text":"tab\there"}',
      '{"text":"\ud800"}',
      '{"text":"a"',
      '["text"]',
      '"text"',
      "",
      "{,}",
    ]) {
      assert.equal(read(text), undefined, text);
    }
  });

  it("gives fromJsonString's message or leaves the text, for any damage to a message's text", () => {
    const next = random(6_800);
    let readCount = 0;
    let left = 0;
    const pieces = [
      '"',
      "\\",
      "{",
      "}",
      ":",
      ",",
      " ",
      "-",
      "0",
      "9",
      ".",
      "e",
      "true",
      "false",
      "null",
      "é",
      "\ud800",
    ];
    for (let n = 0; n < 20_000; n++) {
      // Of strings without escapes, so that what the damage leaves readable is read.
      let text = toJsonString(Flat, flatMessage(next, plainStrings), { useProtoFieldName: next() < 0.5 });
      for (let cuts = 1 + Math.floor(next() * 3); cuts > 0; cuts--) {
        const at = Math.floor(next() * (text.length + 1));
        const piece = pieces[Math.floor(next() * pieces.length)];
        const drop = next() < 0.5 ? 1 : 0;
        text = text.slice(0, at) + piece + text.slice(at + drop);
      }
      if (assertReadAsProtobufEs(text) === undefined) left++;
      else readCount++;
    }
    // Most damage leaves no JSON, or none the reader takes; a few hundred texts stay readable.
    assert.ok(readCount > 200 && left > 1_000, `read ${readCount}, left ${left}`);
  });

  it("reads under the options fromJsonString reads with, and not at all where it would refuse the message", () => {
    assert.ok(assertReadAsProtobufEs('{"text":"a"}', { ignoreUnknownFields: true, recursionLimit: 1 }));
    assert.equal(plainJsonReader(Flat, { recursionLimit: 0 }), undefined);
    assert.ok(parsed(Flat, "{}", { recursionLimit: 0 }) instanceof Error);
  });

  it("has no reader for a message with a field of another kind, presence or oneof, or a google.protobuf type", () => {
    for (const desc of [Every, schema("Loose"), schema("WithOneof"), schema("WithInt64"), StringValueSchema]) {
      assert.equal(plainJsonReader(desc), undefined, desc.typeName);
    }
    assert.ok(plainJsonReader(RequestOneSchema));
  });
});

describe("plainJsonWriter", () => {
  const options: Partial<JsonWriteOptions>[] = [
    {},
    { useProtoFieldName: true },
    { alwaysEmitImplicit: true },
    { alwaysEmitImplicit: true, useProtoFieldName: true, enumAsInteger: true },
  ];

  it("writes toJsonString's text, under each option it takes", () => {
    const next = random(680);
    for (const option of options) {
      const write = plainJsonWriter(Flat, option);
      assert.ok(write);
      for (let n = 0; n < 1_000; n++) {
        const message = flatMessage(next);
        assert.equal(write(message), toJsonString(Flat, message, option));
      }
      assert.equal(write(create(Flat)), toJsonString(Flat, create(Flat), option));
    }
  });

  it("writes any string as toJsonString does", () => {
    const write = plainJsonWriter(ResponseOneSchema) as NonNullable<ReturnType<typeof plainJsonWriter>>;
    const anyText = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)) });
    fc.assert(
      fc.property(anyText, (result) => {
        const message = create(ResponseOneSchema, { result });
        assert.equal(write(message), toJsonString(ResponseOneSchema, message));
      }),
      { seed: 20_261_207, numRuns: 2_000 },
    );
  });

  it("writes numbers as JSON.stringify does, those no field should hold too", () => {
    const write = plainJsonWriter(Flat) as NonNullable<ReturnType<typeof plainJsonWriter>>;
    for (const signed of [0.5, -0, Number.NaN, Number.POSITIVE_INFINITY, 1e21, 2 ** 40]) {
      const message = { ...create(Flat), signed };
      assert.equal(write(message), toJsonString(Flat, message as never), String(signed));
    }
  });

  it("leaves to toJsonString, which throws, a value of another type and a message of another type", () => {
    const write = plainJsonWriter(Flat) as NonNullable<ReturnType<typeof plainJsonWriter>>;
    for (const message of [
      { ...create(Flat), text: 1 },
      { ...create(Flat), flag: "yes" },
      { ...create(Flat), unsigned: 1n },
      { ...create(Flat), text: undefined },
      create(RequestOneSchema, { hello: "x" }),
    ]) {
      assert.equal(write(message), undefined);
      assert.throws(() => toJsonString(Flat, message as never));
    }
    assert.equal(write(null), undefined);
    assert.equal(write(undefined), undefined);
  });

  it("writes JSON names that toJsonString merges (one name, two fields) or moves (a number) as it does: under proto names, else not at all", () => {
    const cases = [
      ["SameJsonName", { first: "x", second: "y" }, '{"same":"y"}'],
      ["NumberJsonName", { a: "x", c: "y" }, '{"7":"y","b":"x"}'],
    ] as const;
    for (const [name, values, byJsonName] of cases) {
      const desc = schema(name);
      const message = create(desc, values as never);
      const byProtoName = plainJsonWriter(desc, { useProtoFieldName: true });
      assert.equal(byProtoName?.(message), toJsonString(desc, message, { useProtoFieldName: true }), name);
      assert.equal(plainJsonWriter(desc), undefined, name);
      assert.equal(toJsonString(desc, message), byJsonName, name);
    }
    // Read, a name two fields share is the later field's, as in fromJsonString.
    const SameJsonName = schema("SameJsonName");
    const text = '{"same":"x","first":"y"}';
    assert.deepStrictEqual(plainJsonReader(SameJsonName)?.(text), fromJsonString(SameJsonName, text));
  });

  it("has no writer for a message it does not take, nor under a registry or pretty spaces", () => {
    for (const desc of [Every, schema("Loose"), schema("WithOneof"), schema("WithInt64"), StringValueSchema]) {
      assert.equal(plainJsonWriter(desc), undefined, desc.typeName);
    }
    assert.equal(plainJsonWriter(Flat, { prettySpaces: 2 }), undefined);
    assert.ok(plainJsonWriter(Flat, { prettySpaces: 0 }));
  });
});
