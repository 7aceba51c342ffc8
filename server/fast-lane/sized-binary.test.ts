import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, type DescMessage, toBinary } from "@bufbuild/protobuf";
import { ResponseListSchema, ResponseOneSchema } from "../../gen/simpletest/simple_test_pb.js";
import { Every, random, randomMessage, schema } from "./message-kinds.fixture.js";
import { sizedBinary } from "./sized-binary.js";

const every = sizedBinary(Every);

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
    for (const name of ["WithInt64", "WithList", "WithMessage", "WithOneof", "WithWrapper", "WithGroup"]) {
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
