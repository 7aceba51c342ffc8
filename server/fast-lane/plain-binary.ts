import { create, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { getTextEncoding } from "@bufbuild/protobuf/wire";
import { isLengthDelimited, type Kind, kindOf } from "./binary-kinds.js";

/*
 * protobuf-es's `fromBinary`, for the request messages the lane reads most:
 * fields read straight from the bytes into the message `create` makes,
 * without the reader, its DataView and the read context that fromBinary
 * makes for each message and the pair it makes for each field's tag: about
 * half of protobuf-es's time on PostAndPost's 7-byte requests, by profile
 * (bench/README.md, step 49; a 10-message call reads ten).
 *
 * It gives a message only where it reads what fromBinary would, with
 * certainty: singular fields (not in a oneof) of type string, bytes, bool,
 * int32, uint32, an open enum, or a message (of any type but a
 * google.protobuf one, which protobuf-es holds in a form of its own, and not
 * a group), read by the same rules; each in the wire type of its type and
 * within its message's bytes, nested no deeper than fromBinary's recursion
 * limit or 100 levels, whichever is less. A bool is one byte, a string valid
 * UTF-8 where its field asks for it. At anything else (an unknown field, a
 * field of another kind, a wire type that is not its field's, a malformed
 * varint, bytes that end early) it answers undefined and the caller parses
 * the bytes again with connect-es, which gives fromBinary's message or its
 * error. plain-binary.test.ts compares it with fromBinary.
 */

/** The message `fromBinary` gives for `bytes`, or undefined where it leaves them to fromBinary. */
export type PlainBinary = (bytes: Uint8Array) => object | undefined;

type Field = {
  readonly localName: string;
  /** Varint (0) or length-delimited (2). */
  readonly wireType: number;
} & (
  | { readonly kind: "message"; readonly message: Fields }
  | {
      readonly kind: Exclude<Kind, "message">;
      /** For a string: whether its field asks for valid UTF-8 (fromBinary then refuses other bytes). */
      readonly strict: boolean;
    }
);

interface Fields {
  readonly desc: DescMessage;
  /** The fields it reads, by number. */
  readonly byNumber: ReadonlyMap<number, Field>;
}

/**
 * The deepest it reads. It takes a frame of the stack a level, fromBinary
 * three: under a recursion limit set far higher, fromBinary runs out of
 * stack where this would read on.
 */
const maxDepth = 100;

/** fromBinary's ASCII fast path: a string this long or shorter, all ASCII, is made from its bytes. */
const asciiMaxLength = 32;

/** The reader for messages of `desc`; `recursionLimit` is fromBinary's read option (100 unless set). */
export function plainBinary(desc: DescMessage, recursionLimit = 100): PlainBinary {
  const root = fieldsOf(desc, new Map());
  const depthLimit = Math.min(recursionLimit, maxDepth);
  return (bytes) => {
    at = 0;
    const message = create(root.desc) as Record<string, unknown>;
    return readInto(root, bytes, bytes.byteLength, message, 1, depthLimit) ? message : undefined;
  };
}

function fieldsOf(desc: DescMessage, seen: Map<DescMessage, Fields>): Fields {
  const known = seen.get(desc);
  if (known !== undefined) return known;
  const byNumber = new Map<number, Field>();
  const compiled: Fields = { desc, byNumber };
  // Set before its fields, so that a message that may hold itself ends.
  seen.set(desc, compiled);
  for (const field of desc.fields) {
    // fromBinary refuses field number 0, and of two fields with one number reads as the last.
    const taken = field.number > 0 ? fieldOf(field, seen) : undefined;
    if (taken !== undefined) byNumber.set(field.number, taken);
    else byNumber.delete(field.number);
  }
  return compiled;
}

function fieldOf(field: DescField, seen: Map<DescMessage, Fields>): Field | undefined {
  const kind = kindOf(field);
  // A closed enum's unknown values go to the unknown fields.
  if (kind === undefined || (field.fieldKind === "enum" && !field.enum.open)) return undefined;
  const localName = field.localName;
  const wireType = isLengthDelimited(kind) ? 2 : 0;
  if (field.fieldKind === "message")
    return { localName, wireType, kind: "message", message: fieldsOf(field.message, seen) };
  return {
    localName,
    wireType,
    // Only a message field is of kind "message".
    kind: kind as Exclude<Kind, "message">,
    strict: field.fieldKind === "scalar" && field.utf8Validation,
  };
}

/**
 * The position of the read under way: a read runs to its end without giving
 * way to any other, and nothing it calls (create, the UTF-8 decoder) reads.
 */
let at = 0;

/**
 * Reads the fields of `bytes` up to `end` into `message`, as fromBinary
 * does, and answers whether all of them were fields it reads, read whole
 * within `end`.
 */
function readInto(
  fields: Fields,
  bytes: Uint8Array,
  end: number,
  message: Record<string, unknown>,
  depth: number,
  depthLimit: number,
): boolean {
  if (depth > depthLimit) return false;
  while (at < end) {
    const start = at;
    const tag = varint(bytes, end);
    // fromBinary refuses a tag longer than a uint32.
    if (tag < 0 || at - start > 5 || (at - start === 5 && bytes[at - 1] > 0x0f)) return false;
    const field = fields.byNumber.get(tag >>> 3);
    if (field === undefined || (tag & 7) !== field.wireType) return false;
    if (field.kind === "bool") {
      // fromBinary reads a longer bool as a 64-bit varint.
      if (at >= end || bytes[at] > 0x7f) return false;
      message[field.localName] = bytes[at++] !== 0;
      continue;
    }
    const value = varint(bytes, end);
    if (value < 0) return false;
    if (field.wireType === 0) {
      message[field.localName] = field.kind === "int32" ? value | 0 : value;
      continue;
    }
    if (value > end - at) return false;
    const stop = at + value;
    switch (field.kind) {
      case "string": {
        const text = utf8(bytes, stop, field.strict);
        if (text === undefined) return false;
        message[field.localName] = text;
        break;
      }
      case "bytes":
        message[field.localName] = bytes.subarray(at, stop);
        break;
      case "message": {
        // A message field that comes again is merged into the one read before it.
        const child = (message[field.localName] ?? create(field.message.desc)) as Record<string, unknown>;
        if (!readInto(field.message, bytes, stop, child, depth + 1, depthLimit)) return false;
        message[field.localName] = child;
      }
    }
    at = stop;
  }
  return true;
}

/**
 * A varint as fromBinary reads a uint32: up to ten bytes, of which the first
 * five give the value; -1 if it runs past `end` or past ten bytes.
 */
function varint(bytes: Uint8Array, end: number): number {
  let result = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (at >= end) return -1;
    const b = bytes[at++];
    result |= (b & 0x7f) << shift;
    if (b < 0x80) return result;
  }
  if (at >= end) return -1;
  let b = bytes[at++];
  result |= (b & 0x0f) << 28;
  for (let read = 5; b >= 0x80; read++) {
    if (read === 10 || at >= end) return -1;
    b = bytes[at++];
  }
  return result >>> 0;
}

/** The string of the bytes from `at` to `stop`, as fromBinary decodes it; undefined where it would throw. */
function utf8(bytes: Uint8Array, stop: number, strict: boolean): string | undefined {
  const length = stop - at;
  if (length <= asciiMaxLength) {
    const codes = new Array<number>(length);
    let i = 0;
    for (; i < length; i++) {
      const byte = bytes[at + i];
      if (byte > 0x7f) break;
      codes[i] = byte;
    }
    if (i === length) return String.fromCharCode.apply(String, codes);
  }
  try {
    return getTextEncoding().decodeUtf8(bytes.subarray(at, stop), strict);
  } catch {
    return undefined;
  }
}
