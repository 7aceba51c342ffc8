import {
  create,
  type DescField,
  type DescMessage,
  type JsonReadOptions,
  type JsonWriteStringOptions,
  ScalarType,
} from "@bufbuild/protobuf";
import { jsonNumber, jsonString } from "../json-text.js";

/*
 * protobuf-es's JSON (`fromJsonString`, `toJsonString`), for the messages a
 * Connect JSON call carries most: flat ones. protobuf-es builds a JSON value
 * for each message and walks it with its general readers and writers (a
 * read context, a duplicate-key scan of the text, a JSON object to
 * stringify); here the text is read and written directly: a Connect JSON
 * call over HTTP/1.1 ran at 1.07× the calls/s, build against build
 * (bench/README.md, step 68).
 *
 * A message is plain when every field is a singular string, bool or 32-bit
 * integer of implicit presence (proto3's), outside a oneof, and it is not a
 * google.protobuf type (those have JSON forms of their own). For other
 * messages there is no reader or writer, and protobuf-es does it all; nor a
 * writer where toJsonString's object would merge or reorder keys (two
 * fields of one JSON name, a JSON name that is a number).
 *
 * The reader gives a message only where it reads what fromJsonString would,
 * with certainty: one object whose keys are the fields' names or JSON names,
 * each field once, and whose values are strings without escapes, `true` or
 * `false`, or integers (no fraction, exponent or quotes) within their
 * field's range, with JSON's whitespace between. At anything else (an
 * escape, a null, an unknown key, a duplicate, a number in another form,
 * text that is not JSON) it answers undefined and the caller parses the text
 * again with protobuf-es, which gives its message or its error. A string
 * it reads is a slice of the text, which V8 may keep whole while the string
 * lives (JSON.parse's strings are copies): a handler that keeps one field of
 * a request keeps at most the request's text. The writer
 * gives toJsonString's text, or undefined where a value is not of its
 * field's type (toJsonString says why). plain-json.test.ts compares both
 * with protobuf-es.
 */

/** The message `fromJsonString` gives for `text`, or undefined where it leaves the text to fromJsonString. */
export type PlainJsonReader = (text: string) => object | undefined;

/** `toJsonString`'s text of `message`, or undefined where it leaves the message to toJsonString. */
export type PlainJsonWriter = (message: unknown) => string | undefined;

type Kind = "string" | "bool" | "int32" | "uint32";

interface Field {
  readonly localName: string;
  readonly kind: Kind;
  /** The field's bit in the set of fields read so far. */
  readonly bit: number;
}

const kinds: ReadonlyMap<ScalarType, Kind> = new Map([
  [ScalarType.STRING, "string"],
  [ScalarType.BOOL, "bool"],
  [ScalarType.INT32, "int32"],
  [ScalarType.SINT32, "int32"],
  [ScalarType.SFIXED32, "int32"],
  [ScalarType.UINT32, "uint32"],
  [ScalarType.FIXED32, "uint32"],
]);

// google.protobuf.FeatureSet.FieldPresence.IMPLICIT
const implicitPresence = 2;

/** The fields read in one message are kept as bits of a number. */
const maxFields = 31;

/** Each field with its kind, in declaration order, or undefined if the message is not plain. */
function plainFields(desc: DescMessage): { readonly field: DescField; readonly kind: Kind }[] | undefined {
  if (desc.typeName.startsWith("google.protobuf.") || desc.fields.length > maxFields) return undefined;
  const plain: { field: DescField; kind: Kind }[] = [];
  for (const field of desc.fields) {
    const kind = field.fieldKind === "scalar" ? kinds.get(field.scalar) : undefined;
    if (kind === undefined || field.oneof !== undefined || field.presence !== implicitPresence) return undefined;
    // An own "__proto__" key is a case protobuf-es handles apart.
    if ([field.localName, field.name, field.jsonName].includes("__proto__")) return undefined;
    plain.push({ field, kind });
  }
  return plain;
}

/** The reader for messages of `desc`, or undefined if they are not plain. */
export function plainJsonReader(
  desc: DescMessage,
  options: Partial<JsonReadOptions> = {},
): PlainJsonReader | undefined {
  const plain = plainFields(desc);
  // Past the recursion limit (as fromJsonString's read context takes it), it refuses even the outermost message.
  if (plain === undefined || 1 > Object.assign({ recursionLimit: 100 }, options).recursionLimit) return undefined;
  const byKey = new Map<string, Field>();
  plain.forEach(({ field, kind }, i) => {
    const read: Field = { localName: field.localName, kind, bit: 1 << i };
    byKey.set(field.name, read).set(field.jsonName, read);
  });
  return (text) => {
    let at = space(text, 0);
    if (text.charCodeAt(at) !== 0x7b) return undefined;
    const message = create(desc) as Record<string, unknown>;
    let seen = 0;
    at = space(text, at + 1);
    if (text.charCodeAt(at) === 0x7d) at++;
    else {
      for (;;) {
        const keyEnd = stringEnd(text, at);
        const field = keyEnd < 0 ? undefined : byKey.get(text.slice(at + 1, keyEnd));
        if (field === undefined || (seen & field.bit) !== 0) return undefined;
        seen |= field.bit;
        at = space(text, keyEnd + 1);
        if (text.charCodeAt(at) !== 0x3a) return undefined;
        at = readValue(text, space(text, at + 1), field, message);
        if (at < 0) return undefined;
        at = space(text, at);
        const next = text.charCodeAt(at);
        if (next === 0x7d) {
          at++;
          break;
        }
        if (next !== 0x2c) return undefined;
        at = space(text, at + 1);
      }
    }
    return space(text, at) === text.length ? message : undefined;
  };
}

/** Reads the field's value at `at` into the message: where the value ends, or -1 where it leaves the text. */
function readValue(text: string, at: number, field: Field, message: Record<string, unknown>): number {
  switch (field.kind) {
    case "string": {
      const end = stringEnd(text, at);
      if (end < 0) return -1;
      message[field.localName] = text.slice(at + 1, end);
      return end + 1;
    }
    case "bool":
      if (text.startsWith("true", at)) {
        message[field.localName] = true;
        return at + 4;
      }
      if (text.startsWith("false", at)) {
        message[field.localName] = false;
        return at + 5;
      }
      return -1;
    default: {
      const end = integerEnd(text, at);
      if (end < 0) return -1;
      const value = Number(text.slice(at, end));
      const fits = field.kind === "int32" ? value >= -(2 ** 31) && value < 2 ** 31 : value >= 0 && value < 2 ** 32;
      if (!fits) return -1;
      message[field.localName] = value;
      return end;
    }
  }
}

/** Past JSON's whitespace from `at`. */
function space(text: string, at: number): number {
  for (;;) {
    const c = text.charCodeAt(at);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return at;
    at++;
  }
}

/**
 * Where the string that opens at `at` closes (its closing quote), or -1 if
 * none opens there, or it holds an escape, a character JSON requires escaped,
 * or a lone surrogate (which protobuf-es refuses in a string field).
 */
function stringEnd(text: string, at: number): number {
  if (text.charCodeAt(at) !== 0x22) return -1;
  for (let i = at + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i;
    if (c < 0x20 || c === 0x5c) return -1;
    if (c >= 0xd800 && c <= 0xdfff) {
      const low = text.charCodeAt(i + 1);
      if (c > 0xdbff || !(low >= 0xdc00 && low <= 0xdfff)) return -1;
      i++;
    }
  }
  return -1;
}

/**
 * Where a JSON integer (`-?(0|[1-9][0-9]*)`) that starts at `at` ends, or -1.
 * A fraction or exponent after it is not what the message may continue with,
 * so the reader leaves the text there.
 */
function integerEnd(text: string, at: number): number {
  let i = text.charCodeAt(at) === 0x2d ? at + 1 : at;
  const first = text.charCodeAt(i);
  if (first === 0x30) return i + 1;
  if (!isDigit(first)) return -1;
  do i++;
  while (isDigit(text.charCodeAt(i)));
  return i;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** The writer for messages of `desc`, or undefined if they are not plain or the options ask for more. */
export function plainJsonWriter(
  desc: DescMessage,
  options: Partial<JsonWriteStringOptions> = {},
): PlainJsonWriter | undefined {
  const plain = plainFields(desc);
  // A registry brings extensions; spaces, a layout.
  if (plain === undefined || options.registry !== undefined || options.prettySpaces) return undefined;
  const fields = plain
    .map(({ field, kind }) => ({
      localName: field.localName,
      kind,
      number: field.number,
      // `"key":`, as JSON.stringify writes the key.
      key: `${jsonString(options.useProtoFieldName ? field.name : field.jsonName)}:`,
    }))
    .sort((a, b) => a.number - b.number);
  // Two fields under one key make one key of toJsonString's object, and
  // JSON.stringify writes an object's integer-like keys first (keys of digits
  // it would not move go to toJsonString too).
  const keys = fields.map((field) => field.key);
  if (new Set(keys).size < keys.length || keys.some((key) => /^"\d+":$/.test(key))) return undefined;
  const always = Boolean(options.alwaysEmitImplicit);
  const typeName = desc.typeName;
  return (message) => {
    const values = message as Record<string, unknown> | null | undefined;
    if (values?.$typeName !== typeName) return undefined;
    let json = "";
    for (const { localName, kind, key } of fields) {
      const value = values[localName];
      let written: string;
      if (kind === "string") {
        if (typeof value !== "string") return undefined;
        if (value === "" && !always) continue;
        written = jsonString(value);
      } else if (kind === "bool") {
        if (typeof value !== "boolean") return undefined;
        if (!value && !always) continue;
        written = value ? "true" : "false";
      } else {
        if (typeof value !== "number") return undefined;
        if (value === 0 && !always) continue;
        written = jsonNumber(value);
      }
      json += `${json === "" ? "{" : ","}${key}${written}`;
    }
    return json === "" ? "{}" : `${json}}`;
  };
}
