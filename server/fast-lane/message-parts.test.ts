import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, type DescMessage, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  AnySchema,
  BytesValueSchema,
  FieldMaskSchema,
  ListValueSchema,
  StringValueSchema,
  StructSchema,
  TimestampSchema,
} from "@bufbuild/protobuf/wkt";
import { RequestListSchema } from "../../gen/simpletest/simple_test_pb.js";
import { keepsViewsOnlyInUnknownFields, partsParser } from "./message-parts.js";

/** `bytes` cut into parts of `size` bytes, as HTTP/2 frames cut a message. */
const cut = (bytes: Uint8Array, size: number) => {
  const parts: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) parts.push(bytes.subarray(at, at + size));
  return parts;
};

/** A RequestList's bytes with an unknown length-delimited field 7 after its namelist. */
const withUnknown = (namelist: string, unknown: string) =>
  Buffer.concat([
    toBinary(RequestListSchema, create(RequestListSchema, { namelist })),
    Buffer.from([(7 << 3) | 2, unknown.length]),
    Buffer.from(unknown),
  ]);

const parserOf = (schema: DescMessage) => partsParser(schema, (data) => fromBinary(schema, data));

describe("partsParser", () => {
  it("tells the schemas whose messages keep views of their bytes outside their unknown fields", () => {
    for (const schema of [RequestListSchema, StringValueSchema, FieldMaskSchema, TimestampSchema]) {
      assert.equal(keepsViewsOnlyInUnknownFields(schema), true, schema.typeName);
    }
    for (const schema of [BytesValueSchema, AnySchema, StructSchema, ListValueSchema]) {
      assert.equal(keepsViewsOnlyInUnknownFields(schema), false, schema.typeName);
    }
  });

  it("parses a message from its parts as connect-es does from its joined bytes, unknown fields included", () => {
    const bytes = withUnknown("x".repeat(70_000), "kept as sent");
    const message = parserOf(RequestListSchema)(cut(bytes, 16_384), bytes.length);
    assert.deepEqual(message, fromBinary(RequestListSchema, new Uint8Array(bytes)));
    assert.deepEqual(toBinary(RequestListSchema, message as never), new Uint8Array(bytes));
  });

  it("a message keeps its unknown fields and bytes fields as sent, whatever is parsed after it", () => {
    const parse = parserOf(RequestListSchema);
    const first = withUnknown("a".repeat(40_000), "first's field");
    const firstMessage = parse(cut(first, 1000), first.length);
    const second = withUnknown("b".repeat(40_000), "other's field");
    parse(cut(second, 1000), second.length);
    assert.deepEqual(toBinary(RequestListSchema, firstMessage as never), new Uint8Array(first));

    const parseBytes = parserOf(BytesValueSchema);
    const value = new Uint8Array(50_000).fill(1);
    const bytesFirst = toBinary(BytesValueSchema, create(BytesValueSchema, { value }));
    const bytesMessage = parseBytes(cut(bytesFirst, 1000), bytesFirst.length);
    const other = toBinary(BytesValueSchema, create(BytesValueSchema, { value: new Uint8Array(50_000).fill(2) }));
    parseBytes(cut(other, 1000), other.length);
    assert.deepEqual((bytesMessage as { value: Uint8Array }).value, value);
    const fromOnePart = parseBytes([Buffer.from(bytesFirst)], bytesFirst.length) as { value: Uint8Array };
    assert.deepEqual(fromOnePart.value, value, "a view of a plain Uint8Array, not of the Buffer it came in");
  });

  it("a message larger than the shared buffer, and one in a single part, parse alike", () => {
    const parse = parserOf(RequestListSchema);
    for (const namelist of ["y".repeat(3 * 1024 * 1024), "small"]) {
      const bytes = toBinary(RequestListSchema, create(RequestListSchema, { namelist }));
      const parts = namelist === "small" ? [bytes] : cut(bytes, 16_384);
      assert.equal((parse(parts, bytes.length) as { namelist: string }).namelist, namelist);
    }
  });

  it("a message that does not parse throws the parse's error, and the next one parses", () => {
    const parse = parserOf(RequestListSchema);
    const truncated = toBinary(RequestListSchema, create(RequestListSchema, { namelist: "z".repeat(5000) })).subarray(
      0,
      4000,
    );
    assert.throws(() => parse(cut(truncated, 1000), truncated.length), /premature EOF|invalid|out of range/i);
    const good = toBinary(RequestListSchema, create(RequestListSchema, { namelist: "ok".repeat(3000) }));
    assert.equal((parse(cut(good, 1000), good.length) as { namelist: string }).namelist, "ok".repeat(3000));
  });
});
