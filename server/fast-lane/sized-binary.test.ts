import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, createFileRegistry, type DescMessage, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema, file_google_protobuf_wrappers } from "@bufbuild/protobuf/wkt";
import { ResponseListSchema, ResponseOneSchema } from "../../gen/simpletest/simple_test_pb.js";
import { sizedBinary } from "./sized-binary.js";

// Field types and labels of descriptor.proto.
const T = { int64: 3, int32: 5, bool: 8, string: 9, message: 11, bytes: 12, uint32: 13, enum: 14 } as const;
const repeated = 3;

const registry = createFileRegistry(
  create(FileDescriptorSetSchema, {
    file: [
      file_google_protobuf_wrappers.proto,
      {
        name: "kinds.proto",
        package: "kinds",
        syntax: "proto3",
        dependency: ["google/protobuf/wrappers.proto"],
        enumType: [
          {
            name: "Color",
            value: [
              { name: "NONE", number: 0 },
              { name: "RED", number: 1 },
            ],
          },
          // protoc refuses a proto3 enum whose first value is not 0; a registry takes it, and
          // toBinary then leaves out the first value, not 0.
          {
            name: "Odd",
            value: [
              { name: "ONE", number: 1 },
              { name: "ZERO", number: 0 },
            ],
          },
        ],
        messageType: [
          {
            name: "Every",
            // Declared out of order: toBinary writes by field number.
            field: [
              { name: "last", number: 536870911, type: T.string },
              { name: "s", number: 1, type: T.string },
              { name: "b", number: 2, type: T.bytes },
              { name: "f", number: 3, type: T.bool },
              { name: "i", number: 4, type: T.int32 },
              { name: "u", number: 5, type: T.uint32 },
              { name: "e", number: 6, type: T.enum, typeName: ".kinds.Color" },
              { name: "os", number: 16, type: T.string, proto3Optional: true, oneofIndex: 0 },
              { name: "oi", number: 17, type: T.int32, proto3Optional: true, oneofIndex: 1 },
              { name: "ob", number: 18, type: T.bool, proto3Optional: true, oneofIndex: 2 },
              { name: "oby", number: 19, type: T.bytes, proto3Optional: true, oneofIndex: 3 },
              { name: "inner", number: 20, type: T.message, typeName: ".kinds.Inner" },
            ],
            oneofDecl: [{ name: "_os" }, { name: "_oi" }, { name: "_ob" }, { name: "_oby" }],
          },
          {
            name: "Inner",
            field: [
              { name: "s", number: 1, type: T.string },
              { name: "i", number: 2, type: T.int32 },
              // A message that may hold itself.
              { name: "next", number: 3, type: T.message, typeName: ".kinds.Inner" },
            ],
          },
          { name: "OnlyInner", field: [{ name: "inner", number: 1, type: T.message, typeName: ".kinds.Inner" }] },
          {
            name: "WithWrapper",
            field: [{ name: "w", number: 1, type: T.message, typeName: ".google.protobuf.StringValue" }],
          },
          { name: "WithOdd", field: [{ name: "o", number: 1, type: T.enum, typeName: ".kinds.Odd" }] },
          { name: "WithInt64", field: [{ name: "n", number: 1, type: T.int64 }] },
          { name: "WithList", field: [{ name: "l", number: 1, type: T.string, label: repeated }] },
          { name: "WithMessage", field: [{ name: "m", number: 1, type: T.message, typeName: ".kinds.WithInt64" }] },
          {
            name: "WithOneof",
            field: [{ name: "a", number: 1, type: T.string, oneofIndex: 0 }],
            oneofDecl: [{ name: "choice" }],
          },
        ],
      },
    ],
  }),
);
const schema = (name: string) => registry.getMessage(`kinds.${name}`) as DescMessage;
const Every = schema("Every");
const every = sizedBinary(Every);

/** A seeded generator (mulberry32), so a failure names the case that made it. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const strings = [
  "",
  "a",
  "x".repeat(32),
  "x".repeat(33),
  "x".repeat(200),
  "é€😀",
  `${"€".repeat(50)}`,
  "\ud800",
  "a\udc00b",
  `${"y".repeat(100)}\ud83d`,
  "x".repeat(70_000),
];
const int32s = [0, 1, 127, 128, 300, 2 ** 31 - 1, -1, -(2 ** 31), -300];
const uint32s = [0, 1, 127, 128, 16_384, 2 ** 32 - 1];
const bytes = [new Uint8Array(0), new Uint8Array([0]), new Uint8Array(200).fill(7)];

function randomMessage(next: () => number) {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)] as T;
  const maybe = <T>(value: T) => (next() < 0.5 ? value : undefined);
  // Nested up to four deep, or not at all; an empty one is written too (a set message field is).
  const inner = (depth: number): Record<string, unknown> | undefined =>
    depth > 3 || next() < 0.3
      ? undefined
      : { s: pick(strings), i: pick(int32s), ...(next() < 0.5 ? { next: inner(depth + 1) } : {}) };
  return create(Every, {
    inner: inner(0) as never,
    last: pick(strings),
    s: pick(strings),
    b: pick(bytes),
    f: next() < 0.5,
    i: pick(int32s),
    u: pick(uint32s),
    e: pick([0, 1, 7, -2]),
    os: maybe(pick(strings)),
    oi: maybe(pick(int32s)),
    ob: maybe(next() < 0.5),
    oby: maybe(pick(bytes)),
  });
}

describe("sizedBinary", () => {
  it("gives toBinary's bytes for every kind of field it takes, in the room asked for", () => {
    assert.ok(every);
    const next = random(13);
    for (let n = 0; n < 2_000; n++) {
      const message = randomMessage(next);
      const room = n % 3 === 0 ? 5 : 0;
      const out = every(message, room, Number.POSITIVE_INFINITY);
      assert.ok(out, `case ${n} not taken`);
      assert.equal(out.byteLength - room, toBinary(Every, message).byteLength, `case ${n}`);
      assert.deepEqual(new Uint8Array(out.subarray(room)), toBinary(Every, message), `case ${n}`);
    }
  });

  it("writes explicit-presence fields set to their zero value, and leaves out implicit ones", () => {
    const zeros = create(Every, { os: "", oi: 0, ob: false, oby: new Uint8Array(0) });
    assert.deepEqual(new Uint8Array(every?.(zeros, 0, 1e9) ?? []), toBinary(Every, zeros));
    assert.equal(every?.(create(Every), 0, 1e9)?.byteLength, 0);
  });

  it("leaves out an implicit enum at its first value, as toBinary does, even when that is not 0", () => {
    const WithOdd = schema("WithOdd");
    for (const o of [0, 1, 2]) {
      const message = create(WithOdd, { o });
      assert.deepEqual(
        new Uint8Array(sizedBinary(WithOdd)?.(message, 0, 1e9) ?? []),
        toBinary(WithOdd, message),
        `o=${o}`,
      );
    }
  });

  it("reads each field once, as toBinary does: what it sized is what it writes", () => {
    // A getter that answers differently each time it is asked.
    const shifting = () => {
      const message = create(Every);
      let reads = 0;
      Object.defineProperty(message, "s", { get: () => (reads++ === 0 ? "x".repeat(40) : "y"), enumerable: true });
      Object.defineProperty(message, "i", { get: () => (reads++ < 2 ? 300 : 1), enumerable: true });
      return message;
    };
    assert.deepEqual(new Uint8Array(every?.(shifting(), 0, 1e9) ?? []), toBinary(Every, shifting()));
  });

  it("takes the service's own messages", () => {
    for (const desc of [ResponseOneSchema, ResponseListSchema] as DescMessage[]) {
      const message = create(desc, { [desc.fields[0]?.localName ?? ""]: "Hello !! é😀" });
      assert.deepEqual(new Uint8Array(sizedBinary(desc)?.(message, 0, 1e9) ?? []), toBinary(desc, message));
    }
  });

  it("does not take a message with a field it does not size", () => {
    // WithMessage holds a message with an int64; protobuf-es holds a StringValue field as a string.
    for (const name of ["WithInt64", "WithList", "WithMessage", "WithOneof", "WithWrapper"]) {
      assert.equal(sizedBinary(schema(name)), undefined, name);
    }
  });

  it("leaves to toBinary a value not of its field's type, a foreign message, unknown fields, a throw", () => {
    const cases: Record<string, unknown> = {
      "a number in a string field": { ...create(Every), s: 5 },
      "undefined in a string field": { ...create(Every), s: undefined },
      "a string in a bytes field": { ...create(Every), b: "x" },
      "a number in a bool field": { ...create(Every), f: 1 },
      "a fraction in an int32 field": { ...create(Every), i: 1.5 },
      "an int32 out of range": { ...create(Every), i: 2 ** 31 },
      "a numeric string in an int32 field": { ...create(Every), i: "5" },
      "a negative uint32": { ...create(Every), u: -1 },
      "another message": create(schema("WithInt64")),
      "unknown fields": { ...create(Every), $unknown: [{ no: 9, wireType: 0, data: new Uint8Array([1]) }] },
      "unknown fields that are not a list": { ...create(Every), $unknown: null },
      "a value not of its type, in a message field": { ...create(Every), inner: { ...create(schema("Inner")), s: 5 } },
      "another message in a message field": { ...create(Every), inner: create(schema("WithOdd")) },
      "a field whose getter throws": Object.defineProperty(create(Every), "s", {
        get: () => {
          throw new Error("no");
        },
      }),
    };
    for (const [name, message] of Object.entries(cases)) {
      assert.equal(every?.(message, 0, 1e9), undefined, name);
    }
  });

  it("leaves to toBinary a message of another type, even one that would read as empty", () => {
    // Every field of OnlyInner may be absent: without the type check, another message would write as nothing.
    const onlyInner = sizedBinary(schema("OnlyInner"));
    assert.ok(onlyInner);
    assert.equal(onlyInner(create(schema("WithOdd")), 0, 1e9), undefined);
    assert.equal(onlyInner(create(schema("OnlyInner")), 0, 1e9)?.byteLength, 0);
  });

  it("leaves a message over the size limit to connect-es's serialization, which answers its error", () => {
    const message = create(Every, { s: "x".repeat(100) });
    assert.equal(every?.(message, 5, 101), undefined);
    assert.equal(every?.(message, 5, 102)?.byteLength, 5 + 102);
  });
});
