import { create, createFileRegistry, type DescMessage } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema, file_google_protobuf_wrappers } from "@bufbuild/protobuf/wkt";

/*
 * Messages of every kind of field the lane's own binary and JSON readers and
 * writers take or leave (plain-binary.ts, sized-binary.ts, plain-json.ts),
 * for their tests.
 */

// Field types and labels of descriptor.proto.
const T = {
  int64: 3,
  int32: 5,
  fixed32: 7,
  bool: 8,
  string: 9,
  group: 10,
  message: 11,
  bytes: 12,
  uint32: 13,
  enum: 14,
  sfixed32: 15,
  sint32: 17,
} as const;
const optional = 1;
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
          {
            name: "Flat",
            // Every kind of field plain-json.ts takes, declared out of order: toJsonString writes by field number.
            // With their JSON names, as protoc gives them.
            field: [
              { name: "last_text", jsonName: "lastText", number: 20, type: T.string },
              { name: "text", jsonName: "text", number: 1, type: T.string },
              { name: "flag", jsonName: "flag", number: 2, type: T.bool },
              { name: "signed", jsonName: "signed", number: 3, type: T.int32 },
              { name: "zigzag", jsonName: "zigzag", number: 4, type: T.sint32 },
              { name: "fixed_signed", jsonName: "fixedSigned", number: 5, type: T.sfixed32 },
              { name: "unsigned", jsonName: "unsigned", number: 6, type: T.uint32 },
              { name: "fixed_unsigned", jsonName: "fixedUnsigned", number: 7, type: T.fixed32 },
            ],
          },
          {
            // Two fields under one JSON name: protoc refuses it, a registry takes it.
            name: "SameJsonName",
            field: [
              { name: "first", jsonName: "same", number: 1, type: T.string },
              { name: "second", jsonName: "same", number: 2, type: T.string },
            ],
          },
          {
            // A JSON name JSON.stringify writes before the others, whatever the field's number.
            name: "NumberJsonName",
            field: [
              { name: "a", jsonName: "b", number: 1, type: T.string },
              { name: "c", jsonName: "7", number: 2, type: T.string },
            ],
          },
          { name: "WithOdd", field: [{ name: "o", number: 1, type: T.enum, typeName: ".kinds.Odd" }] },
          { name: "WithInt64", field: [{ name: "n", number: 1, type: T.int64 }] },
          { name: "WithList", field: [{ name: "l", number: 1, type: T.string, label: repeated }] },
          { name: "WithMessage", field: [{ name: "m", number: 1, type: T.message, typeName: ".kinds.WithInt64" }] },
          // Descriptors protoc refuses and a registry takes.
          { name: "ZeroField", field: [{ name: "z", number: 0, type: T.string }] },
          {
            name: "TwoOnOne",
            field: [
              { name: "a", number: 1, type: T.string },
              { name: "b", number: 1, type: T.string, label: repeated },
            ],
          },
          {
            name: "WithOneof",
            field: [{ name: "a", number: 1, type: T.string, oneofIndex: 0 }],
            oneofDecl: [{ name: "choice" }],
          },
        ],
      },
      {
        // proto2: its strings are not checked for UTF-8, its enums are closed, its messages have defaults.
        name: "loose.proto",
        package: "kinds",
        syntax: "proto2",
        enumType: [
          {
            name: "Closed",
            value: [
              { name: "A", number: 1 },
              { name: "B", number: 2 },
            ],
          },
        ],
        messageType: [
          {
            name: "Loose",
            field: [
              { name: "s", number: 1, type: T.string, label: optional, defaultValue: "dflt" },
              { name: "i", number: 2, type: T.int32, label: optional, defaultValue: "7" },
              { name: "c", number: 3, type: T.enum, typeName: ".kinds.Closed", label: optional },
              { name: "b", number: 4, type: T.bytes, label: optional },
              { name: "next", number: 5, type: T.message, typeName: ".kinds.Loose", label: optional },
            ],
          },
          {
            name: "WithGroup",
            field: [{ name: "g", number: 1, type: T.group, typeName: ".kinds.Loose", label: optional }],
          },
        ],
      },
    ],
  }),
);
export const schema = (name: string) => registry.getMessage(`kinds.${name}`) as DescMessage;
export const Every = schema("Every");

/** A seeded generator (mulberry32), so a failure names the case that made it. */
export function random(seed: number): () => number {
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
export const int32s = [0, 1, 127, 128, 300, 2 ** 31 - 1, -1, -(2 ** 31), -300];
export const uint32s = [0, 1, 127, 128, 16_384, 2 ** 32 - 1];
const bytes = [new Uint8Array(0), new Uint8Array([0]), new Uint8Array(200).fill(7)];

export function randomMessage(next: () => number) {
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
