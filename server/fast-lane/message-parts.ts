import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";

/** Parses a message from its bytes as they came, in order: the parts of one envelope's data. */
export type PartsParser = (parts: readonly Uint8Array[], size: number) => unknown;

/** The largest message joined in the shared buffer; a larger one gets a buffer of its own. */
const sharedBytesMax = 2 * 1024 * 1024;
let shared = new Uint8Array(0);

/**
 * A parser of messages that arrive in parts (a large message comes in many
 * HTTP/2 frames). Joined into a buffer of their own, the parts of each large
 * message are memory outside V8's heap, which V8 counts towards its next full
 * collection: of a stream of 64 KiB messages that was as much as Node's own
 * chunks again, and as many full collections again.
 *
 * So a message whose parsed form keeps no view of its bytes is joined in one
 * buffer shared by all: protobuf-es (and plain-binary.ts, which reads as it
 * does) copies strings and numbers out of the bytes, and keeps views only for
 * `bytes` fields and unknown fields, nested
 * messages' included. A schema with no bytes field and no message field
 * (lists and maps of scalars, enums and strings are fine) keeps views only in
 * its own unknown fields, which are copied out after the parse. Any other
 * schema's message is joined in a buffer of its own. The shared buffer is
 * used and done with inside one synchronous call. Either way the views a
 * message keeps are of a plain Uint8Array, as connect-es's reading gives
 * them, not of a Buffer.
 */
export function partsParser(schema: DescMessage, parse: (data: Uint8Array) => unknown): PartsParser {
  const fromOwnBuffer: PartsParser = (parts, size) => parse(plainJoined(parts, size));
  if (!keepsViewsOnlyInUnknownFields(schema)) return fromOwnBuffer;
  return (parts, size) => {
    if (parts.length === 1 || size > sharedBytesMax) return fromOwnBuffer(parts, size);
    if (shared.length < size) shared = new Uint8Array(Math.min(sharedBytesMax, Math.max(size, 2 * shared.length)));
    const message = parse(join(parts, shared).subarray(0, size)) as { $unknown?: { data: Uint8Array }[] };
    if (message.$unknown !== undefined) for (const field of message.$unknown) field.data = field.data.slice();
    return message;
  };
}

/**
 * `parts` as one plain Uint8Array, as connect-es reads a body: a view of a
 * lone part, or the parts joined in a buffer of their own.
 */
export function plainJoined(parts: readonly Uint8Array[], size: number): Uint8Array {
  return parts.length === 1 ? plain(parts[0]) : join(parts, new Uint8Array(size));
}

function join(parts: readonly Uint8Array[], into: Uint8Array): Uint8Array {
  let at = 0;
  for (const part of parts) {
    into.set(part, at);
    at += part.length;
  }
  return into;
}

/** `bytes` as a plain Uint8Array (a Node chunk is a Buffer): connect-es's reading gives views of one. */
function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Whether a message of `schema` keeps views of the bytes it was parsed from only in its unknown fields. */
export function keepsViewsOnlyInUnknownFields(schema: DescMessage): boolean {
  return schema.fields.every(keepsNoView);
}

function keepsNoView(field: DescField): boolean {
  switch (field.fieldKind) {
    case "scalar":
      return field.scalar !== ScalarType.BYTES;
    case "enum":
      return true;
    case "message":
      return false;
    case "list":
      return field.listKind === "enum" || (field.listKind === "scalar" && field.scalar !== ScalarType.BYTES);
    case "map":
      return field.mapKind === "enum" || (field.mapKind === "scalar" && field.scalar !== ScalarType.BYTES);
  }
}
