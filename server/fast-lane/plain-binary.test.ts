import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, type DescMessage, fromBinary, toBinary } from "@bufbuild/protobuf";
import { RequestListSchema, RequestOneSchema } from "../../gen/simpletest/simple_test_pb.js";
import { Every, int32s, random, randomMessage, schema, uint32s } from "./message-kinds.fixture.js";
import { plainBinary } from "./plain-binary.js";

const Loose = schema("Loose");
const Inner = schema("Inner");
const every = plainBinary(Every);

/** fromBinary's message for `bytes`, or the error it throws. */
function decoded(desc: DescMessage, bytes: Uint8Array, recursionLimit?: number): unknown {
  try {
    // An option given as undefined would replace fromBinary's default limit.
    return fromBinary(desc, bytes, recursionLimit === undefined ? undefined : { recursionLimit });
  } catch (e) {
    return e;
  }
}

/** The message's own keys, in order, all the way down: what a handler that walks or prints it sees. */
function keysDeep(value: unknown): unknown {
  if (typeof value !== "object" || value === null || value instanceof Uint8Array) return null;
  return Object.entries(value).map(([key, inner]) => [key, keysDeep(inner)]);
}

/** The byte arrays in the message, in order, as what they view: their class, buffer, offset and length. */
function viewsDeep(value: unknown, into: unknown[][] = []): unknown[][] {
  if (value instanceof Uint8Array) into.push([value.constructor, value.buffer, value.byteOffset, value.byteLength]);
  else if (typeof value === "object" && value !== null)
    for (const inner of Object.values(value)) viewsDeep(inner, into);
  return into;
}

/** Asserts that `read` is fromBinary's message for the same bytes: its values, prototypes, key order and views. */
function assertSame(read: unknown, expected: unknown, label: string) {
  assert.ok(!(expected instanceof Error), `${label}: read, where fromBinary throws ${expected}`);
  assert.deepStrictEqual(read, expected, label);
  assert.deepStrictEqual(keysDeep(read), keysDeep(expected), `${label}: key order`);
  const views = viewsDeep(read);
  const expectedViews = viewsDeep(expected);
  assert.equal(views.length, expectedViews.length, `${label}: byte arrays`);
  // Views of the same buffer where fromBinary's are (compared by identity: deepStrictEqual would compare contents).
  for (const [i, view] of views.entries()) {
    assert.ok(
      view.every((part, j) => part === expectedViews[i][j]),
      `${label}: views`,
    );
  }
}

/** A message of short values, so that a damaged byte often lands on a tag or a length. */
function smallMessage(next: () => number) {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)] as T;
  return create(Every, {
    s: pick(["", "a", "é"]),
    b: pick([new Uint8Array(0), new Uint8Array([1, 2])]),
    f: next() < 0.5,
    i: pick(int32s),
    u: pick(uint32s),
    e: pick([0, 1, 7]),
    last: pick(["", "z"]),
    inner: next() < 0.5 ? { s: pick(["", "b"]), i: pick([0, -1, 300]) } : undefined,
  });
}

const hex = (text: string) => new Uint8Array(Buffer.from(text.replaceAll(" ", ""), "hex"));

describe("plainBinary", () => {
  it("reads every kind of field it takes as fromBinary does", () => {
    const next = random(29);
    for (let n = 0; n < 2_000; n++) {
      const written = toBinary(Every, randomMessage(next));
      // As a Node Buffer, and as a view into a larger buffer, too: the bytes fields are views of what it is given.
      const bytes =
        n % 3 === 0
          ? Buffer.from(written)
          : n % 3 === 1
            ? new Uint8Array([9, ...written, 9]).subarray(1, 1 + written.length)
            : written;
      const read = every(bytes);
      assert.ok(read, `case ${n} not read`);
      assertSame(read, decoded(Every, bytes), `case ${n}`);
    }
  });

  it("reads the service's own requests", () => {
    for (const [desc, message] of [
      [RequestOneSchema, create(RequestOneSchema, { hello: "world é😀" })],
      [RequestListSchema, create(RequestListSchema, { namelist: "x".repeat(70_000) })],
    ] as const) {
      const bytes = toBinary(desc as DescMessage, message);
      assertSame(plainBinary(desc)(bytes), decoded(desc, bytes), desc.typeName);
    }
  });

  it("reads as fromBinary what it is lenient about: repeats, merges, long varints, a five-byte tag", () => {
    const cases: Record<string, Uint8Array> = {
      "a string field twice: the last wins": hex("0a 01 61 0a 01 62"),
      "a message field twice: merged": hex("a2 01 03 0a 01 61  a2 01 02 10 05"),
      "a bool of value 2": hex("18 02"),
      "a negative int32 in ten bytes": hex("20 ff ff ff ff ff ff ff ff ff 01"),
      "a uint32 whose fifth byte carries more than four bits": hex("28 ff ff ff ff 7f"),
      "a uint32 with continuation bytes past the fifth": hex("28 81 80 80 80 80 80 00"),
      "an enum value the enum does not declare": hex("30 07"),
      "a field numbered 536870911": hex("fa ff ff ff 0f 01 7a"),
      "a string of 33 ASCII characters": hex(`0a 21 ${"78".repeat(33)}`),
      "a string with a byte-order mark": hex("0a 05 ef bb bf 61 62"),
      "an empty message": new Uint8Array(0),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      const read = every(bytes);
      assert.ok(read, `${name}: not read`);
      assertSame(read, decoded(Every, bytes), name);
    }
  });

  it("leaves to fromBinary every field it does not read, and bytes that are not whole", () => {
    const cases: Record<string, [DescMessage, Uint8Array]> = {
      "an unknown field": [Every, hex("0a 01 61 48 01")],
      "a field in a oneof": [schema("WithOneof"), hex("0a 01 61")],
      "a list": [schema("WithList"), hex("0a 01 61")],
      "an int64": [schema("WithInt64"), hex("08 01")],
      "a wrapper message": [schema("WithWrapper"), hex("0a 03 0a 01 61")],
      "a group": [schema("WithGroup"), hex("0b 0a 01 61 0c")],
      "a group's field sent length-delimited": [schema("WithGroup"), hex("0a 03 0a 01 61")],
      "field number 0, in a descriptor that has one": [schema("ZeroField"), hex("02 01 61")],
      "a number two fields share, the last a list": [schema("TwoOnOne"), hex("0a 01 61")],
      "a closed enum": [Loose, hex("18 01")],
      "a string field sent as a varint": [Every, hex("08 01")],
      "an int32 field sent length-delimited": [Every, hex("22 01 01")],
      "a group where the field is not one": [Every, hex("0b 0c")],
      "a bool of two bytes": [Every, hex("18 80 01")],
      "a varint of eleven bytes": [Every, hex("20 ff ff ff ff ff ff ff ff ff ff 01")],
      "a tag of six bytes": [Every, hex("8a 80 80 80 80 00 01 61")],
      "a tag whose fifth byte carries more than four bits": [Every, hex("8a 80 80 80 10 01 61")],
      "field number 0": [Every, hex("02 01 61")],
      "a string longer than what is left": [Every, hex("0a 05 61")],
      "a varint cut short": [Every, hex("20 ff")],
      // fromBinary reads the string to its end, past the message, and reads on from there.
      "a message field whose field runs past it": [Every, hex("a2 01 02 0a 02 18 01")],
      "invalid UTF-8 in a field that asks for it": [Every, hex("0a 02 c3 28")],
    };
    for (const [name, [desc, bytes]] of Object.entries(cases)) {
      assert.equal(plainBinary(desc)(bytes), undefined, name);
    }
  });

  it("reads a proto2 message: its defaults, its unchecked strings, its messages", () => {
    const loose = plainBinary(Loose);
    const cases: Record<string, Uint8Array> = {
      "nothing set: the defaults": new Uint8Array(0),
      "invalid UTF-8 in a string that is not checked": hex("0a 02 c3 28"),
      "fields and a nested message": hex("0a 01 61 10 05 22 02 00 01 2a 04 0a 02 62 63"),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      const read = loose(bytes);
      assert.ok(read, `${name}: not read`);
      assertSame(read, decoded(Loose, bytes), name);
    }
    assert.equal((loose(new Uint8Array(0)) as { s?: string }).s, "dflt");
  });

  it("reads no deeper than the recursion limit, which fromBinary enforces", () => {
    // Inner in Inner in Inner: three messages under the one read.
    const bytes = toBinary(Inner, create(Inner, { next: { next: { next: { s: "deep" } } } }));
    assertSame(plainBinary(Inner, 4)(bytes), decoded(Inner, bytes, 4), "at the limit");
    assert.equal(plainBinary(Inner, 3)(bytes), undefined, "past it");
    assert.ok(decoded(Inner, bytes, 3) instanceof Error);
  });

  it("reads no deeper than 100 levels, whatever the limit: fromBinary may run out of stack first", () => {
    const nested = (depth: number): Record<string, unknown> =>
      depth === 1 ? { s: "deep" } : { next: nested(depth - 1) };
    const at100 = toBinary(Inner, create(Inner, nested(100)));
    assertSame(plainBinary(Inner, 1e9)(at100), decoded(Inner, at100, 1e9), "100 levels");
    assert.equal(plainBinary(Inner, 1e9)(toBinary(Inner, create(Inner, nested(101)))), undefined, "101 levels");
  });

  it("gives fromBinary's message, or nothing, for damaged bytes of every kind", () => {
    const next = random(31);
    const byte = () => Math.floor(next() * 256);
    const damages: Record<string, (bytes: Uint8Array) => Uint8Array> = {
      "a byte changed": (bytes) => {
        const out = bytes.slice();
        if (out.length > 0) out[Math.floor(next() * out.length)] = byte();
        return out;
      },
      "cut short": (bytes) => bytes.slice(0, Math.floor(next() * bytes.length)),
      "bytes put in": (bytes) => {
        const at = Math.floor(next() * (bytes.length + 1));
        const put = Array.from({ length: 1 + Math.floor(next() * 4) }, byte);
        return new Uint8Array([...bytes.subarray(0, at), ...put, ...bytes.subarray(at)]);
      },
      "a part repeated": (bytes) => {
        const from = Math.floor(next() * (bytes.length + 1));
        const to = from + Math.floor(next() * (bytes.length - from + 1));
        return new Uint8Array([...bytes, ...bytes.subarray(from, to)]);
      },
    };
    for (const [name, damage] of Object.entries(damages)) {
      let read = 0;
      let left = 0;
      for (let n = 0; n < 3_000; n++) {
        const message = smallMessage(next);
        const bytes = damage(toBinary(Every, message));
        const result = every(bytes);
        if (result === undefined) {
          left++;
          continue;
        }
        read++;
        assertSame(result, decoded(Every, bytes), `${name}, case ${n}: ${Buffer.from(bytes).toString("hex")}`);
      }
      // Both ways taken often enough for the comparison to say something.
      assert.ok(read >= 100 && left >= 100, `${name}: read ${read}, left ${left}`);
    }
  });
});
